// `tessera-node log …` as a user runs it: summary (text and JSON), verify (with and without the
// expected key), export, and the acceptance check: one value changed by hand with the sqlite3
// shell makes `log verify` fail, naming the row.
#include <QtTest>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include "core/wallet/keypair_file.h"
#include "tests/support/run_process.h"
#include "ledger_test_support.h"

using namespace ledger_test;

namespace {

using Result = tessera::test::ProcessResult;

Result run(const QString& program, const QStringList& arguments) { return tessera::test::run_process(program, arguments); }

Result node(const QStringList& arguments) { return run(QStringLiteral(TESSERA_NODE_BIN), arguments); }

}  // namespace

class TestLedgerCli : public QObject {
  Q_OBJECT

  QTemporaryDir dir_;
  QString file_;
  std::optional<tessera::wallet::KeyPair> key_;

 private Q_SLOTS:
  void init() {
    // The default log of a data folder, written by the real writer.
    file_ = dir_.filePath(QStringLiteral("contributions.db"));
    QFile::remove(file_);
    key_.emplace(tessera::wallet::KeyPair::generate());
    LedgerWriter writer(file_.toStdString(), *key_);
    const auto now = now_ms();
    std::vector<Record> batch;
    for (int i = 0; i < 30; ++i) batch.push_back(work(now - i * 60'000, i));
    writer.append(std::move(batch));
    writer.append(std::vector<Record>{revenue("run-a", 1, 40), statement("run-a", 1, 25, 100, 35, true)});
    writer.append(EventRecord{now, "error", "run-a", "peer timed out, retrying", ""});
  }

  void summaryJsonAndText() {
    const auto json = node({QStringLiteral("--data-dir"), dir_.path(), QStringLiteral("log"), QStringLiteral("summary"),
                            QStringLiteral("--json")});
    QVERIFY2(json.exit_code == 0, qPrintable(json.err));
    const auto object = QJsonDocument::fromJson(json.out.toUtf8()).object();
    const auto donated = object.value(QStringLiteral("donated")).toObject();
    for (const char* window : {"24h", "7d", "30d", "all"})
      QCOMPARE(donated.value(QLatin1String(window)).toObject().value(QStringLiteral("steps")).toInt(), 30);
    QCOMPARE(donated.value(QStringLiteral("all")).toObject().value(QStringLiteral("tokens")).toInt(), 30 * 512);
    const auto ownership = object.value(QStringLiteral("ownership")).toArray();
    QCOMPARE(ownership.size(), 1);
    QCOMPARE(ownership[0].toObject().value(QStringLiteral("share")).toDouble(), 0.25);
    const auto revenue_rows = object.value(QStringLiteral("revenue")).toArray();
    QCOMPARE(revenue_rows.size(), 1);
    QCOMPARE(revenue_rows[0].toObject().value(QStringLiteral("accrued")).toInt(), 40);
    QCOMPARE(revenue_rows[0].toObject().value(QStringLiteral("verified")).toInt(), 35);

    const auto text = node({QStringLiteral("log"), QStringLiteral("summary"), QStringLiteral("--db"), file_});
    QCOMPARE(text.exit_code, 0);
    QVERIFY(text.out.contains(QStringLiteral("Compute donated")));
    QVERIFY(text.out.contains(QStringLiteral("share 25 %")));
    QVERIFY(text.out.contains(QStringLiteral("accrued 0.000040 USDC")));
  }

  void summaryShowsDataUnitsApart() {
    QTemporaryDir other;
    const auto file = other.filePath(QStringLiteral("contributions.db"));
    {
      LedgerWriter writer(file.toStdString(), *key_);
      auto with_data = statement("run-d", 2, 5000e6, 20000e6, 0, true);  // 5,000 units, 4,000 of them for data
      const std::string leaf = R"({"owner": "o", "units": 5000, "data_units": 4000})";
      with_data.proof.assign(leaf.begin(), leaf.end());
      writer.append(with_data);
    }
    const auto json = node({QStringLiteral("log"), QStringLiteral("summary"), QStringLiteral("--db"), file,
                            QStringLiteral("--json")});
    QVERIFY2(json.exit_code == 0, qPrintable(json.err));
    const auto point = QJsonDocument::fromJson(json.out.toUtf8()).object().value(QStringLiteral("ownership")).toArray()[0].toObject();
    QCOMPARE(point.value(QStringLiteral("data_units")).toInt(), 4000);
    QCOMPARE(point.value(QStringLiteral("compute_flops")).toDouble(), 1000e6);
    const auto text = node({QStringLiteral("log"), QStringLiteral("summary"), QStringLiteral("--db"), file});
    QCOMPARE(text.exit_code, 0);
    QVERIFY2(text.out.contains(QStringLiteral("data 4000 units")), qPrintable(text.out));
  }

  void verifyIntact() {
    const auto plain = node({QStringLiteral("log"), QStringLiteral("verify"), QStringLiteral("--db"), file_});
    QVERIFY2(plain.exit_code == 0, qPrintable(plain.err));
    QVERIFY(plain.out.contains(QStringLiteral("intact: 33 rows")));
    QVERIFY(plain.out.contains(QStringLiteral("key recorded in the file")));
    const auto hex = QString::fromStdString(to_hex(key_->public_key()));
    const auto keyed = node({QStringLiteral("log"), QStringLiteral("verify"), QStringLiteral("--db"), file_,
                             QStringLiteral("--public-key"), hex});
    QCOMPARE(keyed.exit_code, 0);
    QVERIFY(keyed.out.contains(QStringLiteral("expected node key ") + hex));
    const auto other = QString::fromStdString(to_hex(tessera::wallet::KeyPair::generate().public_key()));
    const auto wrong = node({QStringLiteral("log"), QStringLiteral("verify"), QStringLiteral("--db"), file_,
                             QStringLiteral("--public-key"), other});
    QCOMPARE(wrong.exit_code, 2);
    QVERIFY(wrong.err.contains(QStringLiteral("bad signature")));
  }

  void ownLogIsCheckedAgainstTheNodeKey() {
    // In its data folder, the node's log must be signed with the node's own key (node_key.json).
    const auto key_file = dir_.filePath(QStringLiteral("node_key.json")).toStdString();
    std::filesystem::remove(key_file);
    tessera::wallet::write_solana_keypair_file(key_file, *key_);
    const auto own = node({QStringLiteral("--data-dir"), dir_.path(), QStringLiteral("log"), QStringLiteral("verify")});
    QVERIFY2(own.exit_code == 0, qPrintable(own.err));
    QVERIFY(own.out.contains(QStringLiteral("expected node key")));
    std::filesystem::remove(key_file);
    tessera::wallet::write_solana_keypair_file(key_file, tessera::wallet::KeyPair::generate());
    const auto resigned = node({QStringLiteral("--data-dir"), dir_.path(), QStringLiteral("log"), QStringLiteral("verify")});
    QCOMPARE(resigned.exit_code, 2);
    QVERIFY(resigned.err.contains(QStringLiteral("bad signature")));
    std::filesystem::remove(key_file);
  }

  void handEditWithSqliteShellFailsVerify() {
    const QString shell_program = QStandardPaths::findExecutable(QStringLiteral("sqlite3"));
    const char* edit = "UPDATE work SET tokens = 4096 WHERE seq = 17;";
    if (shell_program.isEmpty()) {
      qWarning("the sqlite3 shell is not installed (scripts/packages.txt lists it): making the same edit via the C API");
      hand_edit(file_.toStdString(), edit);
    } else {
      const auto shell = run(shell_program, {file_, QString::fromLatin1(edit)});
      QVERIFY2(shell.exit_code == 0, qPrintable(shell.err));
    }
    const auto result = node({QStringLiteral("log"), QStringLiteral("verify"), QStringLiteral("--db"), file_});
    QCOMPARE(result.exit_code, 2);
    QVERIFY2(result.err.contains(QStringLiteral("NOT INTACT: first bad row: seq 17 (table work): edited")),
             qPrintable(result.err));
    const auto json = node({QStringLiteral("log"), QStringLiteral("verify"), QStringLiteral("--db"), file_,
                            QStringLiteral("--json")});
    QCOMPARE(json.exit_code, 2);
    const auto bad = QJsonDocument::fromJson(json.out.toUtf8()).object().value(QStringLiteral("first_bad_row")).toObject();
    QCOMPARE(bad.value(QStringLiteral("seq")).toInt(), 17);
    QCOMPARE(bad.value(QStringLiteral("table")).toString(), QStringLiteral("work"));
  }

  void exportCsv() {
    const auto csv = dir_.filePath(QStringLiteral("work.csv"));
    const auto result = node({QStringLiteral("log"), QStringLiteral("export"), QStringLiteral("--db"), file_,
                              QStringLiteral("--csv"), csv});
    QVERIFY2(result.exit_code == 0, qPrintable(result.err));
    QFile in(csv);
    QVERIFY(in.open(QIODevice::ReadOnly));
    const auto lines = QString::fromUtf8(in.readAll()).split(QStringLiteral("\r\n"), Qt::SkipEmptyParts);
    QCOMPARE(lines.size(), 31);
    QVERIFY(lines[0].startsWith(QStringLiteral("seq,hash,at_ms")));
    const auto events = node({QStringLiteral("log"), QStringLiteral("export"), QStringLiteral("--db"), file_,
                              QStringLiteral("--csv"), QStringLiteral("-"), QStringLiteral("--table"),
                              QStringLiteral("events")});
    QCOMPARE(events.exit_code, 0);
    QVERIFY(events.out.contains(QStringLiteral("\"peer timed out, retrying\"")));
    const auto bad_table = node({QStringLiteral("log"), QStringLiteral("export"), QStringLiteral("--db"), file_,
                                 QStringLiteral("--csv"), csv, QStringLiteral("--table"), QStringLiteral("wrk")});
    QCOMPARE(bad_table.exit_code, 1);
    QVERIFY(bad_table.err.contains(QStringLiteral("unknown ledger table 'wrk'")));
  }

  void missingLogIsAClearError() {
    QTemporaryDir empty;
    const auto result = node({QStringLiteral("--data-dir"), empty.path(), QStringLiteral("log"), QStringLiteral("summary")});
    QCOMPARE(result.exit_code, 1);
    QVERIFY2(result.err.contains(QStringLiteral("no contribution log at")), qPrintable(result.err));
  }
};

QTEST_APPLESS_MAIN(TestLedgerCli)
#include "test_ledger_cli.moc"
