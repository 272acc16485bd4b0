// The control API end to end on loopback: bearer-token auth, every command reaching the node,
// 400s with the node's message, the event stream, and a clear error when the node is gone.
#include <QtTest>

#include <httplib.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "core/control/control_api.h"

using namespace tessera;
using namespace std::chrono_literals;

namespace {

// The node's side as far as the API sees it: records what it was asked and keeps settings.
class RecordingNode : public control::ControlHandler {
 public:
  control::NodeStatus status() override {
    std::lock_guard lock(mutex_);
    control::NodeStatus status;
    status.state = state_;
    return status;
  }
  void start() override {
    std::lock_guard lock(mutex_);
    state_ = "running";
  }
  void pause(bool finish_step) override {
    std::lock_guard lock(mutex_);
    state_ = finish_step ? "pausing" : "paused";
  }
  void snooze(std::chrono::seconds duration) override {
    std::lock_guard lock(mutex_);
    state_ = "snoozed";
    snoozed_ = duration.count();
  }
  control::NodeSettings settings() override {
    std::lock_guard lock(mutex_);
    return settings_;
  }
  control::NodeSettings update_settings(const nlohmann::json& patch) override {
    std::lock_guard lock(mutex_);
    settings_ = settings_.merged(patch);
    return settings_;
  }
  // The runs commands: each recorded as "<command> <argument>", answered with one listed run.
  control::RunsReport runs() override { return report("list", ""); }
  control::RunsReport add_run(const std::string& link) override { return report("add", link); }
  control::RunsReport remove_run(const std::string& run) override { return report("remove", run); }
  control::RunsReport join_run(const std::string& run) override {
    if (run == "unknown") throw std::invalid_argument("no run \"unknown\" in the list");
    return report("join", run);
  }
  control::RunsReport leave_run() override { return report("leave", ""); }
  std::string last_runs_command() {
    std::lock_guard lock(mutex_);
    return last_runs_command_;
  }
  std::int64_t snoozed_seconds() {
    std::lock_guard lock(mutex_);
    return snoozed_;
  }

 private:
  std::mutex mutex_;
  control::RunsReport report(const std::string& command, const std::string& argument) {
    std::lock_guard lock(mutex_);
    last_runs_command_ = command + " " + argument;
    control::RunsReport out;
    out.current = "run-1";
    out.activity = "training stage 1 of 2 of run-1";
    control::RunFit fit;
    fit.fits = true;
    fit.stage = 0;
    fit.tokens_per_s = 12.5;
    out.runs.push_back({"tessera://127.0.0.1:9/run-1#key", "run-1", nlohmann::json{{"run", "run-1"}}, fit, ""});
    return out;
  }

  std::string state_ = "paused";
  std::string last_runs_command_;
  std::int64_t snoozed_ = 0;
  control::NodeSettings settings_;
};

std::string token_text(const wallet::SecureBytes& token) {
  return std::string(reinterpret_cast<const char*>(token.data()), token.size());
}

}  // namespace

class TestControlApi : public QObject {
  Q_OBJECT

 private:
  RecordingNode node_;
  control::EventBus events_;
  std::unique_ptr<control::ControlServer> server_;

 private Q_SLOTS:
  void initTestCase() {
    server_ = std::make_unique<control::ControlServer>(node_, events_);
    server_->start();
    QVERIFY(server_->port() > 0);
    QCOMPARE(server_->token().size(), size_t(64));
  }

  void cleanupTestCase() { server_.reset(); }

  void refusesWithoutTheToken() {
    httplib::Client raw("127.0.0.1", server_->port());
    auto result = raw.Get("/v1/status");
    QVERIFY(result);
    QCOMPARE(result->status, 401);
    result = raw.Get("/v1/status", {{"Authorization", "Bearer " + std::string(64, '0')}});
    QCOMPARE(result->status, 401);
    result = raw.Post("/v1/start", {{"Authorization", "Bearer "}}, "", "application/json");
    QCOMPARE(result->status, 401);
    QCOMPARE(QString::fromStdString(node_.status().state), QStringLiteral("paused"));
    result = raw.Get("/v1/status", {{"Authorization", "Bearer " + token_text(server_->token())}});
    QCOMPARE(result->status, 200);
  }

  // The runs routes reach the node with their argument and answer its report (docs/runs.md).
  void runsCommandsReachTheNode() {
    control::ControlClient client(server_->port(), server_->token());
    auto report = client.runs();
    QCOMPARE(QString::fromStdString(node_.last_runs_command()), QStringLiteral("list "));
    QCOMPARE(QString::fromStdString(report.current.value_or("")), QStringLiteral("run-1"));
    QCOMPARE(report.runs.size(), std::size_t(1));
    QCOMPARE(report.runs[0].fit->tokens_per_s.value_or(0), 12.5);
    client.add_run("tessera://127.0.0.1:9/run-2#key");
    QCOMPARE(QString::fromStdString(node_.last_runs_command()), QStringLiteral("add tessera://127.0.0.1:9/run-2#key"));
    client.remove_run("run-2");
    QCOMPARE(QString::fromStdString(node_.last_runs_command()), QStringLiteral("remove run-2"));
    client.join_run("run-1");
    QCOMPARE(QString::fromStdString(node_.last_runs_command()), QStringLiteral("join run-1"));
    client.leave_run();
    QCOMPARE(QString::fromStdString(node_.last_runs_command()), QStringLiteral("leave "));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, client.join_run("unknown"));

    httplib::Client raw("127.0.0.1", server_->port());
    const httplib::Headers auth{{"Authorization", "Bearer " + token_text(server_->token())}};
    const auto missing = raw.Post("/v1/runs/join", auth, "{}", "application/json");
    QCOMPARE(missing->status, 400);
    const auto message = nlohmann::json::parse(missing->body)["error"]["message"].get<std::string>();
    QVERIFY2(message.find("\"run\"") != std::string::npos, message.c_str());
    QCOMPARE(raw.Post("/v1/runs", auth, R"({"link": 5})", "application/json")->status, 400);
    const auto json = nlohmann::json::parse(raw.Get("/v1/runs", auth)->body);
    QCOMPARE(json.size(), std::size_t{3});
    for (const char* key : {"link", "run", "catalog", "fit", "error"}) QVERIFY2(json["runs"][0].contains(key), key);
    QCOMPARE(json["runs"][0]["fit"]["estimate"], nlohmann::json(true));
  }

  // curl users read the JSON: the keys are the ones the API has always had.
  void wireKeysStayTheSame() {
    httplib::Client raw("127.0.0.1", server_->port());
    const httplib::Headers auth{{"Authorization", "Bearer " + token_text(server_->token())}};
    const auto status = nlohmann::json::parse(raw.Get("/v1/status", auth)->body);
    for (const char* key : {"state", "reason", "network", "run", "stage", "stages", "step", "step_rate", "loss",
                            "tokens_per_s", "device", "temperature_c", "codec", "bytes_per_token", "ledger", "peers",
                            "verification", "traffic", "reachability"})
      QVERIFY2(status.contains(key), key);
    QCOMPARE(status.size(), std::size_t{19});
    // issue #18: how peers reach the node (empty before it joins).
    QCOMPARE(status["reachability"], (nlohmann::json{{"how", ""}, {"endpoint", ""}, {"detail", ""}}));
    QVERIFY(status["loss"].is_null() && status["temperature_c"].is_null());
    // issue #19: bytes by kind and per token trained (null before any).
    QVERIFY(status["traffic"]["bytes"]["boundary_forward"].contains("sent"));
    QCOMPARE(status["traffic"]["bytes"]["total"]["received"].get<std::uint64_t>(), std::uint64_t{0});
    QVERIFY(status["traffic"]["bytes_per_token"].is_null());
    const auto settings = nlohmann::json::parse(raw.Get("/v1/settings", auth)->body);
    for (const char* key : {"power_profile", "threads", "device_share", "memory_limit_mib", "only_when_idle",
                            "idle_minutes", "on_battery", "schedule", "max_temperature_c", "max_power_w", "hub_url"})
      QVERIFY2(settings.contains(key), key);
    QCOMPARE(settings.size(), std::size_t{11});
    QCOMPARE(settings["schedule"], (nlohmann::json{{"enabled", false}, {"start", "22:00"}, {"end", "07:00"}}));
  }

  void commandsReachTheNode() {
    control::ControlClient client(server_->port(), server_->token());
    QCOMPARE(QString::fromStdString(client.start().state), QStringLiteral("running"));
    QCOMPARE(QString::fromStdString(client.pause(true).state), QStringLiteral("pausing"));
    QCOMPARE(QString::fromStdString(client.pause(false).state), QStringLiteral("paused"));
    QCOMPARE(QString::fromStdString(client.snooze(3h).state), QStringLiteral("snoozed"));
    QCOMPARE(node_.snoozed_seconds(), std::int64_t{3 * 3600});
    QCOMPARE(QString::fromStdString(client.status().state), QStringLiteral("snoozed"));
    const auto settings = client.update_settings({{"power_profile", "full"}, {"max_temperature_c", 80}});
    QVERIFY(settings.profile == control::PowerProfile::Full);
    QCOMPARE(client.settings().max_temperature_c, 80.0);
  }

  void badRequestsCarryTheNodesMessage() {
    control::ControlClient client(server_->port(), server_->token());
    try {
      client.update_settings({{"power_profile", "turbo"}});
      QFAIL("accepted an unknown profile");
    } catch (const std::invalid_argument& error) {
      QCOMPARE(QString::fromUtf8(error.what()),
               QStringLiteral("settings: power_profile must be \"light\", \"balanced\" or \"full\""));
    }
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, client.snooze(std::chrono::seconds(0)));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, client.snooze(std::chrono::hours(24 * 8)));
    httplib::Client raw("127.0.0.1", server_->port());
    const auto result = raw.Post("/v1/pause", {{"Authorization", "Bearer " + token_text(server_->token())}},
                                 "not json", "application/json");
    QCOMPARE(result->status, 400);
  }

  void eventsStreamInOrder() {
    control::ControlClient client(server_->port(), server_->token());
    std::vector<control::Event> seen;
    std::atomic<bool> connected{false};
    std::thread watcher([&] {
      client.watch_events([&](const control::Event& event) {
        if (event.type == "hello") {
          connected = true;
          return true;
        }
        seen.push_back(event);
        return seen.size() < 3;
      });
    });
    // Publish "hello" until the watcher has subscribed, then the three events it must see.
    for (int i = 0; i < 200 && !connected; ++i) {
      events_.publish("hello", nullptr);
      std::this_thread::sleep_for(20ms);
    }
    QVERIFY(connected);
    events_.publish("joined", {{"stage", 2}});
    events_.publish("step", {{"loss", 2.5}});
    events_.publish("paused", nlohmann::json::object());
    watcher.join();
    QCOMPARE(seen.size(), size_t(3));
    QCOMPARE(QString::fromStdString(seen[0].type), QStringLiteral("joined"));
    QCOMPARE(seen[0].data["stage"].get<int>(), 2);
    QCOMPARE(seen[1].data["loss"].get<double>(), 2.5);
    QVERIFY(seen[1].id == seen[0].id + 1 && seen[2].id == seen[1].id + 1);
  }

  void goneNodeIsAClearError() {
    control::ControlServer temporary(node_, events_);
    temporary.start();
    const int port = temporary.port();
    wallet::SecureBytes token = wallet::SecureBytes::copy_of(temporary.token().span());
    temporary.stop();
    control::ControlClient client(port, token, 500ms);
    try {
      client.status();
      QFAIL("a stopped node answered");
    } catch (const std::runtime_error& error) {
      QVERIFY(QString::fromUtf8(error.what()).contains(QStringLiteral("is tessera-node running?")));
    }
  }
};

QTEST_APPLESS_MAIN(TestControlApi)
#include "test_control_api.moc"
