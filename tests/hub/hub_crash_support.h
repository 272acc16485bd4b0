// What the hub crash tests share: the real tessera-hub started on a state folder (and SIGKILLed),
// a run of nodes joined through the real HubClient, and reporters that sign and report receipt
// batches the way a node's outbox does: a batch stays pending until the hub answers it, and is
// sent again, unchanged, after a restart. Credit follows commits: each reporter is given steps the
// test's driver committed with it and its receiver on the route (kCrashMicroBatches slots a step),
// and makes receipts for those slots only, until they are used up.
#pragma once

#include <QProcess>
#include <QRegularExpression>
#include <QStringList>
#include <QtTest>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/client/hub_client.h"
#include "core/protocol/manifest.h"
#include "core/protocol/receipt.h"
#include "core/protocol/work_units.h"
#include "core/wallet/delegation.h"
#include "core/wallet/encoding.h"
#include "core/wallet/keypair_file.h"
#include "tests/support/step_records.h"
#include "tests/support/tiny_manifest.h"

namespace hub_crash {

using namespace tessera;

inline constexpr int kCrashMicroBatches = 1024;

// tessera-hub on 127.0.0.1 with a free port; its output is kept for failure messages.
class HubProcess {
 public:
  // `extra`: further options (e.g. --check-rate 1). Its members join with endpoints nobody serves,
  // so the hub does not connect back to them (--reachability-timeout-ms 0).
  HubProcess(const QString& data_dir, const QString& manifest, const QString& key, const QStringList& extra = {}) {
    process_.setProcessChannelMode(QProcess::MergedChannels);
    process_.start(QStringLiteral(TESSERA_HUB_BIN), QStringList{QStringLiteral("--data-dir"), data_dir,
                                                                QStringLiteral("--listen"), QStringLiteral("127.0.0.1:0"),
                                                                QStringLiteral("--manifest"), manifest,
                                                                QStringLiteral("--key"), key,
                                                                QStringLiteral("--reachability-timeout-ms"),
                                                                QStringLiteral("0")} + extra);
  }
  ~HubProcess() { kill(); }

  // Waits until it serves; its URL, or empty (see output()).
  std::string wait_serving(int timeout_ms = 30000) {
    static const QRegularExpression serving(QStringLiteral("serving run \\S+ at (http://127\\.0\\.0\\.1:\\d+)"));
    QElapsedTimer timer;
    timer.start();
    while (timer.elapsed() < timeout_ms && process_.state() != QProcess::NotRunning) {
      process_.waitForReadyRead(50);
      output_ += QString::fromUtf8(process_.readAll());
      const auto match = serving.match(output_);
      if (match.hasMatch()) return match.captured(1).toStdString();
    }
    return {};
  }
  void kill() {
    if (process_.state() == QProcess::NotRunning) return;
    process_.kill();  // SIGKILL: no destructor, no last write
    process_.waitForFinished(30000);
    output_ += QString::fromUtf8(process_.readAll());
  }
  // Everything it printed so far (spdlog's "epoch N settled" lines included).
  const QString& output() {
    output_ += QString::fromUtf8(process_.readAll());
    return output_;
  }

 private:
  QProcess process_;
  QString output_;
};

// A joined node: its key, owner and stage.
struct Node {
  wallet::KeyPair key = wallet::KeyPair::generate();
  wallet::KeyPair owner = wallet::KeyPair::generate();
  int stage = -1;
  std::string owner_address() const { return wallet::base58_encode(owner.public_key()); }
};

// The run's files in `dir`: the manifest (signed by `publisher`, who is also the hub key) and the
// publisher's keypair file.
inline protocol::RunManifest write_run(const std::filesystem::path& dir, const wallet::KeyPair& publisher,
                                       std::int64_t epoch_seconds) {
  auto manifest = test::tiny_two_stage_manifest("crash-run");
  manifest.epoch_seconds = epoch_seconds;
  manifest.train.micro_batches = kCrashMicroBatches;
  manifest.hub_key = publisher.public_key();
  protocol::sign_manifest(manifest, publisher);
  std::ofstream(dir / "manifest.json") << protocol::to_json(manifest).dump();
  wallet::write_solana_keypair_file(dir / "publisher.json", publisher);
  return manifest;
}

inline void join(const std::string& url, const std::string& run_id, Node& node) {
  client::HubClient hub(url);
  protocol::JoinRequest request;
  request.delegation = wallet::sign_delegation(node.owner, node.key.public_key(), run_id, 4102444800);
  request.endpoint = "tcp://127.0.0.1:1";
  request.device = {"cpu", 8ull << 30, 1000.0};
  node.stage = hub.join(node.key, request);
}

// One sender's outbox: receipts its neighbour signed for its work, reported in batches. A batch
// that got no answer stays pending and is sent again first. Everything here is touched by one
// reporter thread at a time.
class Reporter {
 public:
  Reporter(const protocol::RunManifest& manifest, const Node& sender, const Node& receiver, unsigned seed)
      : manifest_(manifest), sender_(sender), receiver_(receiver), random_(seed) {}

  // Steps committed with this sender and its receiver on the route: its receipts' slots.
  void add_committed_step(std::uint64_t step) { steps_.push_back(step); }
  bool used_up() const { return slots_used_ >= steps_.size() * kCrashMicroBatches; }

  // Reports until `stop`, its slots are used up, or the hub stops answering (then the batch in
  // flight stays pending).
  void run(const std::string& url, const std::atomic<bool>& stop) {
    client::HubClient hub(url, std::chrono::milliseconds(10000));
    while (!stop) {
      if (!pending_ && used_up()) return;
      if (!pending_) pending_ = next_batch();
      nlohmann::json answer;
      try {
        answer = hub.report_receipts(sender_.key, pending_->receipts);
      } catch (const std::exception& error) {
        last_error_ = error.what();
        return;  // killed (or refused): a node keeps the batch and tries again later
      }
      acknowledge(answer);
    }
  }

  // Sends the pending batch until the hub answers it (after the last restart); false if it never does.
  bool flush(const std::string& url) {
    client::HubClient hub(url, std::chrono::milliseconds(10000));
    for (int attempt = 0; pending_ && attempt < 20; ++attempt) {
      try {
        acknowledge(hub.report_receipts(sender_.key, pending_->receipts));
      } catch (const std::exception& error) {
        last_error_ = error.what();
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
    return !pending_;
  }

  // Every receipt this sender has made, acknowledged or pending; and their FLOPs.
  const std::map<std::string, double>& made() const { return made_; }
  double flops_made() const {
    double total = 0;
    for (const auto& [id, flops] : made_) total += flops;
    return total;
  }
  bool has_pending() const { return pending_.has_value(); }
  std::uint64_t answered_duplicates() const { return answered_duplicates_; }
  std::uint64_t resent_batches() const { return resent_; }
  const std::vector<std::string>& problems() const { return problems_; }
  const std::string& last_error() const { return last_error_; }
  const Node& sender() const { return sender_; }
  const Node& receiver() const { return receiver_; }

 private:
  struct Batch {
    std::vector<protocol::SignedReceipt> receipts;
    std::size_t fresh = 0;        // made for this batch
    std::size_t known = 0;        // acknowledged before: must come back as duplicates
    bool sent_before = false;     // no answer the first time
  };

  Batch next_batch() {
    Batch batch;
    const auto left = steps_.size() * kCrashMicroBatches - slots_used_;
    batch.fresh = std::min<std::size_t>(1 + random_() % 200, left);
    const auto direction = sender_.stage == 0 ? protocol::Direction::Forward : protocol::Direction::Backward;
    for (std::size_t i = 0; i < batch.fresh; ++i, ++slots_used_) {
      protocol::Receipt r;
      r.run_id = manifest_.run_id;
      r.step = steps_[slots_used_ / kCrashMicroBatches];
      r.micro_batch = static_cast<std::uint32_t>(slots_used_ % kCrashMicroBatches);
      r.direction = direction;
      r.sender = sender_.key.public_key();
      r.receiver = receiver_.key.public_key();
      r.stage = static_cast<std::uint16_t>(sender_.stage);
      r.tokens = static_cast<std::uint32_t>(manifest_.train.micro_batch_size * manifest_.model.context);
      auto receipt = protocol::sign_receipt(r, receiver_.key);
      const double flops = protocol::receipt_flops(manifest_.model, manifest_.stages, direction, r.stage, r.tokens);
      if (std::floor(flops) != flops) problems_.push_back("a receipt's FLOPs are not whole: exact sums need them");
      made_[receipt.id()] = flops;
      batch.receipts.push_back(std::move(receipt));
    }
    // A node may report a receipt again (a retry after a lost answer): some batches repeat old ones.
    for (std::size_t k = random_() % 4; k > 0 && !acknowledged_.empty(); --k, ++batch.known)
      batch.receipts.push_back(acknowledged_[random_() % acknowledged_.size()]);
    return batch;
  }

  void acknowledge(const nlohmann::json& answer) {
    const auto accepted = answer.value("accepted", std::uint64_t{0});
    const auto duplicates = answer.value("duplicates", std::uint64_t{0});
    const auto& batch = *pending_;
    if (!answer.value("rejected", nlohmann::json::array()).empty())
      problems_.push_back("receipts rejected: " + answer["rejected"].dump());
    if (accepted + duplicates != batch.receipts.size()) problems_.push_back("a batch was not fully counted");
    if (!batch.sent_before && (accepted != batch.fresh || duplicates != batch.known))
      problems_.push_back("a first-time batch was answered " + answer.dump());
    if (batch.sent_before && duplicates < batch.known) problems_.push_back("a repeated receipt was credited again");
    answered_duplicates_ += duplicates;
    for (std::size_t i = 0; i < batch.fresh; ++i) acknowledged_.push_back(batch.receipts[i]);
    pending_.reset();
  }

 public:
  // After a round: a batch that got no answer is sent again as it is.
  void mark_unanswered() {
    if (pending_ && !pending_->sent_before) {
      pending_->sent_before = true;
      ++resent_;
    }
  }

 private:
  const protocol::RunManifest& manifest_;
  const Node& sender_;
  const Node& receiver_;
  std::mt19937 random_;
  std::vector<std::uint64_t> steps_;
  std::size_t slots_used_ = 0;
  std::optional<Batch> pending_;
  std::vector<protocol::SignedReceipt> acknowledged_;
  std::map<std::string, double> made_;  // receipt id → FLOPs
  std::uint64_t answered_duplicates_ = 0;
  std::uint64_t resent_ = 0;
  std::vector<std::string> problems_;
  std::string last_error_;
};

// Runs every reporter on its own thread until `stop` or until the hub stops answering.
inline void report_all(std::vector<Reporter>& reporters, const std::string& url, const std::atomic<bool>& stop) {
  std::vector<std::thread> threads;
  for (auto& reporter : reporters) threads.emplace_back([&reporter, &url, &stop] { reporter.run(url, stop); });
  for (auto& thread : threads) thread.join();
  for (auto& reporter : reporters) reporter.mark_unanswered();
}

inline int crash_rounds(int fallback) {
  return qEnvironmentVariableIsSet("TESSERA_CRASH_ROUNDS") ? qEnvironmentVariableIntValue("TESSERA_CRASH_ROUNDS")
                                                            : fallback;
}

}  // namespace hub_crash
