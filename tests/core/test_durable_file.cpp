// Durable file replacement (core/sys/durable_file): both kinds of temporary file, the path-writer
// form, keep-or-replace, and that a failed write leaves the old file and no temporary file.
#include <QtTest>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>

#include <sys/stat.h>

#include "core/sys/durable_file.h"

namespace fs = std::filesystem;
using namespace tessera::sys;

namespace {

std::span<const std::uint8_t> bytes_of(const std::string& text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

std::string read(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

unsigned mode_of(const fs::path& file) {
  struct stat info {};
  return ::stat(file.c_str(), &info) == 0 ? static_cast<unsigned>(info.st_mode & 0777) : 0u;
}

std::size_t entries(const fs::path& folder) {
  return static_cast<std::size_t>(std::distance(fs::directory_iterator(folder), fs::directory_iterator()));
}

}  // namespace

class TestDurableFile : public QObject {
  Q_OBJECT

 private:
  QTemporaryDir temp_;
  fs::path folder() const { return fs::path(temp_.path().toStdString()); }

 private Q_SLOTS:
  void init() {
    for (const auto& entry : fs::directory_iterator(folder())) fs::remove_all(entry.path());
  }

  void ownerOnlyByDefault() {
    const auto file = folder() / "key.json";
    write_file_durably(file, bytes_of("secret"));
    QCOMPARE(QString::fromStdString(read(file)), QStringLiteral("secret"));
    QCOMPARE(mode_of(file), 0600u);
    QCOMPARE(entries(folder()), std::size_t(1));
  }

  void sharedFixedFollowsTheUmaskAndOverwritesALeftover() {
    const auto file = folder() / "stage-0-of-1.pt";
    const auto mask = ::umask(022);
    std::ofstream(file.string() + ".tmp") << "a crashed write's leftover";
    DurableWriteOptions options;
    options.temp = TempFile::SharedFixed;
    fs::path seen;
    options.before_rename = [&](const fs::path& temp) { seen = temp; };
    write_file_durably(file, bytes_of("weights"), options);
    ::umask(mask);
    QCOMPARE(QString::fromStdString(seen.string()), QString::fromStdString(file.string() + ".tmp"));
    QCOMPARE(QString::fromStdString(read(file)), QStringLiteral("weights"));
    QCOMPARE(mode_of(file), 0644u);
    QCOMPARE(entries(folder()), std::size_t(1));  // the leftover was the temporary file, now renamed
  }

  void pathWriterFillsTheTemporaryFile() {
    const auto file = folder() / "archive.pt";
    DurableWriteOptions options;
    options.temp = TempFile::SharedFixed;
    write_file_durably(
        file, [](const fs::path& temp) { std::ofstream(temp, std::ios::binary | std::ios::trunc) << "archive"; },
        options);
    QCOMPARE(QString::fromStdString(read(file)), QStringLiteral("archive"));
    QCOMPARE(entries(folder()), std::size_t(1));
  }

  void aFailingWriterLeavesTheOldFileAndNoTemporaryFile() {
    const auto file = folder() / "state.json";
    write_file_durably(file, bytes_of("old"));
    for (const auto temp : {TempFile::OwnerOnlyUnique, TempFile::SharedFixed}) {
      DurableWriteOptions options;
      options.temp = temp;
      QVERIFY_THROWS_EXCEPTION(std::logic_error, write_file_durably(
                                                     file,
                                                     [](const fs::path& path) {
                                                       std::ofstream(path) << "half";
                                                       throw std::logic_error("writer failed");
                                                     },
                                                     options));
      QCOMPARE(QString::fromStdString(read(file)), QStringLiteral("old"));
      QCOMPARE(entries(folder()), std::size_t(1));
    }
  }

  void keepRefusesAnExistingFile() {
    const auto file = folder() / "node.key";
    DurableWriteOptions keep;
    keep.if_exists = IfExists::Keep;
    write_file_durably(file, bytes_of("first"), keep);
    QVERIFY_THROWS_EXCEPTION(FileAlreadyExists, write_file_durably(file, bytes_of("second"), keep));
    QCOMPARE(QString::fromStdString(read(file)), QStringLiteral("first"));
    QCOMPARE(entries(folder()), std::size_t(1));
  }

  void aMissingFolderIsAnErrorNamingIt() {
    const auto file = folder() / "absent" / "file";
    try {
      write_file_durably(file, bytes_of("x"));
      QFAIL("wrote into a missing folder");
    } catch (const FileWriteError& error) {
      QVERIFY2(QString(error.what()).contains(QString::fromStdString((folder() / "absent").string())), error.what());
    }
  }
};

QTEST_APPLESS_MAIN(TestDurableFile)
#include "test_durable_file.moc"
