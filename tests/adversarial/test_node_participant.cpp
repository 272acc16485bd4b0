// A hostile replica on the route: a member with a fresh wallet joins as a second replica of
// stage 0, answers the driver's Ping in step, and so gets a micro-batch of a live step attempt,
// which tells it the attempt id, the step and the route. It holds that Forward (the driver waits)
// while it sends, to the honest nodes, what only the step's driver or a replica of the same stage
// may send, then fails the micro-batch. Each test starts its own `demo --serve` (3 stages, one
// replica each) and checks that (a) training goes on, (b) nothing leaked, (c) nothing credited.
#include <QtTest>

#include <cmath>
#include <sstream>

#include "core/wallet/encoding.h"
#include "tests/adversarial/hostile_member.h"
#include "tests/adversarial/local_swarm.h"
#include "tests/adversarial/swarm_checks.h"

using namespace tessera;
using namespace tessera::adversarial;
using namespace std::chrono_literals;

namespace {

// How long the driver takes to send its own micro-batches on after the one it gave the attacker:
// the honest stages are then inside the live attempt.
constexpr auto kLetTheAttemptRun = 300ms;
constexpr std::uint64_t kFutureAttempts = 1000;  // a node remembers at most 1000 aborted attempts

}  // namespace

class TestAdversarialNodeParticipant : public QObject {
  Q_OBJECT

  std::unique_ptr<LocalSwarm> swarm_;
  std::unique_ptr<HostileMember> attacker_;

  void check_served_and_uncredited() {
    ADVERSARIAL_CHECK(check_nodes_answer(attacker_->links()));
    ADVERSARIAL_CHECK(check_training_continues(*swarm_, "after the attack"));
    ADVERSARIAL_CHECK(check_nothing_credited(*swarm_, {attacker_->peer().owner()}));
  }

  // The driver's suspicion lines about `peer` ("leaving peer <key> out …") logged after `from`,
  // waiting up to 10 s for the driver to log any suspicion at all.
  static std::vector<std::string> suspicions(const HonestNode& driver, std::uintmax_t from, const wallet::PublicKey& peer) {
    const auto prefix = wallet::to_hex(peer).substr(0, 12);
    const auto scan = [&](bool any) {
      std::vector<std::string> lines;
      std::istringstream log(read_from(driver.log(), from));
      for (std::string line; std::getline(log, line);) {
        const bool suspicion = line.find("leav") != std::string::npos || line.find("suspect") != std::string::npos ||
                               line.find(" out") != std::string::npos;
        // The peer left out is the one after "leaving peer"; the reason may name others.
        if (suspicion && (any || line.find("leaving peer " + prefix) != std::string::npos)) lines.push_back(line);
      }
      return lines;
    };
    const auto until = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < until && scan(true).empty()) std::this_thread::sleep_for(200ms);
    std::this_thread::sleep_for(1s);  // and whatever else that failure made it log
    return scan(false);
  }

  // Takes part in the next step and returns the micro-batch it was given, held until release().
  std::optional<ForwardSeen> join_a_live_attempt() {
    attacker_->server().take_part();
    return attacker_->server().wait_for_forward(30s);
  }

 private Q_SLOTS:
  void init() {
    swarm_ = std::make_unique<LocalSwarm>();
    std::string why;
    QVERIFY2(swarm_->start(why), why.c_str());
    attacker_ = std::make_unique<HostileMember>(swarm_->hub_url());
    QVERIFY2(attacker_->enter(why), why.c_str());
  }

  void cleanup() {
    attacker_.reset();
    swarm_.reset();
  }

  // The baseline the attacks below build on: a replica that merely fails the micro-batch it was
  // given (an Error naming nobody) is left out by the driver, and training goes on without it.
  // When this fails, the harness is broken, not a defence.
  void baselineFailingReplicaIsLeftOut() {
    const auto* driver = swarm_->honest_node(attacker_->link_to_stage(0).target().key);
    QVERIFY(driver);
    const auto log_from = file_size_or_zero(driver->log());
    const auto seen = join_a_live_attempt();
    QVERIFY2(seen, "the driver never routed a micro-batch through the hostile replica");
    attacker_->server().release();
    const auto blamed = suspicions(*driver, log_from, attacker_->key());
    QVERIFY2(!blamed.empty(), ("the driver's log does not show it leaving out the replica that failed it; it logged:\n" +
                               read_from(driver->log(), log_from).substr(0, 3000))
                                  .c_str());
    check_served_and_uncredited();
  }

  // Abort is the driver's: a replica that learnt the live attempt id aborts the next thousand
  // (the ids the driver will try next). No honest node may take them, and training goes on.
  void abortForFutureAttemptsBlocksNothing() {
    const auto seen = join_a_live_attempt();
    QVERIFY2(seen, "the driver never routed a micro-batch through the hostile replica");
    std::uint64_t acknowledged = 0;
    for (auto& link : attacker_->links()) {
      for (std::uint64_t i = 1; i <= kFutureAttempts; ++i) {
        link->post(link->header(net::MessageKind::Abort, seen->step), net::AttemptRequest{seen->attempt + i}.encode());
        if (i % 100 == 0)
          for (const auto& answer : link->drain(20ms)) acknowledged += answer.kind() == net::MessageKind::Ack;
      }
    }
    attacker_->server().release();
    for (auto& link : attacker_->links())
      for (const auto& answer : link->drain(1000ms)) acknowledged += answer.kind() == net::MessageKind::Ack;
    QVERIFY2(acknowledged == 0, ("honest nodes acknowledged " + std::to_string(acknowledged) +
                                 " Aborts of future attempts from a replica that is not the step's driver")
                                    .c_str());
    check_served_and_uncredited();
  }

  // GradFetch is for replicas of the same stage: the attacker (stage 0) asks the later stages for
  // their gradient of the live attempt and gets none.
  void gradFetchFromNonReplicaGetsNoGradient() {
    const auto seen = join_a_live_attempt();
    QVERIFY2(seen, "the driver never routed a micro-batch through the hostile replica");
    std::this_thread::sleep_for(kLetTheAttemptRun);
    std::vector<std::string> leaked;
    for (auto& link : attacker_->links()) {
      if (link->target().stage == attacker_->peer().stage()) continue;
      const auto answer = link->ask(link->header(net::MessageKind::GradFetch, seen->step),
                                    net::AttemptRequest{seen->attempt}.encode(), 3s);
      if (answer && answer->kind() == net::MessageKind::Gradient)
        leaked.push_back("stage " + std::to_string(link->target().stage) + " sent " +
                         std::to_string(answer->envelope ? answer->envelope->blob.size() : 0) + " gradient bytes");
    }
    attacker_->server().release();
    QVERIFY2(leaked.empty(), ("a member of another stage fetched a gradient: " + first_of(leaked)).c_str());
    check_served_and_uncredited();
  }

  // Step is the driver's commit: a replica on the route sends it with its own norm to the later
  // stages. They must refuse it (an Ack means that stage stepped alone: the stages, or the
  // replicas of one stage, no longer hold the same step), and the losses stay finite.
  void stepFromNonDriverIsRefused() {
    const auto seen = join_a_live_attempt();
    QVERIFY2(seen, "the driver never routed a micro-batch through the hostile replica");
    std::this_thread::sleep_for(kLetTheAttemptRun);
    std::vector<std::string> stepped;
    for (auto& link : attacker_->links()) {
      if (link->target().stage == 0) continue;  // the driver's own stage
      net::StepRequest commit;
      commit.attempt = seen->attempt;
      commit.norm = 1e-6;  // no clipping: the full step on whatever gradient the stage holds
      const auto answer = link->ask(link->header(net::MessageKind::Step, seen->step), commit.encode(), 3s);
      if (answer && answer->kind() == net::MessageKind::Ack)
        stepped.push_back("stage " + std::to_string(link->target().stage));
    }
    attacker_->server().release();
    QVERIFY2(stepped.empty(), ("took a Step from a replica that is not the step's driver: " +
                               first_of(stepped))
                                  .c_str());
    ADVERSARIAL_CHECK(check_training_continues(*swarm_, "after a forged Step"));
    for (const double loss : swarm_->losses_after(seen->step)) QVERIFY2(std::isfinite(loss), "a loss is not finite");
    check_served_and_uncredited();
  }

  // The hostile replica fails its micro-batch with an Error naming an honest peer (the only
  // stage-1 replica) as the one that failed. The driver cannot prove that and must not leave the
  // victim out; it may leave out the replica that failed it. Suspicion is what the driver's
  // node.log says ("leaving peer <key> out …").
  void errorNamingHonestPeerDoesNotExcludeIt() {
    const auto& stage1 = attacker_->link_to_stage(1).target();
    const auto& driver_target = attacker_->link_to_stage(0).target();
    const auto* driver = swarm_->honest_node(driver_target.key);
    QVERIFY(driver);
    const auto log_from = file_size_or_zero(driver->log());
    attacker_->server().answer_forwards_with(net::ErrorReply{"stage 1 did not answer in time", stage1.key});
    const auto seen = join_a_live_attempt();
    QVERIFY2(seen, "the driver never routed a micro-batch through the hostile replica");
    attacker_->server().release();
    const auto blamed_victim = suspicions(*driver, log_from, stage1.key);
    const bool blamed_hostile = !suspicions(*driver, log_from, attacker_->key()).empty();
    QVERIFY2(blamed_victim.empty(), ("the driver left the honest peer named in the hostile Error out: " +
                                     first_of(blamed_victim))
                                        .c_str());
    QVERIFY2(blamed_hostile, ("the driver's log does not show it leaving out the replica that failed it; it logged:\n" + read_from(driver->log(), log_from).substr(0, 3000))
                                 .c_str());
    ADVERSARIAL_CHECK(check_training_continues(*swarm_, "after an Error naming an honest peer"));
    check_served_and_uncredited();
  }
};

QTEST_GUILESS_MAIN(TestAdversarialNodeParticipant)
#include "test_node_participant.moc"
