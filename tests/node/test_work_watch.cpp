// What the node shows of the hub's count of its work and of an exclusion: WorkWatch against a small
// hub on 127.0.0.1 serving GET /api/work (one info line per epoch whose figures changed, none when
// nothing changed, the latest epochs for the status and a "verification" event on change, a hub
// that fails warned about once); StatusBoard's "excluded" (the hub's reason, an error event, and no
// later state replaces it).
#include <QtTest>

#include <thread>

#include <httplib.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include "core/node/swarm/status_board.h"
#include "core/node/swarm/work_watch.h"
#include "core/wallet/encoding.h"
#include "tests/support/local_http_server.h"

using namespace tessera;
using test::LocalServer;
namespace swarm = tessera::node::swarm;
using namespace std::chrono_literals;

namespace {

// The log lines written while it lives.
struct CapturedLog {
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(100);
  std::shared_ptr<spdlog::logger> previous = spdlog::default_logger();
  CapturedLog() {
    sink->set_pattern("%l %v");
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("captured", sink));
    spdlog::set_level(spdlog::level::info);
  }
  ~CapturedLog() { spdlog::set_default_logger(previous); }
  std::vector<std::string> take() {
    auto lines = sink->last_formatted();
    for (auto& line : lines)
      while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(100);
    sink->set_pattern("%l %v");
    spdlog::default_logger()->sinks() = {sink};
    return lines;
  }
};

nlohmann::json epoch(std::uint64_t number, double receipts, double rejected_tokens, double passed) {
  return {{"epoch", number},
          {"owner", "owner"},
          {"counters",
           {{"credited_receipts", receipts}, {"credited_flops", receipts * 3e6}, {"rejected:tokens", rejected_tokens},
            {"checks_passed", passed}, {"checks_failed", 0.0}, {"verification_flops", 2e7}}}};
}

std::vector<control::Event> drain(control::EventBus::Subscription& events) {
  std::vector<control::Event> out;
  while (auto event = events.next(50ms)) out.push_back(*event);
  return out;
}

}  // namespace

class TestWorkWatch : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void logsAndPublishesWhatChanged() {
    const auto node = wallet::KeyPair::generate().public_key();
    LocalServer hub;
    std::mutex mutex;
    nlohmann::json epochs = nlohmann::json::array({epoch(4, 10, 0, 1), epoch(3, 412, 2, 3)});
    int asked = 0;
    hub.server.Get("/api/work", [&](const httplib::Request&, httplib::Response& response) {
      std::lock_guard lock(mutex);
      ++asked;
      response.set_content(nlohmann::json{{"node", wallet::to_hex(node)}, {"epochs", epochs}}.dump(), "application/json");
    });
    hub.start();
    client::HubClient client(hub.url());
    control::EventBus bus;
    const auto events = bus.subscribe();
    CapturedLog log;
    swarm::WorkWatch watch(&bus, 0ms);

    QVERIFY(watch.poll(client, node));
    auto lines = log.take();
    QCOMPARE(lines.size(), std::size_t{2});  // oldest epoch first
    QCOMPARE(QString::fromStdString(lines[0]),
             QStringLiteral("info epoch 3 so far (hub's count): credited 412 receipts, 1,236 MFLOP; rejected 2 "
                            "(tokens: 2); spot checks 3 passed, 0 failed; verification 20 MFLOP"));
    QVERIFY(lines[1].rfind("info epoch 4 so far", 0) == 0);
    QCOMPARE(watch.latest().size(), std::size_t{2});
    QCOMPARE(watch.latest().front().epoch, 4u);
    auto published = drain(*events);
    QCOMPARE(published.size(), std::size_t{1});
    QCOMPARE(published[0].type, std::string("verification"));
    QCOMPARE(published[0].data.at("epochs").size(), std::size_t{2});

    QVERIFY(watch.poll(client, node));  // the same figures: nothing logged, nothing published
    QVERIFY(log.take().empty());
    QVERIFY(drain(*events).empty());

    {
      std::lock_guard lock(mutex);
      epochs[0] = epoch(4, 11, 0, 1);
    }
    QVERIFY(watch.poll(client, node));
    lines = log.take();
    QCOMPARE(lines.size(), std::size_t{1});
    QVERIFY(lines[0].find("epoch 4 so far (hub's count): credited 11 receipts") != std::string::npos);
    QCOMPARE(drain(*events).size(), std::size_t{1});
    QCOMPARE(watch.latest().front().credited_receipts, 11u);

    swarm::WorkWatch slow(&bus, 1h);  // not due again for an hour
    QVERIFY(slow.poll(client, node));
    QVERIFY(!slow.poll(client, node));
    std::lock_guard lock(mutex);
    QCOMPARE(asked, 4);
  }

  void aFailingHubIsWarnedAboutOnce() {
    const auto node = wallet::KeyPair::generate().public_key();
    LocalServer hub;
    hub.server.Get("/api/work", [](const httplib::Request&, httplib::Response& response) {
      response.set_content(R"({"node": "x", "epochs": "many"})", "application/json");
    });
    hub.start();
    client::HubClient client(hub.url());
    CapturedLog log;
    swarm::WorkWatch watch(nullptr, 0ms);
    for (int i = 0; i < 3; ++i) QVERIFY(watch.poll(client, node));
    const auto lines = log.take();
    QCOMPARE(lines.size(), std::size_t{1});
    QVERIFY(lines[0].rfind("warning the hub's count of this node's work:", 0) == 0);
    QVERIFY(watch.latest().empty());
  }

  void exclusionIsFinalAndSaid() {
    control::EventBus bus;
    const auto events = bus.subscribe();
    CapturedLog log;
    swarm::StatusBoard board(&bus);
    board.set_state("running");
    QVERIFY(board.set_excluded("its work failed a spot check at step 7"));
    QVERIFY(!board.set_excluded("again"));
    board.set_state("waiting", "looking for the other stages");  // a thread that has not noticed yet
    control::NodeStatus status;
    board.fill(status);
    QCOMPARE(status.state, std::string("excluded"));
    QCOMPARE(status.reason, std::string("its work failed a spot check at step 7"));
    QVERIFY(board.excluded());
    const auto published = drain(*events);
    QCOMPARE(published.size(), std::size_t{3});  // running, excluded, the error
    QCOMPARE(published[1].data.at("state"), "excluded");
    QCOMPARE(published[2].type, std::string("error"));
    QCOMPARE(published[2].data.at("reason"), "its work failed a spot check at step 7");
    const auto lines = log.take();
    QCOMPARE(lines.size(), std::size_t{1});
    QVERIFY(lines[0].rfind("error the hub excluded this node from run", 0) == 0);
    QVERIFY(lines[0].find("will not try to join this run again") != std::string::npos);
  }
};

QTEST_APPLESS_MAIN(TestWorkWatch)
#include "test_work_watch.moc"
