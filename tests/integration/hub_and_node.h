// The real binaries as a publisher and a contributor run them, for the end-to-end run tests
// (test_publish_run, test_data_contribution): `tessera-hub` serving on 127.0.0.1 with a free port,
// `tessera-node run` joining a run by URL with its own node key and its owner's delegation, a
// one-shot command of either, and the hub's public API read as JSON. Everything is stopped with
// SIGTERM when the test is done with it (killed if it does not stop).
#pragma once

#include <QtTest>

#include <signal.h>

#include <QProcess>
#include <QRegularExpression>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "core/wallet/delegation.h"
#include "core/wallet/keypair_file.h"
#include "tests/support/run_process.h"

namespace tessera::test {

inline QString q(const std::filesystem::path& path) { return QString::fromStdString(path.string()); }

inline ProcessResult hub_command(const std::filesystem::path& data_dir, const QStringList& arguments) {
  return run_process(QStringLiteral(TESSERA_HUB_BIN), QStringList{"--data-dir", q(data_dir)} + arguments, {}, 30000);
}

inline ProcessResult node_command(const std::filesystem::path& data_dir, const QStringList& arguments) {
  return run_process(QStringLiteral(TESSERA_NODE_BIN), QStringList{"--data-dir", q(data_dir)} + arguments, {}, 30000);
}

// tessera-hub on 127.0.0.1:0; port() once it prints its catalog's URL.
class HubProcess {
 public:
  HubProcess(const std::filesystem::path& data_dir, const QStringList& arguments) {
    process_.setProcessChannelMode(QProcess::MergedChannels);
    process_.start(QStringLiteral(TESSERA_HUB_BIN),
                   QStringList{"--data-dir", q(data_dir), "--listen", "127.0.0.1:0"} + arguments);
  }
  ~HubProcess() { stop(); }
  HubProcess(const HubProcess&) = delete;
  HubProcess& operator=(const HubProcess&) = delete;

  // The API's port once the hub serves, 0 if it did not within the time (see output()).
  int wait_port(int timeout_ms = 30000) {
    static const QRegularExpression catalog(QStringLiteral("catalog: http://127\\.0\\.0\\.1:(\\d+)/api/runs"));
    QElapsedTimer timer;
    timer.start();
    while (timer.elapsed() < timeout_ms && process_.state() != QProcess::NotRunning) {
      process_.waitForReadyRead(50);
      output_ += QString::fromUtf8(process_.readAll());
      if (const auto match = catalog.match(output_); match.hasMatch()) return port_ = match.captured(1).toInt();
    }
    return 0;
  }
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void stop() {
    if (process_.state() == QProcess::NotRunning) return;
    ::kill(static_cast<pid_t>(process_.processId()), SIGTERM);
    if (!process_.waitForFinished(30000)) process_.kill(), process_.waitForFinished(5000);
  }
  const QString& output() {
    output_ += QString::fromUtf8(process_.readAll());
    return output_;
  }

 private:
  QProcess process_;
  QString output_;
  int port_ = 0;
};

// A contributor's machine: a data folder with its node key and `owner`'s delegation of it for
// any run, as `tessera-node wallet delegate` leaves them.
struct NodeMachine {
  std::filesystem::path data_dir;
  wallet::KeyPair owner = wallet::KeyPair::generate();
  wallet::KeyPair key;
  std::string owner_address;

  explicit NodeMachine(std::filesystem::path folder)
      : data_dir(std::move(folder)),
        key((std::filesystem::create_directories(data_dir),
             wallet::load_or_create_node_key(data_dir / wallet::kNodeKeyFileName))) {
    const auto delegation = wallet::sign_delegation(owner, key.public_key(), wallet::kAnyRun, 4102444800);
    owner_address = delegation.owner_address;
    std::ofstream(data_dir / "delegation.json") << delegation.to_json().dump();
  }
  wallet::Delegation delegation() const {
    return wallet::sign_delegation(owner, key.public_key(), wallet::kAnyRun, 4102444800);
  }
};

// `tessera-node run --hub URL` on loopback, one CPU thread, its output in <data dir>/output.log.
class NodeProcess {
 public:
  NodeProcess(const NodeMachine& machine, const std::string& hub) : log_(machine.data_dir / "output.log") {
    process_.setStandardOutputFile(q(log_));
    process_.setStandardErrorFile(q(log_), QIODevice::Append);
    process_.start(QStringLiteral(TESSERA_NODE_BIN),
                   {"--data-dir", q(machine.data_dir), "run", "--hub", QString::fromStdString(hub), "--listen",
                    "tcp://127.0.0.1:0", "--no-port-mapping", "--no-relay", "--threads", "1"});
  }
  ~NodeProcess() { stop(); }
  NodeProcess(const NodeProcess&) = delete;
  NodeProcess& operator=(const NodeProcess&) = delete;

  bool running() const { return process_.state() != QProcess::NotRunning; }
  // SIGTERM: the node leaves the hub and exits; its exit code (-1 when it had to be killed).
  int stop() {
    if (process_.state() == QProcess::NotRunning) return process_.exitStatus() == QProcess::NormalExit ? process_.exitCode() : -1;
    ::kill(static_cast<pid_t>(process_.processId()), SIGTERM);
    if (process_.waitForFinished(30000)) return process_.exitStatus() == QProcess::NormalExit ? process_.exitCode() : -1;
    process_.kill();
    process_.waitForFinished(5000);
    return -1;
  }
  // The end of what it printed, for a failure's message.
  QByteArray output() const {
    std::ifstream in(log_);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return QByteArray::fromStdString(text.size() > 6000 ? text.substr(text.size() - 6000) : text);
  }

 private:
  std::filesystem::path log_;
  QProcess process_;
};

// GET on the hub's public API: the status and the body parsed (null when it is no JSON).
struct HubReply {
  int status = 0;
  nlohmann::json body;
};

inline HubReply hub_get(int port, const std::string& path) {
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(std::chrono::seconds(10));
  const auto reply = client.Get(path);
  if (!reply) return {};
  return {reply->status, nlohmann::json::parse(reply->body, nullptr, false)};
}

template <typename Condition>
bool wait_for(Condition&& condition, int timeout_ms) {
  QElapsedTimer timer;
  timer.start();
  while (!condition()) {
    if (timer.elapsed() > timeout_ms) return false;
    QTest::qWait(200);
  }
  return true;
}

}  // namespace tessera::test
