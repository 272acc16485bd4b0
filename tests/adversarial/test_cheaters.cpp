// Cheating nodes in a running swarm (issue #17 "Verified work"): the demo (`tessera-node demo
// --serve`, hub check rate 0.1, the default) trains; an honest extra node (`tessera-cheating-node
// --cheat none`) takes a second stage-0 place, so the cheats that join after it serve stages 1
// and 2, where their neighbours sign what they send; then, in rounds, one node that sends garbage
// activations and one that skips its backward (each a separate `tessera-cheating-node` process with
// a fresh owner) join. Each must take part in committed steps, be caught by the spot checks and
// excluded (its owner credited nothing in the epoch of its exclusion or after), while every honest
// node keeps a clean record (no failed check, no rejected receipt, never excluded, its owner still
// earning) and the swarm goes on training. The steps from a cheat's first committed step to its
// exclusion are printed ("caught after N steps") for docs/verification.md.
#include <QProcess>
#include <QtTest>

#include <chrono>
#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>

#include "core/protocol/hub_api.h"
#include "core/wallet/encoding.h"
#include "tests/adversarial/local_swarm.h"
#include "tests/adversarial/swarm_checks.h"

using namespace tessera;
using namespace tessera::adversarial;
using namespace std::chrono_literals;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

// The slot that failed must have been sampled within this many steps of the cheat's first: at
// q = 0.1 a cheat that serves a slot every step escapes 300 steps with probability 0.9^300 ≈ 2e-14.
// What follows the sampling (receipts, weights, two checkers' heartbeats and recomputes, the
// driver's next peer list) takes seconds, bounded by the deadline; in steps it depends on the step
// rate of the machine, so it is printed, not asserted.
constexpr std::uint64_t kMostStepsToSample = 300;
constexpr auto kCatchDeadline = 150s;
constexpr int kRounds = 2;

std::optional<json> get_json(const std::string& base, const std::string& path) {
  httplib::Client client(base);
  client.set_connection_timeout(5s);
  client.set_read_timeout(10s);
  const auto reply = client.Get(path);
  if (!reply || reply->status != 200) return std::nullopt;
  auto body = json::parse(reply->body, nullptr, false);
  if (body.is_discarded()) return std::nullopt;
  return body;
}

// A node's counters summed over the epochs the hub still reports (GET /api/work?node=).
std::map<std::string, double> work_counters(const std::string& hub, const std::string& node_hex) {
  std::map<std::string, double> total;
  const auto work = get_json(hub, std::string(protocol::hub_api::kWork) + "?node=" + node_hex);
  if (!work || !work->contains("epochs")) return total;
  for (const auto& epoch : work->at("epochs")) {
    const auto counters = epoch.value("counters", json::object());
    for (const auto& [name, value] : counters.items())
      if (value.is_number()) total[name] += value.get<double>();
  }
  return total;
}

double rejected_receipts(const std::map<std::string, double>& counters) {
  double n = 0;
  for (const auto& [name, value] : counters)
    if (name.rfind("rejected:", 0) == 0) n += value;
  return n;
}

struct Exclusion {
  std::uint64_t epoch = 0;
  std::string reason;
  std::uint64_t step = 0;  // the step of the slot whose check failed
};

// Every exclusion event of every published statement: node hex → the epoch and reason.
std::map<std::string, Exclusion> exclusion_epochs(const std::string& hub) {
  std::map<std::string, Exclusion> out;
  const auto latest = get_json(hub, protocol::hub_api::kLatestStatement);
  if (!latest || !latest->contains("epoch")) return out;
  const auto last = latest->at("epoch").get<std::uint64_t>();
  for (std::uint64_t epoch = 0; epoch <= last; ++epoch) {
    const auto statement = epoch == last ? latest : get_json(hub, protocol::hub_api::statement_path(epoch));
    if (!statement) continue;
    const auto events = statement->value("events", json::array());
    for (const auto& event : events)
      if (event.value("kind", "") == "excluded") out[event.value("node", "")] = {epoch, event.value("reason", ""), event.value("step", std::uint64_t{0})};
  }
  return out;
}

// An owner's cumulative units in the statement of `epoch` (0 without a leaf there).
std::uint64_t units_at(const std::string& hub, std::uint64_t epoch, const std::string& owner) {
  const auto proof = get_json(hub, protocol::hub_api::proof_path(epoch, owner));
  return proof ? proof->value("units", std::uint64_t{0}) : 0;
}

// One tessera-cheating-node process, read from its standard output.
class CheatProcess {
 public:
  CheatProcess(std::string cheat, const std::filesystem::path& folder, const std::string& hub)
      : cheat_(std::move(cheat)), folder_(folder) {
    std::filesystem::create_directories(folder_);
    process_.setStandardOutputFile(QString::fromStdString((folder_ / "cheat.out").string()));
    process_.setStandardErrorFile(QString::fromStdString((folder_ / "node.log").string()));
    process_.start(QStringLiteral(TESSERA_CHEATING_NODE_BIN),
                   {"--hub", QString::fromStdString(hub), "--data-dir", QString::fromStdString((folder_ / "data").string()),
                    "--cheat", QString::fromStdString(cheat_)});
  }
  ~CheatProcess() {
    if (process_.state() == QProcess::NotRunning) return;
    process_.terminate();
    if (!process_.waitForFinished(15000)) {
      process_.kill();
      process_.waitForFinished(5000);
    }
  }

  // Reads what the process said so far.
  void read() {
    std::istringstream lines(read_from(folder_ / "cheat.out"));
    std::string line;
    while (std::getline(lines, line)) {
      std::istringstream words(line);
      std::string what;
      words >> what;
      if (what == "node") {
        std::string word;
        words >> key_ >> word >> owner_;
      } else if (what == "stage") {
        int k = -1;
        words >> k;
        stage_ = k;
      } else if (what == "committed") {
        std::uint64_t step = 0;
        words >> step;
        first_committed_ = step;
      } else if (what == "excluded") {
        std::uint64_t step = 0;
        words >> step;
        last_committed_ = step;
        std::getline(words, reason_);
      }
    }
  }

  // Polls read() until `done` holds, the deadline passes or the process ends.
  template <typename Done>
  bool wait(Done&& done, std::chrono::milliseconds deadline) {
    const auto until = Clock::now() + deadline;
    while (Clock::now() < until) {
      read();
      if (done()) return true;
      if (process_.state() == QProcess::NotRunning) {
        read();
        return done();
      }
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }

  const std::string& cheat() const { return cheat_; }
  const std::string& key() const { return key_; }
  const std::string& owner() const { return owner_; }
  std::optional<int> stage() const { return stage_; }
  std::optional<std::uint64_t> first_committed() const { return first_committed_; }
  std::optional<std::uint64_t> excluded_after() const { return last_committed_; }
  const std::string& reason() const { return reason_; }
  std::string log_tail() const {
    const auto text = read_from(folder_ / "node.log");
    return text.size() > 2000 ? text.substr(text.size() - 2000) : text;
  }
  std::string describe() const { return cheat_ + " node " + key_.substr(0, 12) + ": " + read_from(folder_ / "cheat.out"); }

 private:
  std::string cheat_;
  std::filesystem::path folder_;
  QProcess process_;
  std::string key_, owner_, reason_;
  std::optional<int> stage_;
  std::optional<std::uint64_t> first_committed_, last_committed_;
};

}  // namespace

class TestCheaters : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void cheatsAreCaughtAndHonestNodesKeepTheirCredit() {
    LocalSwarm swarm({.stages = 3, .replicas = 1, .epoch_seconds = 2});
    std::string why;
    QVERIFY2(swarm.start(why), why.c_str());
    const auto summary = get_json(swarm.hub_url(), protocol::hub_api::kCheckSummary);
    QVERIFY2(summary && summary->value("rate", 0.0) == 0.1,
             ("the demo's hub does not check at the default rate 0.1: " + (summary ? summary->dump() : "")).c_str());
    QTemporaryDir dir;
    const std::filesystem::path folder = dir.path().toStdString();

    // An honest node of its own owner on stage 0: the cheats go to stages 1 and 2.
    CheatProcess honest("none", folder / "honest", swarm.hub_url());
    QVERIFY2(honest.wait([&] { return honest.first_committed().has_value(); }, 120s),
             ("the honest extra node did not take part: " + honest.describe() + honest.log_tail()).c_str());
    QCOMPARE(*honest.stage(), 0);

    std::vector<std::unique_ptr<CheatProcess>> cheats;
    std::vector<std::uint64_t> garbage_steps, skip_steps;
    for (int round = 0; round < kRounds; ++round) {
      std::vector<CheatProcess*> now;
      for (const char* kind : {"garbage", "skip-backward"}) {
        cheats.push_back(std::make_unique<CheatProcess>(kind, folder / (std::string(kind) + "-" + std::to_string(round)),
                                                        swarm.hub_url()));
        auto& cheat = *cheats.back();
        now.push_back(&cheat);
        // One at a time: the next joins once the hub counts this one on its stage.
        QVERIFY2(cheat.wait([&] { return cheat.stage().has_value(); }, 60s),
                 ("no stage for " + cheat.describe() + cheat.log_tail()).c_str());
        // A garbage sender needs a next stage to sign what it sends, a skipped backward a stage before.
        QVERIFY2(*cheat.stage() >= 1 && (cheat.cheat() != "garbage" || *cheat.stage() < 2),
                 ("a cheat on a stage where its cheat cannot show: " + cheat.describe()).c_str());
      }
      for (auto* cheat : now) {
        QVERIFY2(cheat->wait([&] { return cheat->excluded_after().has_value(); }, kCatchDeadline),
                 ("not excluded within " + std::to_string(kCatchDeadline.count()) + " s: " + cheat->describe() +
                  cheat->log_tail())
                     .c_str());
        QVERIFY2(cheat->first_committed().has_value(),
                 ("excluded before it took part in a committed step: " + cheat->describe()).c_str());
        QVERIFY2(cheat->reason().find("spot check") != std::string::npos,
                 ("excluded for another reason than a failed spot check: " + cheat->describe()).c_str());
        const auto steps = *cheat->excluded_after() - *cheat->first_committed();
        qInfo("round %d: %s node (stage %d) caught after %llu steps (committed steps %llu to %llu)", round,
              cheat->cheat().c_str(), *cheat->stage(), static_cast<unsigned long long>(steps),
              static_cast<unsigned long long>(*cheat->first_committed()),
              static_cast<unsigned long long>(*cheat->excluded_after()));
        (cheat->cheat() == "garbage" ? garbage_steps : skip_steps).push_back(steps);
        const auto counters = work_counters(swarm.hub_url(), cheat->key());
        QVERIFY2(counters.count("credited_receipts") && counters.at("credited_receipts") > 0,
                 ("the hub credited no receipt of the cheat before its exclusion: " + cheat->describe()).c_str());
        QVERIFY2(counters.count("checks_failed") && counters.at("checks_failed") >= 1,
                 ("the hub counts no failed check of the cheat: " + cheat->describe()).c_str());
      }
      // The swarm goes on without them.
      ADVERSARIAL_CHECK(check_training_continues(swarm, "after the cheats were excluded"));
    }

    std::string garbage_list, skip_list;
    for (auto n : garbage_steps) garbage_list += std::to_string(n) + " ";
    for (auto n : skip_steps) skip_list += std::to_string(n) + " ";
    qInfo("steps until caught: garbage activations %s; skipped backward %s", garbage_list.c_str(), skip_list.c_str());

    // The next statement settles the epoch of the last exclusions. Units in a statement are
    // cumulative: a cheat keeps what earlier epochs credited it before it was caught, loses the
    // epoch of its exclusion (forfeited) and earns nothing after. Every honest owner earns on.
    const auto settled = swarm.settled_epochs().value_or(0);
    QVERIFY2(swarm.wait_for_settled_epochs(settled + 1, 30s), "no epoch settled after the exclusions");
    const auto latest = get_json(swarm.hub_url(), protocol::hub_api::kLatestStatement);
    QVERIFY2(latest && latest->contains("epoch"), "no statement published");
    const auto last_epoch = latest->at("epoch").get<std::uint64_t>();
    const auto exclusions = exclusion_epochs(swarm.hub_url());
    std::uint64_t first_exclusion = last_epoch;
    for (const auto& cheat : cheats) {
      const auto found = exclusions.find(cheat->key());
      QVERIFY2(found != exclusions.end(), ("no statement names the exclusion of " + cheat->describe()).c_str());
      const auto epoch = found->second.epoch;
      first_exclusion = std::min(first_exclusion, epoch);
      const auto before = units_at(swarm.hub_url(), epoch - 1, cheat->owner());
      const auto at = units_at(swarm.hub_url(), epoch, cheat->owner());
      const auto now = units_at(swarm.hub_url(), last_epoch, cheat->owner());
      // The slot that failed was sampled when its step committed: the steps until then are the
      // sampler's share of the time to catch, the rest the checks' round trips.
      const auto sampled = found->second.step - std::min(found->second.step, *cheat->first_committed());
      qInfo("%s node %s: its slot of step %llu failed (sampled %llu steps after its first committed step, excluded "
            "after %llu), excluded in epoch %llu (%s); its owner's units: %llu before, %llu after it, %llu in epoch %llu",
            cheat->cheat().c_str(), cheat->key().substr(0, 12).c_str(),
            static_cast<unsigned long long>(found->second.step), static_cast<unsigned long long>(sampled),
            static_cast<unsigned long long>(*cheat->excluded_after() - *cheat->first_committed()),
            static_cast<unsigned long long>(epoch), found->second.reason.c_str(), static_cast<unsigned long long>(before),
            static_cast<unsigned long long>(at), static_cast<unsigned long long>(now),
            static_cast<unsigned long long>(last_epoch));
      QVERIFY2(sampled <= kMostStepsToSample,
               ("the failing slot was sampled only " + std::to_string(sampled) + " steps after the cheat's first: " +
                cheat->describe())
                   .c_str());
      if (at != before)
        qInfo("its counters: %s", json(work_counters(swarm.hub_url(), cheat->key())).dump().c_str());
      QVERIFY2(at == before, ("the owner of a cheat was credited in the epoch of its exclusion: " + cheat->describe()).c_str());
      QVERIFY2(now == at, ("the owner of a cheat was credited after its exclusion: " + cheat->describe()).c_str());
    }
    auto honest_owners = swarm.honest_owners();
    honest.read();
    honest_owners.push_back(honest.owner());
    for (const auto& owner : honest_owners) {
      const auto before = units_at(swarm.hub_url(), first_exclusion - 1, owner);
      const auto now = units_at(swarm.hub_url(), last_epoch, owner);
      QVERIFY2(now > before, ("an honest owner earned nothing since the first exclusion: " + owner + " " +
                              std::to_string(before) + " -> " + std::to_string(now))
                                 .c_str());
    }

    // Honest nodes: never excluded, no failed check, no rejected receipt.
    std::vector<std::string> honest_keys{honest.key()};
    for (const auto& node : swarm.honest()) honest_keys.push_back(wallet::to_hex(node.key));
    std::set<std::string> cheat_keys;
    for (const auto& cheat : cheats) cheat_keys.insert(cheat->key());
    for (const auto& [node, exclusion] : exclusions)
      QVERIFY2(cheat_keys.count(node), ("an honest node was excluded: " + node + ": " + exclusion.reason).c_str());
    for (const auto& key : honest_keys) {
      const auto counters = work_counters(swarm.hub_url(), key);
      QVERIFY2(counters.count("credited_receipts") && counters.at("credited_receipts") > 0,
               ("an honest node has no credited receipts: " + key).c_str());
      QVERIFY2(counters.count("checks_failed") == 0 || counters.at("checks_failed") == 0,
               ("an honest node failed a check: " + key).c_str());
      QVERIFY2(rejected_receipts(counters) == 0, ("an honest node has rejected receipts: " + key).c_str());
    }
    honest.read();
    QVERIFY2(!honest.excluded_after(), ("the honest extra node was excluded: " + honest.describe()).c_str());
    ADVERSARIAL_CHECK(check_training_continues(swarm, "at the end"));
  }
};

QTEST_GUILESS_MAIN(TestCheaters)
#include "test_cheaters.moc"
