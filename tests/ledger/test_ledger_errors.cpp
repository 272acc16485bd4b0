// Bad conditions give clear errors and lose nothing already committed: a file that is not SQLite,
// a damaged file, another program's database, a newer schema, a full disk (a size limit), a
// read-only folder (checked as an unprivileged user in a child process).
#include <QtTest>

#include <fstream>
#include <csignal>
#include <sys/resource.h>
#include <unistd.h>

#include "ledger_test_support.h"

using namespace ledger_test;

namespace {

QByteArray read_all(const std::filesystem::path& file) {
  QFile in(QString::fromStdString(file.string()));
  in.open(QIODevice::ReadOnly);
  return in.readAll();
}

// The message of the std::runtime_error `run` throws, or "" when it throws nothing.
template <typename F>
QString error_of(F&& run) {
  try {
    run();
  } catch (const std::runtime_error& error) {
    return QString::fromUtf8(error.what());
  }
  return {};
}

void write_ledger(const std::filesystem::path& file, const tessera::wallet::KeyPair& key, int rows) {
  LedgerWriter writer(file, key);
  std::vector<Record> batch;
  for (int i = 0; i < rows; ++i) batch.push_back(work(kNow - i * 1000, i));
  writer.append(std::move(batch));
}

}  // namespace

class TestLedgerErrors : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void fileThatIsNotSqlite() {
    QTemporaryDir dir;
    const auto file = path_in(dir);
    {
      std::ofstream out(file, std::ios::binary);
      for (int i = 0; i < 200; ++i) out << "these are my notes, not a database\n";
    }
    const auto before = read_all(file);
    const auto key = tessera::wallet::KeyPair::generate();
    const auto writing = error_of([&] { LedgerWriter writer(file, key); });
    QVERIFY2(writing.contains(QStringLiteral("is not a Tessera contribution log")), qPrintable(writing));
    const auto reading = error_of([&] { LedgerReader reader(file); });
    QVERIFY2(reading.contains(QStringLiteral("is not a Tessera contribution log")), qPrintable(reading));
    QCOMPARE(read_all(file), before);
  }

  void otherProgramsDatabase() {
    QTemporaryDir dir;
    const auto file = path_in(dir);
    hand_edit(file, "CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('mine');");
    const auto key = tessera::wallet::KeyPair::generate();
    const auto message = error_of([&] { LedgerWriter writer(file, key); });
    QVERIFY2(message.contains(QStringLiteral("not a Tessera contribution log")), qPrintable(message));
    QCOMPARE(query_int(file, "SELECT COUNT(*) FROM sqlite_schema"), std::int64_t{1});
  }

  void damagedFile() {
    QTemporaryDir dir;
    const auto file = path_in(dir);
    const auto key = tessera::wallet::KeyPair::generate();
    write_ledger(file, key, 3000);
    {
      // Garbage over every page but the first (the header and the schema stay readable).
      std::fstream io(file, std::ios::in | std::ios::out | std::ios::binary);
      io.seekg(0, std::ios::end);
      const auto size = static_cast<std::int64_t>(io.tellg());
      io.seekp(4096);
      for (std::int64_t i = 4096; i < size; ++i) io.put(static_cast<char>((i * 131) & 0xff));
    }
    const auto before = read_all(file);
    const auto reading = error_of([&] {
      LedgerReader reader(file);
      (void)reader.verify();
    });
    QVERIFY2(reading.contains(QStringLiteral("is damaged")) && reading.contains(QStringLiteral("not modified")),
             qPrintable(reading));
    const auto writing = error_of([&] {
      LedgerWriter writer(file, key);
      writer.append(work(kNow, 1));
    });
    QVERIFY2(writing.contains(QStringLiteral("damaged")), qPrintable(writing));
    QCOMPARE(read_all(file), before);
  }

  void newerSchemaIsRefused() {
    QTemporaryDir dir;
    const auto file = path_in(dir);
    const auto key = tessera::wallet::KeyPair::generate();
    write_ledger(file, key, 5);
    hand_edit(file, "PRAGMA user_version = 99");
    for (const auto& message : {error_of([&] { LedgerWriter writer(file, key); }),
                                error_of([&] { LedgerReader reader(file); })}) {
      QVERIFY2(message.contains(QStringLiteral("schema version 99, newer than this build")), qPrintable(message));
      QVERIFY(message.contains(QStringLiteral("update Tessera")));
    }
    QCOMPARE(query_int(file, "PRAGMA user_version"), std::int64_t{99});
    QCOMPARE(query_int(file, "SELECT COUNT(*) FROM work"), std::int64_t{5});
  }

  void missingFileIsNamed() {
    QTemporaryDir dir;
    const auto message = error_of([&] { LedgerReader reader(path_in(dir, "nothing.db")); });
    QVERIFY2(message.contains(QStringLiteral("no contribution log at")), qPrintable(message));
  }

  void fullDiskLosesNothing() {
    QTemporaryDir dir;
    const auto file = path_in(dir);
    const auto key = tessera::wallet::KeyPair::generate();
    std::vector<std::int64_t> acknowledged;
    QString message;
    {
      WriterOptions options;
      options.max_file_bytes = 256 * 1024;  // a real SQLITE_FULL once the file would pass 256 KiB
      LedgerWriter writer(file, key, options);
      for (int batch = 0; batch < 1000 && message.isEmpty(); ++batch) {
        std::vector<Record> rows;
        for (int i = 0; i < 50; ++i) rows.push_back(work(kNow, batch * 50 + i));
        message = error_of([&] {
          const auto seqs = writer.append(std::move(rows));
          acknowledged.insert(acknowledged.end(), seqs.begin(), seqs.end());
        });
      }
      QVERIFY2(message.contains(QStringLiteral("is full")) && message.contains(QStringLiteral("nothing already recorded was lost")),
               qPrintable(message));
      QVERIFY(acknowledged.size() > 100);
      // The writer stays usable: single rows fill what room is left, then fail the same way.
      QString again;
      for (int i = 0; i < 1000 && again.isEmpty(); ++i)
        again = error_of([&] { acknowledged.push_back(writer.append(work(kNow, 100000 + i))); });
      QVERIFY2(again.contains(QStringLiteral("is full")), qPrintable(again));
    }
    {
      LedgerReader reader(file);
      QCOMPARE(reader.integrity_check(), std::string("ok"));
      const auto report = reader.verify(key.public_key());
      QVERIFY2(report.intact, report.to_text().c_str());
      QCOMPARE(reader.row_count(Table::Work), static_cast<std::int64_t>(acknowledged.size()));
      QCOMPARE(reader.donated(kNow).all_time.steps, static_cast<std::int64_t>(acknowledged.size()));
    }
    {
      LedgerWriter writer(file, key);  // space again: the chain continues
      QCOMPARE(writer.append(work(kNow, 1)), acknowledged.back() + 1);
    }
    QVERIFY(LedgerReader(file).verify(key.public_key()).intact);
  }

  void fileSizeLimitInAChild() {
    // The other kind of full disk: the process may not grow any file past 192 KiB
    // (RLIMIT_FSIZE, with SIGXFSZ ignored so writes fail instead of killing it).
    QTemporaryDir dir;
    const auto file = path_in(dir);
    const auto seed_file = path_in(dir, "seed");
    const auto key = tessera::wallet::KeyPair::generate();
    {
      QFile out(QString::fromStdString(seed_file.string()));
      QVERIFY(out.open(QIODevice::WriteOnly));
      out.write(reinterpret_cast<const char*>(key.seed().data()), 32);
    }
    write_ledger(file, key, 200);
    const auto fill = [&](int rows) {
      QProcess helper;
      helper.setChildProcessModifier([] {
        std::signal(SIGXFSZ, SIG_IGN);
        const rlimit limit{192 * 1024, 192 * 1024};
        ::setrlimit(RLIMIT_FSIZE, &limit);
      });
      helper.start(QStringLiteral(LEDGER_HELPER_BIN), {QStringLiteral("fill"), QString::fromStdString(file.string()),
                                                       QString::fromStdString(seed_file.string()),
                                                       QString::number(rows)});
      helper.waitForFinished(60000);
      return std::make_pair(helper.exitStatus() == QProcess::NormalExit ? helper.exitCode() : -1,
                            QString::fromUtf8(helper.readAllStandardError()));
    };
    const auto [code, error] = fill(5000);
    QCOMPARE(code, 1);
    QVERIFY2(error.contains(QStringLiteral("is full")) || error.contains(QStringLiteral("input/output error")),
             qPrintable(error));
    QVERIFY2(error.contains(QString::fromStdString(file.string())), qPrintable(error));
    LedgerReader reader(file);
    QCOMPARE(reader.integrity_check(), std::string("ok"));
    QVERIFY(reader.verify(key.public_key()).intact);
    QCOMPARE(reader.row_count(Table::Work), std::int64_t{200});
  }

  void readOnlyFolder() {
    QTemporaryDir dir;
    QVERIFY(QFile::setPermissions(dir.path(), QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner |
                                                  QFileDevice::ReadGroup | QFileDevice::ExeGroup |
                                                  QFileDevice::ReadOther | QFileDevice::ExeOther));
    const auto root = std::filesystem::path(dir.path().toStdString());
    const auto folder = root / "ro";
    std::filesystem::create_directory(folder);
    const auto file = folder / "contributions.db";
    const auto seed_file = root / "seed";
    const auto key = tessera::wallet::KeyPair::generate();
    {
      std::ofstream out(seed_file, std::ios::binary);
      out.write(reinterpret_cast<const char*>(key.seed().data()), 32);
    }
    std::filesystem::permissions(seed_file, std::filesystem::perms::owner_read | std::filesystem::perms::group_read |
                                                std::filesystem::perms::others_read);
    write_ledger(file, key, 20);
    const auto before = read_all(file);
    std::filesystem::permissions(folder, std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec |
                                             std::filesystem::perms::group_read | std::filesystem::perms::group_exec |
                                             std::filesystem::perms::others_read | std::filesystem::perms::others_exec);
    // The file itself writable, the folder not: the write-ahead log cannot be created.
    std::filesystem::permissions(file, std::filesystem::perms::all & ~(std::filesystem::perms::owner_exec |
                                                                      std::filesystem::perms::group_exec |
                                                                      std::filesystem::perms::others_exec));
    // The unprivileged user may not reach the build folder (a clone under /root): it runs a copy
    // of the helper (linked only to system libraries) from the temporary folder, which it can reach.
    const auto helper_copy = root / "ledger_helper";
    std::filesystem::copy_file(LEDGER_HELPER_BIN, helper_copy);
    std::filesystem::permissions(helper_copy, std::filesystem::perms::owner_all | std::filesystem::perms::group_read |
                                                  std::filesystem::perms::group_exec | std::filesystem::perms::others_read |
                                                  std::filesystem::perms::others_exec);
    auto run_helper = [&](const std::filesystem::path& target) {
      QProcess helper;
      // Root ignores permissions: the child drops to an unprivileged user first.
      helper.setChildProcessModifier([] {
        if (::geteuid() == 0) {
          if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(3);
        }
      });
      helper.start(QString::fromStdString(helper_copy.string()),
                   {QStringLiteral("open"), QString::fromStdString(target.string()),
                    QString::fromStdString(seed_file.string())});
      helper.waitForFinished(60000);
      return std::make_pair(helper.exitCode(), QString::fromUtf8(helper.readAllStandardError()));
    };
    const auto [existing_code, existing_error] = run_helper(file);
    QCOMPARE(existing_code, 1);
    QVERIFY2(existing_error.contains(QStringLiteral("read-only")) ||
                 existing_error.contains(QStringLiteral("you may write to it")),
             qPrintable(existing_error));
    QVERIFY2(existing_error.contains(QString::fromStdString(file.string())), qPrintable(existing_error));
    const auto [new_code, new_error] = run_helper(folder / "new.db");
    QCOMPARE(new_code, 1);
    QVERIFY2(new_error.contains(QStringLiteral("you may write to it")) || new_error.contains(QStringLiteral("read-only")),
             qPrintable(new_error));
    QVERIFY(!std::filesystem::exists(folder / "new.db"));
    std::filesystem::permissions(folder, std::filesystem::perms::owner_all, std::filesystem::perm_options::add);
    QCOMPARE(read_all(file), before);
    LedgerReader reader(file);
    QVERIFY(reader.verify(key.public_key()).intact);
    QCOMPARE(reader.row_count(Table::Work), std::int64_t{20});
  }
};

QTEST_APPLESS_MAIN(TestLedgerErrors)
#include "test_ledger_errors.moc"
