// The demo's steps: find the user's own node, count the logs before, train, ask, count again.
#include "core/demo/demo_run.h"

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <thread>

#include "core/demo/background_inference.h"
#include "core/hub/swarm_inference.h"
#include "core/ledger/ledger.h"
#include "core/ledger/reader.h"
#include "core/wallet/delegation.h"
#include "core/wallet/secure_file.h"

namespace tessera::demo {
namespace {

std::int64_t count_rows(const std::filesystem::path& file, ledger::Table table) {
  if (!std::filesystem::exists(file)) return 0;
  try {
    return ledger::LedgerReader(file).row_count(table);
  } catch (const std::exception&) {
    return 0;
  }
}

// `data_dir` when this machine already works for the user's wallet: a node key and a delegation
// that is valid now for any run. Anything unreadable means no: the demo then uses peer-0.
std::optional<std::filesystem::path> own_node_folder(const std::filesystem::path& data_dir) {
  const auto delegation_file = data_dir / "delegation.json";
  const auto key_file = data_dir / wallet::kNodeKeyFileName;
  if (!std::filesystem::exists(delegation_file) || !std::filesystem::exists(key_file)) return std::nullopt;
  try {
    const auto delegation =
        wallet::Delegation::from_json(nlohmann::json::parse(wallet::read_file_text(delegation_file, 1 << 16)));
    const auto key = wallet::load_or_create_node_key(key_file);
    const auto now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    if (delegation.run_id == wallet::kAnyRun &&
        wallet::verify_delegation(delegation, key.public_key(), "demo", now) == wallet::DelegationStatus::Valid)
      return data_dir;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

DemoOptions with_folder(DemoOptions options, const std::filesystem::path& data_dir) {
  options.network.train.total_steps = options.steps;
  options.network.folder = data_dir / "demo";
  return options;
}

struct StepTotals {
  std::vector<double> losses, seconds;
  double tokens_per_s = 0, bytes_per_token = 0;
};

StepTotals add_up(const std::vector<nlohmann::json>& steps) {
  StepTotals totals;
  double tokens = 0, seconds = 0, bytes = 0;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    totals.losses.push_back(steps[i].value("loss", 0.0));
    totals.seconds.push_back(steps[i].value("seconds", 0.0));
    bytes += steps[i].value("bytes_per_token", 0.0);
    if (i > 0 || steps.size() == 1) {  // the first step includes warm-up
      tokens += steps[i].value("tokens", 0.0);
      seconds += steps[i].value("seconds", 0.0);
    }
  }
  totals.tokens_per_s = seconds > 0 ? tokens / seconds : 0.0;
  totals.bytes_per_token = bytes / static_cast<double>(steps.size());
  return totals;
}

}  // namespace

nlohmann::json to_json(const DemoSummary& s) {
  return {{"steps", s.steps},
          {"stages", s.stages},
          {"replicas", s.replicas},
          {"codec", s.codec},
          {"run", s.run},
          {"loss_first", s.losses.front()},
          {"loss_last", s.losses.back()},
          {"losses", s.losses},
          {"tokens_per_s", s.tokens_per_s},
          {"bytes_per_token", s.bytes_per_token},
          {"receipts_verified", s.tally.verified},
          {"receipts_rejected", s.tally.rejected},
          {"receipts_duplicate", s.tally.duplicates},
          {"receipts_expected", s.receipts_expected},
          {"receipts_logged", s.receipts_logged},
          {"killed_peer_receipts", s.killed_peer_receipts},
          {"work_rows", s.work_rows},
          {"ledgers_verified", s.ledgers_verified},
          {"peers", s.peers},
          {"killed", s.killed},
          {"inference", s.inference},
          {"step_seconds", s.step_seconds},
          {"ledger", s.ledger.string()},
          {"hub", s.hub},
          {"gateway", s.gateway},
          {"epoch_seconds", s.epoch_seconds},
          {"epochs_settled", s.epochs_settled},
          {"statements_verified", s.statements_verified},
          {"model", {{"layers", s.model.layers}, {"width", s.model.width}, {"heads", s.model.heads},
                     {"context", s.model.context}, {"seed", s.model.seed}}}};
}

DemoRun::DemoRun(DemoOptions options, const std::filesystem::path& data_dir)
    : options_(with_folder(std::move(options), data_dir)),
      own_folder_(own_node_folder(data_dir)),
      network_(options_.network) {}

void DemoRun::start() {
  const int count = options_.network.stages * options_.network.replicas;
  for (int i = 0; i < count; ++i)
    ledgers_.push_back((i == 0 && own_folder_ ? *own_folder_ : options_.network.folder / ("peer-" + std::to_string(i))) /
                       std::string(ledger::kDefaultFileName));
  for (const auto& file : ledgers_) {
    work_before_ += count_rows(file, ledger::Table::Work);
    receipts_before_ += count_rows(file, ledger::Table::Receipts);
  }
  network_.start(count, own_folder_);
}

void DemoRun::train(const std::atomic<bool>& stop, const DemoProgress& progress) {
  if (!options_.infer_while_training) return train_steps(stop, progress);
  auto& hub = network_.hub();
  BackgroundInference inference(hub.directory(), hub.manifest(), network_.hub_key());
  train_steps(stop, progress);
  inference.stop();
  during_training_ = inference.summary();
}

void DemoRun::train_steps(const std::atomic<bool>& stop, const DemoProgress& progress) {
  auto last_progress = std::chrono::steady_clock::now();
  while (static_cast<int>(steps_.size()) < options_.steps) {
    if (stop) throw std::runtime_error("interrupted; the local peers were stopped");
    if (auto message = network_.check_children()) throw std::runtime_error(*message);
    const auto now = std::chrono::steady_clock::now();
    auto fresh = network_.hub().progress();
    if (fresh.size() > steps_.size()) {
      steps_ = std::move(fresh);
      last_progress = now;
      if (progress.step) progress.step(static_cast<int>(steps_.size()), options_.steps, steps_.back());
    } else if (now - last_progress > std::chrono::duration<double>(options_.stall_seconds)) {
      throw std::runtime_error("no training progress for " + std::to_string(static_cast<int>(options_.stall_seconds)) +
                               " s; see the peers' node.log files under " + options_.network.folder.string());
    }
    if (options_.kill_at > 0 && !killed_ && static_cast<int>(steps_.size()) >= options_.kill_at)
      kill_a_later_replica(progress);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

// SIGKILL a replica of a stage after the first that has another live replica (not the driver's stage).
void DemoRun::kill_a_later_replica(const DemoProgress& progress) {
  auto& directory = network_.hub().directory();
  const auto counts = directory.replica_counts();
  for (std::size_t i = 0; i < network_.peers().size() && !killed_; ++i) {
    const auto peer = directory.find(network_.peers()[i].node_key);
    if (peer && peer->stage > 0 && counts[static_cast<std::size_t>(peer->stage)] >= 2) {
      network_.kill_peer(i);
      killed_ = i;
      if (progress.killed) progress.killed(network_.peers()[i], peer->stage);
    }
  }
}

nlohmann::json DemoRun::ask_next_token() {
  try {
    hub::SwarmInference swarm(network_.hub().directory(), network_.hub().manifest(), network_.hub_key());
    const std::string prompt = "12+34=";
    const std::vector<std::int32_t> ids(prompt.begin(), prompt.end());
    const auto logits = swarm.next_token_logits(ids, std::chrono::seconds(10));
    const auto best = std::max_element(logits.begin(), logits.end()) - logits.begin();
    nlohmann::json out{{"prompt", prompt}, {"next_token", best}, {"vocab", logits.size()}};
    if (!during_training_.is_null()) out["during_training"] = during_training_;
    return out;
  } catch (const std::exception& error) {
    return {{"error", error.what()}};
  }
}

DemoSummary DemoRun::summarize(nlohmann::json inference) {
  auto steps = steps_;
  steps.resize(static_cast<std::size_t>(options_.steps));
  const auto& o = options_.network;
  DemoSummary s;
  for (std::size_t i = 0; i < ledgers_.size(); ++i) {
    const auto rows = count_rows(ledgers_[i], ledger::Table::Receipts);
    s.work_rows += count_rows(ledgers_[i], ledger::Table::Work);
    s.receipts_logged += rows;
    if (killed_ && *killed_ == i) s.killed_peer_receipts = rows;
    if (std::filesystem::exists(ledgers_[i]) && ledger::LedgerReader(ledgers_[i]).verify(network_.peers()[i].node_key).intact)
      ++s.ledgers_verified;
    s.statements_verified += count_rows(ledgers_[i], ledger::Table::Statements);
  }
  s.work_rows -= work_before_;
  s.receipts_logged -= receipts_before_;
  auto totals = add_up(steps);
  auto& hub = network_.hub();
  s.steps = steps.size();
  s.stages = o.stages;
  s.replicas = o.replicas;
  s.codec = o.codec;
  s.run = hub.manifest().run_id;
  s.losses = std::move(totals.losses);
  s.step_seconds = std::move(totals.seconds);
  s.tokens_per_s = totals.tokens_per_s;
  s.bytes_per_token = totals.bytes_per_token;
  s.tally = hub.tally();
  s.receipts_expected = static_cast<std::int64_t>(steps.size()) * o.train.micro_batches * 2 * (o.stages - 1);
  s.peers = static_cast<int>(ledgers_.size());
  s.killed = killed_.has_value();
  s.inference = std::move(inference);
  s.ledger = ledgers_.front();
  s.hub = hub.url();
  s.gateway = hub.gateway_url();
  s.epoch_seconds = o.epoch_seconds;
  s.epochs_settled = hub.settlement()->open_epoch() - 1;
  s.model = o.model;
  return s;
}

void DemoRun::serve(const std::atomic<bool>& stop) {
  while (!stop) {
    if (auto message = network_.check_children()) throw std::runtime_error(*message);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  network_.stop();
}

}  // namespace tessera::demo
