// runs.json: links parsed and kept across restarts, one link per run id, bounded, a damaged file
// set aside rather than fatal.
#include <QtTest>

#include <fstream>

#include "core/node/run_list.h"
#include "core/wallet/encoding.h"
#include "core/wallet/signing.h"

using namespace tessera;

namespace {

std::string link(const std::string& run, int port = 8800) {
  static const auto key = wallet::KeyPair::generate();
  return "tessera://127.0.0.1:" + std::to_string(port) + "/" + run + "#" + wallet::base58_encode(key.public_key());
}

bool refused(auto&& call, const char* words) {
  try {
    call();
  } catch (const std::invalid_argument& error) {
    return std::string(error.what()).find(words) != std::string::npos;
  }
  return false;
}

}  // namespace

class TestRunList : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void addsKeepsAndRemoves() {
    QTemporaryDir dir;
    const std::filesystem::path folder = dir.path().toStdString();
    {
      node::RunList list(folder);
      QVERIFY(list.runs().empty());
      QCOMPARE(QString::fromStdString(list.add(link("alpha")).run), QStringLiteral("alpha"));
      list.add(link("beta"));
      QCOMPARE(list.add(link("alpha")).run, std::string("alpha"));  // the same link again: no change
      QCOMPARE(list.runs().size(), std::size_t(2));
    }
    node::RunList again(folder);  // read back from runs.json
    QCOMPARE(again.runs().size(), std::size_t(2));
    QCOMPARE(again.find("beta")->link, link("beta"));
    QVERIFY(again.runs()[0].added_ms > 0);
    QVERIFY(refused([&] { again.add(link("alpha", 9900)); }, "already in the list"));
    QVERIFY(refused([&] { again.add("https://127.0.0.1:8800/"); }, "not a run link"));
    QVERIFY(refused([&] { again.add("tessera://127.0.0.1:8800/x#notakey"); }, "key"));
    again.remove("alpha");
    QVERIFY(refused([&] { again.remove("alpha"); }, "no run"));
    QCOMPARE(node::RunList(folder).runs().size(), std::size_t(1));
  }

  void isBounded() {
    QTemporaryDir dir;
    node::RunList list(dir.path().toStdString());
    for (std::size_t i = 0; i < node::RunList::kMaxRuns; ++i) list.add(link("run-" + std::to_string(i)));
    QVERIFY(refused([&] { list.add(link("one-more")); }, "at most"));
  }

  void aDamagedFileIsSetAside() {
    QTemporaryDir dir;
    const std::filesystem::path folder = dir.path().toStdString();
    std::ofstream(folder / node::RunList::kFileName) << "{not json";
    node::RunList list(folder);
    QVERIFY(list.runs().empty());
    QVERIFY(std::filesystem::exists(folder / "runs.json.damaged"));
    list.add(link("alpha"));
    QCOMPARE(node::RunList(folder).runs().size(), std::size_t(1));
  }
};

QTEST_APPLESS_MAIN(TestRunList)
#include "test_run_list.moc"
