// Hostile requests to honest nodes from a member that is on no route: it joined the run with a
// fresh wallet (anyone may), and sends what only the step driver, the hub or a replica of the
// same stage may send, plus malformed messages of every kind. Each test starts its own
// `demo --serve` (3 stages, one replica each) and checks that (a) training goes on and every
// honest node still answers, (b) the attacker got no state chunk, logits or gradient, and (c)
// nothing it collected is credited.
#include <QtTest>

#include <cstring>
#include <limits>
#include <random>

#include "core/protocol/little_endian.h"
#include "tests/adversarial/hostile_member.h"
#include "tests/adversarial/local_swarm.h"
#include "tests/adversarial/swarm_checks.h"

using namespace tessera;
using namespace tessera::adversarial;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

bool leaks(net::MessageKind kind) {
  return kind == net::MessageKind::StateChunk || kind == net::MessageKind::Logits ||
         kind == net::MessageKind::Gradient || kind == net::MessageKind::Backward;
}

std::string describe(const Answer& answer) {
  std::string text = net::kind_name(answer.kind());
  if (answer.envelope) text += " " + answer.envelope->meta.dump().substr(0, 200);
  return text;
}

// u32 little-endian meta length ‖ meta text: an envelope whose meta is `meta` as written.
std::vector<std::uint8_t> envelope_bytes(const std::string& meta) {
  std::vector<std::uint8_t> out(4 + meta.size());
  protocol::put_le(out.data(), static_cast<std::uint32_t>(meta.size()));
  std::memcpy(out.data() + 4, meta.data(), meta.size());
  return out;
}

// One valid-looking envelope of every message kind, from the project's own encoders: the garbage
// test spoils their fields one by one.
std::vector<std::pair<net::MessageKind, net::Envelope>> samples(const RunShape& run, const wallet::PublicKey& self,
                                                                const std::vector<net::Hop>& route) {
  using K = net::MessageKind;
  const net::Hop hop = route.empty() ? net::Hop{self, kNowhere} : route.front();
  std::vector<std::pair<K, net::Envelope>> out;
  out.emplace_back(K::Forward, forward(7, self, run, 1, route));
  out.emplace_back(K::Backward, net::BackwardReply{7, 1.5, 10, std::string("00"), {"00"}, {0, 0, 0, 0}}.encode());
  out.emplace_back(K::Receipt, net::Envelope{{{"receipt", "00"}}, {1, 2, 3}});
  out.emplace_back(K::StateRequest, net::StateRequest{0, 0, {}}.encode());
  out.emplace_back(K::StateChunk, net::StateChunk{5, 0, 4, {1, 2, 3, 4}}.encode());
  out.emplace_back(K::Ping, ping());
  out.emplace_back(K::Pong, net::PongReply{3, false}.encode());
  out.emplace_back(K::Error, net::ErrorReply{"no", self}.encode());
  out.emplace_back(K::GradNorm, net::GradNormReply{7, 2.0, {0, 0, 0, 0}}.encode());
  out.emplace_back(K::Reduce, net::ReduceRequest{7, {hop}, true, {"00"}}.encode());
  out.emplace_back(K::GradFetch, net::AttemptRequest{7}.encode());
  out.emplace_back(K::Gradient, net::Envelope{nlohmann::json::object(), {0, 0, 128, 63}});
  out.emplace_back(K::Step, net::StepRequest{7, 1.0, 2.0, 3.0, 4.0}.encode());
  out.emplace_back(K::Abort, net::AttemptRequest{7}.encode());
  out.emplace_back(K::Ack, net::AckReply{0.1}.encode());
  out.emplace_back(K::Infer, infer(run, 1, route));
  out.emplace_back(K::Logits, net::Envelope{nlohmann::json::object(), {0, 0, 128, 63}});
  out.emplace_back(K::SharedGradient, net::SharedGradientRequest{7, {1.0f, 2.0f}}.encode());
  // PowerSGD's parts (core/model/power_sgd.h): asked for by a stranger, with a basis of any size.
  out.emplace_back(K::GradFetch, net::GradFetchRequest{7, "", net::GradPart::first, {}}.encode());
  out.emplace_back(K::GradFetch, net::GradFetchRequest{7, "", net::GradPart::second, std::vector<float>(4096, 1.0f)}.encode());
  out.emplace_back(K::SharedGradient, net::SharedGradientRequest{7, {0.5f, 1.0f}, net::SharedPart::second}.encode());
  out.emplace_back(K::SharedGradient, net::SharedGradientRequest{7, {0.5f, 1.0f, 2.0f}, net::SharedPart::low_rank, 2}.encode());
  return out;
}

// Values of every JSON type and the edges of the number types a decoder might trust.
std::vector<nlohmann::json> bad_values() {
  return {"x", -1, 1.5, 1e308, std::numeric_limits<std::uint64_t>::max(), std::numeric_limits<std::int64_t>::min(),
          nullptr, true, nlohmann::json::array(), nlohmann::json::object(), nlohmann::json::parse(R"([[["deep"]]])"),
          std::string(10000, 'z')};
}

}  // namespace

class TestAdversarialNodeRequests : public QObject {
  Q_OBJECT

  std::unique_ptr<LocalSwarm> swarm_;
  std::unique_ptr<HostileMember> attacker_;

  // Every test ends with the same two checks: honest peers still served, nothing credited.
  void check_served_and_uncredited() {
    ADVERSARIAL_CHECK(check_nodes_answer(attacker_->links()));
    ADVERSARIAL_CHECK(check_training_continues(*swarm_, "after the attack"));
    ADVERSARIAL_CHECK(check_nothing_credited(*swarm_, {attacker_->peer().owner()}));
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

  // A Forward under an attempt id the driver never started, with a valid payload, at the node's
  // current step: to stage 0 (token ids only, routed on through the honest later stages) and to
  // stage 1 (zero activations). It must not replace the live attempt, and the attacker must get
  // neither a gradient nor a receipt (which it would report to the hub for credit).
  void forwardWithNewAttemptKeepsLiveAttempt() {
    const auto& run = attacker_->run();
    const auto before = swarm_->step();
    std::mt19937_64 random(16);
    std::vector<std::string> answered;
    std::vector<protocol::SignedReceipt> receipts;
    const auto started = Clock::now();
    while (Clock::now() - started < 30s && (Clock::now() - started < 5s || swarm_->step() < before + 2 * kStepsThatShowProgress)) {
      for (const int stage : {0, 1}) {
        auto& link = attacker_->link_to_stage(stage);
        // The node's own step if it tells, else the driver's as the hub publishes it.
        const auto step = link.step().value_or(swarm_->step());
        auto header = link.header(net::MessageKind::Forward, step);
        if (stage > 0) header.shape = boundary_shape(run, run.micro_batch, run.context);
        const auto route = route_after(attacker_->honest(), stage, run.stages);
        const auto answer = link.ask(header, forward(random() | 1, attacker_->key(), run, stage, route), 5s);
        if (!answer) continue;
        if (leaks(answer->kind())) answered.push_back("stage " + std::to_string(stage) + ": " + describe(*answer));
        const auto got = receipts_in(*answer);
        receipts.insert(receipts.end(), got.begin(), got.end());
      }
    }
    const auto reached = swarm_->step();
    const auto credited = attacker_->peer().claim_credit(receipts);
    QVERIFY2(answered.empty(), ("a Forward under an attempt no driver started was run for the attacker, " +
                                std::to_string(answered.size()) + " times (the hub then credited " +
                                std::to_string(credited) + " of the " + std::to_string(receipts.size()) +
                                " receipts it got); first: " + first_of(answered))
                                   .c_str());
    QCOMPARE(credited, std::uint64_t{0});
    QVERIFY2(reached >= before + kStepsThatShowProgress,
             ("training stalled under the attack: step " + std::to_string(before) + " -> " + std::to_string(reached)).c_str());
    check_served_and_uncredited();
  }

  // A Ping that claims step 2^64 − 1 (and 2^63): a node must not take it as proof that it is
  // behind, so the driver keeps driving.
  void pingWithHugeStepDoesNotStopDriver() {
    const auto before = swarm_->step();
    const auto started = Clock::now();
    std::uint64_t reached = before;
    while (Clock::now() - started < 30s && (Clock::now() - started < 5s || reached < before + kStepsThatShowProgress)) {
      for (auto& link : attacker_->links())
        for (const std::uint64_t claim : {std::numeric_limits<std::uint64_t>::max(), std::uint64_t{1} << 63})
          link->ask(link->header(net::MessageKind::Ping, claim), ping(), 2s);
      std::this_thread::sleep_for(50ms);
      reached = swarm_->step();
    }
    QVERIFY2(reached >= before + kStepsThatShowProgress,
             ("training stalled while a member pinged with step 2^64-1: step " + std::to_string(before) + " -> " +
              std::to_string(reached))
                 .c_str());
    check_served_and_uncredited();
  }

  // State is served only to replicas of the same stage: a member of another stage asking for a
  // stage's checkpoint (the model leaving the swarm, stage by stage) gets no chunk of it.
  void stateRequestForAnotherStageGetsNoChunk() {
    const int mine = attacker_->peer().stage();
    int asked = 0;
    for (auto& link : attacker_->links()) {
      if (link->target().stage == mine) continue;
      for (const int claimed : {mine, link->target().stage}) {
        // It shows its own, valid assignment: for its own stage, not the target's.
        const auto answer = link->ask(link->header(net::MessageKind::StateRequest, 0, claimed),
                                      net::StateRequest{0, 0, attacker_->peer().hub().named().assignment}.encode(), 20s);
        ++asked;
        if (answer)
          QVERIFY2(answer->kind() != net::MessageKind::StateChunk,
                   ("stage " + std::to_string(link->target().stage) + " served its state to a member of stage " +
                    std::to_string(mine) + " (claiming stage " + std::to_string(claimed) + "): " + describe(*answer))
                       .c_str());
      }
    }
    QVERIFY(asked >= 2);
    check_served_and_uncredited();
  }

  // Inference is the hub's (metered, paid for): an Infer without the hub's ticket gets no logits,
  // whether it enters at stage 0 and is routed through the honest stages or goes straight to a
  // later one with activations of its own.
  void inferWithoutHubTicketGetsNoLogits() {
    const auto& run = attacker_->run();
    for (auto& link : attacker_->links()) {
      const int stage = link->target().stage;
      auto header = link->header(net::MessageKind::Infer);
      if (stage > 0) header.shape = boundary_shape(run, 1, run.context);
      const auto answer = link->ask(header, infer(run, stage, route_after(attacker_->honest(), stage, run.stages)), 20s);
      if (answer)
        QVERIFY2(answer->kind() != net::MessageKind::Logits,
                 ("stage " + std::to_string(stage) + " answered an Infer without a hub ticket with logits").c_str());
    }
    check_served_and_uncredited();
  }

  // Meta nested 100,000 levels deep, in the request id the node echoes and elsewhere, under the
  // header of every message kind: dropped or refused, never a crash.
  void deeplyNestedMetaDoesNotCrashNode() {
    const std::string open(100000, '['), close(100000, ']');
    const std::vector<std::string> metas{R"({"request":)" + open + close + "}", R"({"attempt":1,"route":)" + open + close + "}",
                                         R"({"request":)" + open};
    for (auto& link : attacker_->links()) {
      for (const auto& meta : metas) {
        const auto payload = envelope_bytes(meta);
        for (int kind = 1; kind <= static_cast<int>(net::MessageKind::SharedGradient); ++kind)
          link->post_raw(link->header(static_cast<net::MessageKind>(kind)), payload);
      }
      for (const auto& answer : link->drain(1000ms))
        QVERIFY2(!leaks(answer.kind()), ("a deeply nested request was answered with " + describe(answer)).c_str());
    }
    QVERIFY2(swarm_->alive(), ("a node died of deeply nested meta:\n" + swarm_->output_tail()).c_str());
    check_served_and_uncredited();
  }

  // Garbage of every message kind from an admitted key: random bytes, an empty payload, each
  // field of a valid envelope replaced by values of every JSON type, a random blob, another run's
  // id. The node refuses or drops each, keeps serving, and answers none with state, logits or a
  // gradient.
  void garbageOfEveryKindIsDropped() {
    const auto& run = attacker_->run();
    std::mt19937 random(16);
    std::size_t sent = 0;
    std::vector<std::string> leaked;
    for (auto& link : attacker_->links()) {
      const auto route = route_after(attacker_->honest(), link->target().stage, run.stages);
      const auto flush = [&] {
        for (const auto& answer : link->drain(50ms))
          if (leaks(answer.kind())) leaked.push_back(describe(answer));
      };
      for (const auto& [kind, sample] : samples(run, attacker_->key(), route)) {
        const auto header = link->header(kind);
        std::vector<std::uint8_t> noise(1 + random() % 4096);
        for (auto& byte : noise) byte = static_cast<std::uint8_t>(random());
        link->post_raw(header, noise);
        link->post_raw(header, {});
        for (const auto& field : sample.meta.items()) {
          for (const auto& value : bad_values()) {
            auto spoiled = sample;
            spoiled.meta[field.key()] = value;
            link->post(header, spoiled);
            sent += 1;
          }
          flush();
        }
        auto blob = sample;
        blob.blob = noise;
        link->post(header, blob);
        auto other_run = header;
        other_run.run_id = "another-run";
        link->post(other_run, sample);
        sent += 4;
        flush();
      }
      for (const auto& answer : link->drain(1000ms))
        if (leaks(answer.kind())) leaked.push_back(describe(answer));
    }
    QVERIFY(sent > 500);
    QVERIFY2(leaked.empty(), ("garbage was answered with state, logits or gradients " + std::to_string(leaked.size()) +
                              " times; first: " + first_of(leaked))
                                 .c_str());
    QVERIFY2(swarm_->alive(), ("a node died of garbage:\n" + swarm_->output_tail()).c_str());
    check_served_and_uncredited();
  }
};

QTEST_GUILESS_MAIN(TestAdversarialNodeRequests)
#include "test_node_requests.moc"
