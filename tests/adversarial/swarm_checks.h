// What every adversarial test checks after its attack, written once: (a) the swarm still serves
// its honest peers (the demo and every peer alive, each honest node answers a Ping, training
// goes on), and (c) nothing was credited for the attack (the attacker's owners own no units in
// the next settled statement, and no more owners than the honest ones have work in the open
// epoch). What leaked (b) is each attack's own check. They QVERIFY inside: call them through
// ADVERSARIAL_CHECK, which returns from the test function once one has failed.
#pragma once

#include <QtTest>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "tests/adversarial/hostile_peer.h"
#include "tests/adversarial/local_swarm.h"

#define ADVERSARIAL_CHECK(call)              \
  do {                                        \
    call;                                     \
    if (QTest::currentTestFailed()) return;   \
  } while (false)

namespace tessera::adversarial {

// The first of a list of findings for a failure message (QVERIFY2 builds its message whether or
// not the check fails, so it must not touch an empty list).
inline std::string first_of(const std::vector<std::string>& list) { return list.empty() ? std::string() : list.front(); }

// Steps the driver must commit, within the deadline, to count as "training continues". The demo's
// small model commits tens of steps a second on two idle cores; a loaded machine is slower, the
// deadline is generous.
inline constexpr std::uint64_t kStepsThatShowProgress = 10;
inline constexpr std::chrono::seconds kProgressDeadline{30};

inline void check_training_continues(LocalSwarm& swarm, const char* during) {
  const auto from = swarm.step();
  const auto reached = swarm.wait_for_step(from + kStepsThatShowProgress, kProgressDeadline);
  QVERIFY2(swarm.alive(), ("the demo (hub or an honest peer) died " + std::string(during) + ":\n" +
                           swarm.output_tail()).c_str());
  QVERIFY2(reached >= from + kStepsThatShowProgress,
           ("training stalled " + std::string(during) + ": step " + std::to_string(from) + " -> " +
            std::to_string(reached) + " in " + std::to_string(kProgressDeadline.count()) + " s")
               .c_str());
}

inline void check_nodes_answer(std::vector<std::unique_ptr<NodeLink>>& links) {
  for (auto& link : links)
    QVERIFY2(link->answers(),
             ("honest node of stage " + std::to_string(link->target().stage) + " no longer answers").c_str());
}

inline void check_nothing_credited(LocalSwarm& swarm, const std::vector<std::string>& attacker_owners) {
  // The next statement settles everything the hub accepted during the attack.
  const auto settled = swarm.settled_epochs().value_or(0);
  QVERIFY2(swarm.wait_for_settled_epochs(settled + 1, std::chrono::seconds(30)), "no epoch settled after the attack");
  for (const auto& owner : attacker_owners) {
    std::string detail;
    QVERIFY2(!swarm.owns_units(owner, detail), ("the attacker's owner was credited: " + detail).c_str());
  }
  const auto open = swarm.open_epoch();
  const auto with_work = open.value("owners_with_work", std::uint64_t{0});
  QVERIFY2(with_work <= swarm.honest().size(),
           ("more owners than the honest ones have work in the open epoch: " + open.dump()).c_str());
}

}  // namespace tessera::adversarial
