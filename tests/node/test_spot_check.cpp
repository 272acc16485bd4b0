// Spot checks on the nodes (docs/verification.md "On the nodes"), with real processes: three
// nodes in this process train a three-stage run for a few steps and then idle, serving. A checker
// in another process (this program started again with --check) presents a hub-signed check ticket
// for a committed slot of the middle stage, fetches the worker's evidence over CurveZMQ
// (CheckFetch) and recomputes the stage: its forward and backward digests are exactly the ones the
// worker's neighbours signed in their receipts, bit for bit. A ticket the evidence does not match
// (other weights, another micro-batch's input) gives EvidenceMismatch; a slot the worker no longer
// holds, or a ticket naming another checker, Unavailable. And in process: a worker that sent
// garbage activations got receipts over the garbage, which the honest recompute does not give.
#include <QProcess>
#include <QtTest>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <thread>

#include <zmq.hpp>

#include "core/engine/stage.h"
#include "core/hub/hub_service.h"
#include "core/ledger/reader.h"
#include "core/model/data.h"
#include "core/net/curve.h"
#include "core/node/swarm/check_recompute.h"
#include "core/node/swarm/evidence_transfer.h"
#include "core/node/swarm/run_context.h"
#include "core/node/swarm/slot_digests.h"
#include "core/node/swarm/spot_checker.h"
#include "core/node/swarm_node.h"
#include "core/protocol/unix_time.h"
#include "core/wallet/encoding.h"
#include "tests/support/running_node.h"
#include "tests/support/tiny_manifest.h"

using namespace tessera;
using test::RunningNode;
using test::wait_until;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

constexpr std::uint64_t kSteps = 3;

// The checker process: reads its job (manifest, key, worker, ticket) and prints its report.
int run_checker(const char* job_file) {
  std::ifstream in(job_file);
  const auto job = json::parse(in);
  const auto seed = wallet::from_hex(job.at("seed").get<std::string>());
  const auto key = wallet::KeyPair::from_seed(*seed);
  node::SwarmNodeOptions options;
  options.hop_timeout = 4000ms;
  node::swarm::RunContext run(key, options);
  run.manifest = protocol::manifest_from_json(job.at("manifest"));
  run.codec = model::parse_codec(run.manifest.codec);
  run.curve = net::curve_keys_from(key);
  zmq::context_t context(1);
  node::swarm::PeerCalls calls(context, run.curve, key.public_key(), [](net::MessageHeader, const net::Envelope&) -> node::swarm::Reply {
    throw std::logic_error("the checker serves nothing");
  });
  const net::Hop worker{*wallet::fixed_from_hex<32>(job.at("worker").get<std::string>()), job.at("endpoint").get<std::string>()};
  node::swarm::SpotChecker checker(
      run, calls, [&](const wallet::PublicKey& k) -> std::optional<net::Hop> { return k == worker.key ? std::optional(worker) : std::nullopt; },
      [](const protocol::CheckReport&) {});
  const auto report = checker.check(job.at("ticket").get<std::string>());
  std::cout << "report " << (report ? protocol::to_json(*report).dump() : std::string("null")) << std::endl;
  return 0;
}

}  // namespace

class TestSpotCheck : public QObject {
  Q_OBJECT

 private:
  wallet::KeyPair publisher_ = wallet::KeyPair::generate();  // also the hub key tickets are signed with
  wallet::KeyPair owner_ = wallet::KeyPair::generate();
  wallet::KeyPair checker_ = wallet::KeyPair::generate();
  protocol::RunManifest manifest_;
  QTemporaryDir dir_;
  std::unique_ptr<hub::HubService> hub_;
  RunningNode nodes_[3];
  std::vector<protocol::SignedReceipt> receipts_;  // every node's logged receipts

  void start(RunningNode& running, const std::string& name) {
    node::SwarmNodeOptions options;
    options.hub_url = hub_->url();
    options.data_dir = dir_.filePath(QString::fromStdString(name)).toStdString();
    options.threads = 1;
    options.heartbeat_every = 200ms;
    options.hop_timeout = 4000ms;
    running.launch(owner_, options);
  }

  const RunningNode& at_stage(int stage) const {
    for (const auto& n : nodes_)
      if (n.node->stage() == stage) return n;
    throw std::logic_error("no node at that stage");
  }

  // The receipt for `direction` of (step, micro-batch) sent by `sender`.
  std::optional<protocol::Receipt> receipt(protocol::Direction direction, const wallet::PublicKey& sender,
                                           std::uint64_t step, std::uint32_t micro_batch) const {
    for (const auto& r : receipts_)
      if (r.receipt.direction == direction && r.receipt.sender == sender && r.receipt.step == step &&
          r.receipt.micro_batch == micro_batch)
        return r.receipt;
    return std::nullopt;
  }

  // The hub's ticket for the middle stage's work on (step, micro-batch), as the hub would issue it
  // from the receipts the worker signed as receiver and the weights digest it reported.
  protocol::CheckTicket ticket_for(std::uint64_t step, std::uint32_t micro_batch, const protocol::PayloadDigest& weights) const {
    const auto& worker = at_stage(1).key.public_key();
    protocol::CheckTicket t;
    t.run_id = manifest_.run_id;
    t.check_id = step * 100 + micro_batch + 1;
    t.step = step;
    t.micro_batch = micro_batch;
    t.micro_batches = static_cast<std::uint32_t>(manifest_.train.micro_batches);
    t.stage = 1;
    t.worker = worker;
    t.checker = checker_.public_key();
    t.weights = weights;
    const auto data = model::DataSource::from_spec("arithmetic", manifest_.model.context, manifest_.model.seed);
    const auto tokens = data.micro_batch(static_cast<std::int64_t>(step), static_cast<int>(micro_batch),
                                         manifest_.train.micro_batches, manifest_.train.micro_batch_size);
    t.tokens = protocol::tokens_digest(tokens);
    t.forward_in = receipt(protocol::Direction::Forward, at_stage(0).key.public_key(), step, micro_batch)->payload_hash;
    t.backward_in = receipt(protocol::Direction::Backward, at_stage(2).key.public_key(), step, micro_batch)->payload_hash;
    t.issued_ms = protocol::unix_now_ms();
    t.expires_ms = t.issued_ms + protocol::kCheckLifetimeMs;
    return t;
  }

  // The checker process's report for `ticket`.
  std::optional<protocol::CheckReport> check_elsewhere(const protocol::CheckTicket& ticket,
                                                       const wallet::KeyPair& hub_key) {
    const auto& worker = at_stage(1);
    json job{{"seed", wallet::to_hex(checker_.seed())},
             {"manifest", protocol::to_json(manifest_)},
             {"worker", wallet::to_hex(worker.key.public_key())},
             {"endpoint", worker.node->endpoint()},
             {"ticket", protocol::sign_check_ticket(ticket, hub_key).to_hex()}};
    const auto file = dir_.filePath("job.json").toStdString();
    std::ofstream(file) << job.dump();
    QProcess process;
    process.start(QString::fromStdString(std::filesystem::canonical("/proc/self/exe").string()),
                  {"--check", QString::fromStdString(file)});
    if (!process.waitForFinished(60000) || process.exitCode() != 0) {
      qWarning("checker process failed: %s", process.readAllStandardError().constData());
      return std::nullopt;
    }
    const auto text = process.readAllStandardOutput().toStdString();  // its log lines, then the report
    const auto at = text.rfind("report ");
    if (at == std::string::npos) return std::nullopt;
    const auto out = json::parse(text.substr(at + 7));
    if (out.is_null()) return std::nullopt;
    return protocol::check_report_from_json(out);
  }

 private Q_SLOTS:
  void initTestCase() {
    manifest_ = test::tiny_two_stage_manifest("spot-check-test");
    manifest_.model.layers = 3;
    manifest_.stages = 3;
    manifest_.codec = "none";
    manifest_.train.micro_batches = 2;
    manifest_.train.total_steps = static_cast<std::int64_t>(kSteps);  // then the nodes idle, serving
    manifest_.hub_key = publisher_.public_key();
    protocol::sign_manifest(manifest_, publisher_);
    hub::HubOptions hub_options;
    hub_options.heartbeat_timeout = 10min;  // the listed checker does not heartbeat
    hub_ = std::make_unique<hub::HubService>(manifest_, hub_options);
    hub_->start();
    for (int i = 0; i < 3; ++i) {
      start(nodes_[i], "node-" + std::to_string(i));
      QVERIFY(wait_until([&] { return nodes_[i].node->stage() == i && !nodes_[i].node->status().state.empty() &&
                                      nodes_[i].node->status().state != "joining"; },
                         60s));
    }
    for (auto& n : nodes_)
      QVERIFY2(wait_until([&] { return n.node->stats().committed_steps >= kSteps; }, 120s), "the nodes do not train");
    std::this_thread::sleep_for(500ms);  // the last step's rows are durable
    for (auto& n : nodes_) {
      ledger::LedgerReader log(n.node->ledger_path());
      for (const auto& row : log.page(ledger::Table::Receipts, 0, 1000))
        receipts_.push_back(*protocol::SignedReceipt::decode(std::get<ledger::ReceiptRecord>(row.record).raw));
    }
    // The checker is a member the hub lists (so the worker's allowlist admits it).
    hub::Peer listed;
    listed.node_key = checker_.public_key();
    listed.owner = "checker";
    listed.endpoint = "tcp://127.0.0.1:1";
    listed.stage = 0;
    listed.last_seen = hub::Clock::now();
    hub_->directory().upsert(listed);
    std::this_thread::sleep_for(1000ms);
  }

  // The worker's evidence fetched here, by the checker's key, with `ticket` as its credential.
  net::CheckEvidence fetch_here(const protocol::CheckTicket& ticket, const wallet::KeyPair& hub_key) {
    const auto& worker = at_stage(1);
    node::SwarmNodeOptions options;
    options.hop_timeout = 4000ms;
    node::swarm::RunContext run(checker_, options);
    run.manifest = manifest_;
    run.curve = net::curve_keys_from(checker_);
    zmq::context_t context(1);
    node::swarm::PeerCalls calls(context, run.curve, checker_.public_key(),
                                 [](net::MessageHeader, const net::Envelope&) -> node::swarm::Reply {
                                   throw std::logic_error("the checker serves nothing");
                                 });
    const auto hex = protocol::sign_check_ticket(ticket, hub_key).to_hex();
    return net::CheckEvidence::decode(
        node::swarm::download_evidence(run, calls, {worker.key.public_key(), worker.node->endpoint()}, ticket, hex));
  }

  // What the worker reports to the hub as its weights at the start of `step` (POST /api/weights):
  // the digest of the parameters it hands out as evidence for that step.
  protocol::PayloadDigest reported_weights(std::uint64_t step) {
    return protocol::weights_digest(fetch_here(ticket_for(step, 0, {}), publisher_).parameters);
  }

  void honestWorkRecomputesBitForBit() {
    const auto& worker = at_stage(1).key.public_key();
    for (std::uint64_t step = 0; step < kSteps; ++step)
      for (std::uint32_t micro_batch = 0; micro_batch < 2; ++micro_batch) {
        const auto forward_out = receipt(protocol::Direction::Forward, worker, step, micro_batch);
        const auto backward_out = receipt(protocol::Direction::Backward, worker, step, micro_batch);
        QVERIFY2(forward_out && backward_out, "the worker's neighbours signed no receipts for the slot");
        const auto report = check_elsewhere(ticket_for(step, micro_batch, reported_weights(step)), publisher_);
        QVERIFY(report.has_value());
        QVERIFY2(report->status == protocol::CheckStatus::Computed, report->reason.c_str());
        QVERIFY(report->forward_out && *report->forward_out == forward_out->payload_hash);
        QVERIFY(report->backward_out && *report->backward_out == backward_out->payload_hash);
      }
  }

  void weightsDigestsDifferFromStepToStep() {
    QVERIFY(reported_weights(0) != reported_weights(1));
    QVERIFY(reported_weights(1) != reported_weights(2));
  }

  void evidenceThatDoesNotMatchTheTicketIsAMismatch() {
    // Weights other than those reported for the step (here: the next step's).
    const auto other_weights = check_elsewhere(ticket_for(1, 0, reported_weights(2)), publisher_);
    QVERIFY(other_weights.has_value());
    QCOMPARE(static_cast<int>(other_weights->status), static_cast<int>(protocol::CheckStatus::EvidenceMismatch));
    QVERIFY2(other_weights->reason.find("weights") != std::string::npos, other_weights->reason.c_str());
    QVERIFY(!other_weights->forward_out && !other_weights->backward_out);
    // An input other than the one the worker signed for (micro-batch 0's Forward for micro-batch 1).
    auto ticket = ticket_for(1, 1, reported_weights(1));
    ticket.forward_in = ticket_for(1, 0, {}).forward_in;
    const auto other_input = check_elsewhere(ticket, publisher_);
    QVERIFY(other_input.has_value());
    QCOMPARE(static_cast<int>(other_input->status), static_cast<int>(protocol::CheckStatus::EvidenceMismatch));
    QVERIFY2(other_input->reason.find("Forward") != std::string::npos, other_input->reason.c_str());
    // Token ids other than the step record's.
    ticket = ticket_for(1, 1, reported_weights(1));
    ticket.tokens = ticket_for(1, 0, {}).tokens;
    const auto other_tokens = check_elsewhere(ticket, publisher_);
    QVERIFY(other_tokens.has_value());
    QCOMPARE(static_cast<int>(other_tokens->status), static_cast<int>(protocol::CheckStatus::EvidenceMismatch));
  }

  void evidenceNoLongerHeldIsUnavailable() {
    auto ticket = ticket_for(1, 0, reported_weights(1));
    ticket.step = 40;  // never committed here
    const auto report = check_elsewhere(ticket, publisher_);
    QVERIFY(report.has_value());
    QCOMPARE(static_cast<int>(report->status), static_cast<int>(protocol::CheckStatus::Unavailable));
    QVERIFY2(report->reason.find("no longer holds") != std::string::npos, report->reason.c_str());
  }

  void onlyTheHubsCheckerGetsEvidence() {
    const auto ticket = ticket_for(1, 0, {});
    QVERIFY(fetch_here(ticket, publisher_).parameters.size() > 0);
    // Signed by someone else than the hub.
    QVERIFY_THROWS_EXCEPTION(node::swarm::PeerFailure, fetch_here(ticket, owner_));
    // Naming another checker (the one presenting it is not the one the hub chose).
    auto other = ticket;
    other.checker = owner_.public_key();
    QVERIFY_THROWS_EXCEPTION(node::swarm::PeerFailure, fetch_here(other, publisher_));
    // Naming another worker.
    other = ticket;
    other.worker = at_stage(2).key.public_key();
    QVERIFY_THROWS_EXCEPTION(node::swarm::PeerFailure, fetch_here(other, publisher_));
    // Expired.
    other = ticket;
    other.issued_ms -= 2 * protocol::kCheckLifetimeMs;
    other.expires_ms -= 2 * protocol::kCheckLifetimeMs;
    QVERIFY_THROWS_EXCEPTION(node::swarm::PeerFailure, fetch_here(other, publisher_));
    // A checker does nothing with a ticket the hub did not sign or that names another checker.
    QVERIFY(!check_elsewhere(ticket_for(1, 0, {}), owner_).has_value());
    other = ticket_for(1, 0, {});
    other.checker = owner_.public_key();
    QVERIFY(!check_elsewhere(other, publisher_).has_value());
  }

  // A worker that sends garbage activations gets receipts over the garbage from its neighbour; the
  // honest recompute from its (true) evidence gives other digests, which the hub compares.
  void garbageActivationsDifferFromTheRecompute() {
    auto manifest = manifest_;
    manifest.stages = 2;
    engine::StageOptions options;
    options.model = manifest.model;
    options.train = manifest.train;
    options.stage_count = 2;
    options.codec = model::CodecKind::none;
    engine::Stage first(options);
    const auto data = model::DataSource::from_spec("arithmetic", manifest.model.context, manifest.model.seed);
    engine::ForwardMessage input;
    input.batch = manifest.train.micro_batch_size;
    input.sequence = manifest.model.context;
    input.tokens = data.micro_batch(0, 0, manifest.train.micro_batches, input.batch);
    auto honest = first.forward(input).output.activations;
    auto garbage = honest;
    for (auto& byte : garbage.bytes) byte = static_cast<std::uint8_t>(byte ^ 0x01);
    const auto signed_by_neighbour = node::swarm::forward_digest_of(garbage, input.tokens);

    net::CheckEvidence evidence;
    evidence.stage = 0;
    evidence.parameters = first.parameter_vector();
    evidence.batch = input.batch;
    evidence.sequence = input.sequence;
    evidence.tokens = input.tokens;
    engine::StageOptions next = options;
    next.stage_index = 1;
    engine::Stage second(next);
    auto received = first.forward([&] { auto again = input; again.micro_batch = 1; return again; }()).output;
    second.forward(received);
    evidence.backward = second.backward(received.micro_batch, {}).grad_input;
    protocol::CheckTicket ticket;
    ticket.stage = 0;
    ticket.weights = protocol::weights_digest(evidence.parameters);
    ticket.tokens = protocol::tokens_digest(evidence.tokens);
    ticket.backward_in = node::swarm::backward_digest_of(*evidence.backward);
    node::swarm::CheckRecompute recompute(manifest);
    const auto report = recompute.check(ticket, evidence);
    QVERIFY2(report.status == protocol::CheckStatus::Computed, report.reason.c_str());
    QVERIFY(report.forward_out && *report.forward_out == node::swarm::forward_digest_of(honest, input.tokens));
    QVERIFY(*report.forward_out != signed_by_neighbour);
  }

  void cleanupTestCase() {
    for (auto& n : nodes_) n.stop = true;
    for (auto& n : nodes_)
      if (n.thread.joinable()) n.thread.join();
    if (hub_) hub_->stop();
  }
};

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "--check") return run_checker(argv[2]);
  TestSpotCheck test;
  return QTest::qExec(&test, argc, argv);
}

#include "test_spot_check.moc"
