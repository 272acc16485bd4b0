// The demo under attack, started and watched from outside (see local_swarm.h).
#include "tests/adversarial/local_swarm.h"

#include <signal.h>

#include <fstream>
#include <regex>
#include <thread>

#include <QProcess>
#include <QTemporaryDir>

#include <httplib.h>

#include "core/client/hub_client.h"
#include "core/protocol/hub_api.h"
#include "core/wallet/delegation.h"
#include "core/wallet/encoding.h"

namespace tessera::adversarial {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A small model: a step takes tens of milliseconds on two loaded cores, so "training continues"
// shows within seconds, and the honest peers leave CPU for the attack and the other tests.
const QStringList kModelFlags{"--layers", "3", "--width", "32", "--heads", "2", "--context", "16",
                              "--micro-batch", "2", "--micro-batches", "2", "--threads", "1"};

std::optional<nlohmann::json> get_json(const std::string& base, const std::string& path) {
  httplib::Client client(base);
  client.set_connection_timeout(5s);
  client.set_read_timeout(10s);
  const auto reply = client.Get(path);
  if (!reply || reply->status != 200) return std::nullopt;
  auto body = nlohmann::json::parse(reply->body, nullptr, false);
  if (body.is_discarded()) return std::nullopt;
  return body;
}

}  // namespace

std::uintmax_t file_size_or_zero(const std::filesystem::path& file) {
  std::error_code error;
  const auto size = std::filesystem::file_size(file, error);
  return error ? 0 : size;
}

std::string read_from(const std::filesystem::path& file, std::uintmax_t offset) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return {};
  in.seekg(static_cast<std::streamoff>(offset));
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

LocalSwarm::LocalSwarm(SwarmOptions options) : options_(options), dir_(std::make_unique<QTemporaryDir>()) {
  // TESSERA_KEEP_SWARM=1 keeps the demo's folder (the peers' node.log) to read after a failure.
  if (qEnvironmentVariableIsSet("TESSERA_KEEP_SWARM")) {
    dir_->setAutoRemove(false);
    qInfo("swarm folder: %s", qPrintable(dir_->path()));
  }
}

LocalSwarm::~LocalSwarm() {
  if (!demo_ || demo_->state() == QProcess::NotRunning) return;
  ::kill(static_cast<pid_t>(demo_->processId()), SIGINT);
  if (!demo_->waitForFinished(20000)) {
    demo_->kill();
    demo_->waitForFinished(5000);
  }
}

bool LocalSwarm::start(std::string& why) {
  const auto data = dir_->path();
  demo_ = std::make_unique<QProcess>();
  // Files, not pipes: nobody reads a pipe while a test runs, and a full one would stall the demo.
  demo_->setStandardOutputFile(data + "/demo.out");
  demo_->setStandardErrorFile(data + "/demo.err");
  QStringList args{"--data-dir", data, "demo", "--serve", "--steps", "1000000",
                   "--stages", QString::number(options_.stages), "--replicas", QString::number(options_.replicas),
                   "--epoch-seconds", QString::number(options_.epoch_seconds)};
  args += kModelFlags;
  demo_->start(QStringLiteral(TESSERA_NODE_BIN), args);
  if (!demo_->waitForStarted(10000)) {
    why = "tessera-node demo did not start";
    return false;
  }
  const std::filesystem::path out = (data + "/demo.out").toStdString(), err = (data + "/demo.err").toStdString();
  const std::regex hub_line(R"(local network: hub (http://127\.0\.0\.1:\d+))");
  const std::regex gateway_line(R"(gateway: (http://\S+))");
  const auto deadline = Clock::now() + 60s;
  while (Clock::now() < deadline && alive() && (hub_url_.empty() || gateway_url_.empty())) {
    std::smatch match;
    const auto err_text = read_from(err), out_text = read_from(out);
    if (std::regex_search(err_text, match, hub_line)) hub_url_ = match[1];
    if (std::regex_search(out_text, match, gateway_line) || std::regex_search(err_text, match, gateway_line))
      gateway_url_ = match[1];
    std::this_thread::sleep_for(100ms);
  }
  if (hub_url_.empty() || gateway_url_.empty()) {
    why = "the demo did not print its hub and gateway:\n" + output_tail();
    return false;
  }
  const int peers = options_.stages * options_.replicas;
  for (int i = 0; i < peers; ++i) {
    HonestNode node;
    node.folder = std::filesystem::path(data.toStdString()) / "demo" / ("peer-" + std::to_string(i));
    try {
      node.key = wallet::load_or_create_node_key(node.folder / wallet::kNodeKeyFileName).public_key();
      const auto delegation = nlohmann::json::parse(read_from(node.folder / "delegation.json"));
      node.owner = wallet::Delegation::from_json(delegation).owner_address;
    } catch (const std::exception& error) {
      why = "cannot read honest peer " + node.folder.string() + ": " + error.what();
      return false;
    }
    honest_.push_back(std::move(node));
  }
  if (wait_for_step(3, 120s) < 3) {
    why = "the demo did not start training:\n" + output_tail();
    return false;
  }
  return true;
}

bool LocalSwarm::alive() const { return demo_ && demo_->state() == QProcess::Running; }

pid_t LocalSwarm::hub_pid() const { return demo_ ? static_cast<pid_t>(demo_->processId()) : -1; }

std::vector<std::string> LocalSwarm::honest_owners() const {
  std::vector<std::string> out;
  for (const auto& node : honest_) out.push_back(node.owner);
  return out;
}

const HonestNode* LocalSwarm::honest_node(const wallet::PublicKey& key) const {
  for (const auto& node : honest_)
    if (node.key == key) return &node;
  return nullptr;
}

std::uint64_t LocalSwarm::step() {
  try {
    client::HubClient hub(hub_url_, 10s);
    for (auto& entry : hub.progress(steps_.size())) steps_.push_back(std::move(entry));
  } catch (const std::exception&) {
    // A hub that does not answer shows as no progress.
  }
  if (steps_.empty()) return 0;
  return steps_.back().value("step", std::uint64_t{0});
}

std::uint64_t LocalSwarm::wait_for_step(std::uint64_t at_least, std::chrono::milliseconds deadline) {
  const auto until = Clock::now() + deadline;
  auto reached = step();
  while (reached < at_least && Clock::now() < until && alive()) {
    std::this_thread::sleep_for(100ms);
    reached = step();
  }
  return reached;
}

std::vector<double> LocalSwarm::losses_after(std::uint64_t after) {
  step();
  std::vector<double> out;
  for (const auto& entry : steps_)
    if (entry.value("step", std::uint64_t{0}) > after && entry.contains("loss") && entry["loss"].is_number())
      out.push_back(entry["loss"].get<double>());
  return out;
}

nlohmann::json LocalSwarm::open_epoch() const {
  return get_json(hub_url_, protocol::hub_api::kEpoch).value_or(nlohmann::json::object());
}

std::optional<std::uint64_t> LocalSwarm::settled_epochs() const {
  const auto epoch = open_epoch();
  if (!epoch.contains("settled_epochs") || !epoch["settled_epochs"].is_number_unsigned()) return std::nullopt;
  return epoch["settled_epochs"].get<std::uint64_t>();
}

bool LocalSwarm::wait_for_settled_epochs(std::uint64_t at_least, std::chrono::milliseconds deadline) const {
  const auto until = Clock::now() + deadline;
  while (Clock::now() < until) {
    if (settled_epochs().value_or(0) >= at_least) return true;
    std::this_thread::sleep_for(200ms);
  }
  return false;
}

bool LocalSwarm::owns_units(const std::string& owner, std::string& detail) const {
  const auto latest = get_json(hub_url_, protocol::hub_api::kLatestStatement);
  if (!latest || !latest->contains("epoch")) {
    detail = "no statement published";
    return false;
  }
  const auto epoch = latest->at("epoch").get<std::uint64_t>();
  httplib::Client client(hub_url_);
  client.set_read_timeout(10s);
  const auto reply = client.Get(protocol::hub_api::proof_path(epoch, owner));
  if (!reply) {
    detail = "the hub did not answer the proof request";
    return false;
  }
  detail = "epoch " + std::to_string(epoch) + ": HTTP " + std::to_string(reply->status) + " " + reply->body.substr(0, 300);
  if (reply->status != 200) return false;
  const auto proof = nlohmann::json::parse(reply->body, nullptr, false);
  return !proof.is_discarded() && proof.value("units", std::uint64_t{0}) > 0;
}

std::string LocalSwarm::output_tail(std::size_t bytes) const {
  auto text = read_from((dir_->path() + "/demo.err").toStdString());
  for (auto& c : text)
    if (c == '\r') c = '\n';
  return text.size() > bytes ? text.substr(text.size() - bytes) : text;
}

}  // namespace tessera::adversarial
