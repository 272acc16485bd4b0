// Spot checks on the hub, through a real HubService on loopback with nodes joined through their
// own client and every request signed: a sampled slot's ticket is issued only once its receipts
// are in, to a checker that is neither the worker nor its neighbour; only the ticket's checker may
// report, once; a pass counts for the worker and credits the checker; a failure confirmed by a
// second checker excludes the worker (join, heartbeat and receipts refused), takes back its epoch's
// credit and is an event in the next signed statement; a first checker the second contradicts is
// the one excluded; replicas whose weights digests lose 2 to 1 are excluded; slots whose receipts
// never come are dropped. Steps and receipts reach the spot checks' observer as the hub's step
// records controller hands them over (inside a store transaction).
#include <QtTest>

#include <set>

#include <nlohmann/json.hpp>

#include "core/client/hub_client.h"
#include "core/hub/hub_service.h"
#include "core/hub/node_tally.h"
#include "core/hub/settlement_book.h"
#include "core/hub/spot_checks.h"
#include "core/protocol/spot_check.h"
#include "core/wallet/encoding.h"
#include "tests/hub/signed_http.h"
#include "tests/support/tiny_manifest.h"

using namespace tessera;
using namespace std::chrono_literals;
using nlohmann::json;
namespace api = protocol::hub_api;

namespace {

struct Node {
  wallet::KeyPair key = wallet::KeyPair::generate();
  wallet::KeyPair owner = wallet::KeyPair::generate();
  int stage = -1;
  const wallet::PublicKey& id() const { return key.public_key(); }
  std::string owner_address() const { return wallet::base58_encode(owner.public_key()); }
};

protocol::PayloadDigest digest_of(const std::string& text) {
  protocol::PayloadDigest digest{};
  for (std::size_t i = 0; i < text.size() && i < digest.size(); ++i) digest[i] = static_cast<std::uint8_t>(text[i]);
  digest[31] = 0x5a;
  return digest;
}

struct Reply {
  int status = 0;
  json body;
};

// A hub for a three-stage run with one owner per node.
struct ChecksHub {
  wallet::KeyPair publisher = wallet::KeyPair::generate();
  protocol::RunManifest manifest;
  std::unique_ptr<hub::HubService> service;

  explicit ChecksHub(double rate = 1.0) {
    manifest = test::tiny_two_stage_manifest("spot-checks");
    manifest.stages = 3;
    manifest.model.layers = 3;
    manifest.hub_key = publisher.public_key();
    protocol::sign_manifest(manifest, publisher);
    hub::HubOptions options;
    options.membership.challenges_per_address = {1000, 1000};
    options.membership.joins_per_address = {1000, 1000};
    options.membership.joins_per_key = {1000, 1000};
    options.hub_key = &publisher;
    options.check_rate = rate;
    service = std::make_unique<hub::HubService>(manifest, options);
    service->start();
  }
  ~ChecksHub() { service->stop(); }

  hub::SpotChecks& checks() { return *service->spot_checks(); }

  protocol::JoinRequest join_request(const Node& node) const {
    return {wallet::sign_delegation(node.owner, node.id(), wallet::kAnyRun, 4102444800), "tcp://127.0.0.1:1",
            {"cpu", 1ull << 34, 0}};
  }
  void join(Node& node) { node.stage = client::HubClient(service->url()).join(node.key, join_request(node)); }

  Reply signed_post(const std::string& path, const Node& node, const json& body) {
    const auto reply = test::signed_post("127.0.0.1", service->port(), manifest.run_id, path, node.key, body);
    return {reply.status, reply.body};
  }
  json get(const std::string& path) { return test::get_json("127.0.0.1", service->port(), path); }

  // The tickets a node's heartbeat reply hands it.
  std::vector<protocol::SignedCheckTicket> tickets(const Node& node) {
    const auto reply = signed_post(api::kHeartbeat, node, json::object());
    std::vector<protocol::SignedCheckTicket> out;
    if (reply.status != 200 || !reply.body.contains("checks")) return out;
    for (const auto& hex : reply.body["checks"]) out.push_back(*protocol::SignedCheckTicket::from_hex(hex.get<std::string>()));
    return out;
  }
  Reply report(const Node& checker, const protocol::CheckReport& report) {
    return signed_post(api::kChecks, checker, protocol::to_json(report));
  }
  Reply weights(const Node& node, std::uint64_t step, const protocol::PayloadDigest& digest) {
    return signed_post(api::kWeights, node, {{"step", step}, {"stage", node.stage}, {"weights", wallet::to_hex(digest)}});
  }

  // What the step records controller does when a step commits and a receipt is credited.
  void commit(const protocol::StepRecord& record) {
    auto transaction = service->store().begin();
    checks().step_committed(transaction, record);
    transaction.commit();
  }
  void credit(const protocol::SignedReceipt& receipt, const Node& sender, double flops) {
    auto transaction = service->store().begin();
    service->settlement()->credit_work(transaction, sender.owner_address(), flops);
    hub::NodeTally(service->store()).add(transaction, sender.id(), sender.owner_address(),
                                         service->settlement()->open_epoch(), hub::kCreditedFlops, flops);
    checks().receipt_credited(transaction, receipt, flops);
    transaction.commit();
  }
  // What CheckPenalties::credit_checker does for a checker's computed report.
  void credit_verification(const Node& checker, double flops) {
    auto transaction = service->store().begin();
    service->settlement()->credit_work(transaction, checker.owner_address(), flops);
    hub::NodeTally(service->store()).add(transaction, checker.id(), checker.owner_address(),
                                         service->settlement()->open_epoch(), hub::kVerifyFlops, flops);
    transaction.commit();
  }
  double tally(const Node& node, const char* counter) {
    auto transaction = service->store().begin();
    return hub::NodeTally(service->store()).get(transaction, node.id(), service->settlement()->open_epoch(), counter);
  }
  double open_work(const Node& node) {
    return service->store().read([&](hub::Database& db) {
      auto query = db.prepare("SELECT IFNULL(SUM(flops), 0) FROM open_work WHERE owner = ?");
      query.bind(1, node.owner_address());
      query.step();
      return query.column_double(0);
    });
  }
};

// One step through three workers (one micro-batch), with the digests its four receipts sign.
struct Step {
  protocol::StepRecord record;
  std::vector<std::pair<protocol::SignedReceipt, const Node*>> receipts;  // with the sender they credit
  protocol::PayloadDigest f01 = digest_of("forward 0->1"), f12 = digest_of("forward 1->2");
  protocol::PayloadDigest b21 = digest_of("backward 2->1"), b10 = digest_of("backward 1->0");

  Step(const std::string& run, std::uint64_t step, const Node& n0, const Node& n1, const Node& n2) {
    record.run_id = run;
    record.step = step;
    record.driver = n0.id();
    record.micro_batches = 1;
    record.tokens_per_micro_batch = 16;
    record.replicas = {{n0.id()}, {n1.id()}, {n2.id()}};
    record.committers = record.replicas;
    record.tokens_hashes = {digest_of("tokens")};
    const auto receipt = [&](protocol::Direction direction, const Node& sender, const Node& receiver, int stage,
                             const protocol::PayloadDigest& hash) {
      protocol::Receipt r{run, step, 0, direction, sender.id(), receiver.id(), static_cast<std::uint16_t>(stage), 16, hash};
      receipts.emplace_back(protocol::sign_receipt(r, receiver.key), &sender);
    };
    receipt(protocol::Direction::Forward, n0, n1, 0, f01);
    receipt(protocol::Direction::Forward, n1, n2, 1, f12);
    receipt(protocol::Direction::Backward, n2, n1, 2, b21);
    receipt(protocol::Direction::Backward, n1, n0, 1, b10);
  }
  // What an honest checker computes for `stage`'s slot.
  protocol::CheckReport honest(std::uint64_t check, int stage) const {
    protocol::CheckReport report;
    report.check_id = check;
    if (stage == 0) report.forward_out = f01;
    if (stage == 1) report.forward_out = f12, report.backward_out = b10;
    if (stage == 2) report.backward_out = b21;
    return report;
  }
};

// Six nodes on three stages: the step runs through the first three; the others may check.
struct Swarm {
  ChecksHub hub;
  std::vector<Node> nodes = std::vector<Node>(6);
  std::unique_ptr<Step> step;

  explicit Swarm(double rate = 1.0) : hub(rate) {
    for (auto& node : nodes) hub.join(node);
    step = std::make_unique<Step>(hub.manifest.run_id, 1, nodes[0], nodes[1], nodes[2]);
  }
  void commit_and_report_weights() {
    hub.commit(step->record);
    for (int i = 0; i < 3; ++i) QCOMPARE(hub.weights(nodes[i], 1, digest_of("weights " + std::to_string(i))).status, 200);
  }
  void credit_receipts() {
    for (const auto& [receipt, sender] : step->receipts) hub.credit(receipt, *sender, 1e9);
  }
  // Every outstanding ticket, with the node it was handed to.
  std::vector<std::pair<protocol::SignedCheckTicket, const Node*>> tickets() {
    std::vector<std::pair<protocol::SignedCheckTicket, const Node*>> out;
    for (const auto& node : nodes)
      for (auto& ticket : hub.tickets(node)) out.emplace_back(std::move(ticket), &node);
    return out;
  }
  std::optional<std::pair<protocol::SignedCheckTicket, const Node*>> ticket_for(int stage) {
    for (auto& found : tickets())
      if (found.first.ticket.stage == stage) return found;
    return std::nullopt;
  }
  const Node& node(const wallet::PublicKey& key) const {
    for (const auto& node : nodes)
      if (node.id() == key) return node;
    throw std::logic_error("no such node");
  }
};

}  // namespace

class TestSpotChecks : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void ticketsAreIssuedOnlyOnceTheSlotsReceiptsAreIn() {
    Swarm swarm;
    QCOMPARE(swarm.nodes[0].stage, 0);
    QCOMPARE(swarm.nodes[1].stage, 1);
    QCOMPARE(swarm.nodes[2].stage, 2);
    swarm.commit_and_report_weights();
    auto summary = swarm.hub.get(api::kCheckSummary);
    QCOMPARE(summary["planned"].get<int>(), 3);  // rate 1: one slot of each worker
    QCOMPARE(summary["issued"].get<int>(), 0);
    QCOMPARE(summary["rate"].get<double>(), 1.0);
    QVERIFY(swarm.tickets().empty());
    // Three of the four receipts: stage 1's slot still lacks its backward input.
    for (int i = 0; i < 3; ++i) swarm.hub.credit(swarm.step->receipts[i].first, *swarm.step->receipts[i].second, 1e9);
    QVERIFY(!swarm.ticket_for(1));
    QVERIFY(swarm.ticket_for(2));  // stage 2 needed only forward 1->2 and backward 2->1
    swarm.hub.credit(swarm.step->receipts[3].first, *swarm.step->receipts[3].second, 1e9);
    const auto tickets = swarm.tickets();
    QCOMPARE(tickets.size(), std::size_t(3));
    for (const auto& [signed_ticket, holder] : tickets) {
      const auto& ticket = signed_ticket.ticket;
      QCOMPARE(ticket.checker, holder->id());
      QVERIFY(!protocol::check_check_ticket(signed_ticket, {swarm.hub.manifest.run_id, swarm.hub.publisher.public_key(),
                                                            ticket.worker, holder->id(), hub::unix_ms()}));
      // Not the worker, nor its neighbours at the slot (three nodes outside the step are free).
      for (int i = ticket.stage - 1; i <= ticket.stage + 1; ++i)
        if (i >= 0 && i < 3) QVERIFY(ticket.checker != swarm.nodes[i].id());
      QCOMPARE(ticket.worker, swarm.nodes[ticket.stage].id());
      QCOMPARE(ticket.weights, digest_of("weights " + std::to_string(ticket.stage)));
      QCOMPARE(ticket.tokens, digest_of("tokens"));
      QCOMPARE(ticket.expires_ms - ticket.issued_ms, protocol::kCheckLifetimeMs);
      if (ticket.stage == 0) QVERIFY(!ticket.forward_in && ticket.backward_in == swarm.step->b10);
      if (ticket.stage == 1) QVERIFY(ticket.forward_in == swarm.step->f01 && ticket.backward_in == swarm.step->b21);
      if (ticket.stage == 2) QVERIFY(ticket.forward_in == swarm.step->f12 && !ticket.backward_in);
    }
    QCOMPARE(swarm.hub.get(api::kCheckSummary)["issued"].get<int>(), 3);
  }

  void rateZeroPlansNothing() {
    Swarm swarm(0.0);
    swarm.commit_and_report_weights();
    swarm.credit_receipts();
    QVERIFY(swarm.tickets().empty());
    QCOMPARE(swarm.hub.get(api::kCheckSummary)["planned"].get<int>(), 0);
  }

  void onlyTheTicketsCheckerMayReportOnce() {
    Swarm swarm;
    swarm.commit_and_report_weights();
    swarm.credit_receipts();
    const auto [ticket, checker] = *swarm.ticket_for(1);
    const auto report = swarm.step->honest(ticket.ticket.check_id, 1);
    QCOMPARE(swarm.hub.report(swarm.nodes[1], report).status, 403);  // the worker itself
    Node stranger;
    QCOMPARE(swarm.hub.report(stranger, report).status, 403);  // not even a member
    for (const auto& node : swarm.nodes)
      if (node.id() != checker->id()) QCOMPARE(swarm.hub.report(node, report).status, 403);
    auto unknown = report;
    unknown.check_id = 999;
    QCOMPARE(swarm.hub.report(*checker, unknown).status, 404);
    const auto answer = swarm.hub.report(*checker, report);
    QCOMPARE(answer.status, 200);
    QCOMPARE(answer.body["verdict"].get<std::string>(), std::string("passed"));
    QCOMPARE(swarm.hub.report(*checker, report).status, 409);  // once
  }

  void aPassCountsForTheWorkerAndCreditsTheChecker() {
    Swarm swarm;
    swarm.commit_and_report_weights();
    swarm.credit_receipts();
    const auto [ticket, checker] = *swarm.ticket_for(1);
    const double before = swarm.hub.open_work(*checker);
    QCOMPARE(swarm.hub.report(*checker, swarm.step->honest(ticket.ticket.check_id, 1)).body["verdict"].get<std::string>(),
             std::string("passed"));
    QCOMPARE(swarm.hub.tally(swarm.nodes[1], hub::kChecksPassed), 1.0);
    const double verification = swarm.hub.tally(*checker, hub::kVerifyFlops);
    QVERIFY(verification > 0);
    QCOMPARE(swarm.hub.open_work(*checker), before + verification);
    QCOMPARE(swarm.hub.get(api::kCheckSummary)["passed"].get<int>(), 1);
    // The ticket is no longer handed out.
    for (const auto& [other, holder] : swarm.tickets()) QVERIFY(other.ticket.check_id != ticket.ticket.check_id);
    // Its leaf in the next statement says so.
    swarm.hub.service->close_epoch();
    const auto proof = swarm.hub.service->settlement()->latest()->proof_for(swarm.nodes[1].owner_address());
    QVERIFY(proof);
    QCOMPARE(proof->leaf.checks_passed, std::uint64_t(1));
  }

  void aFailureConfirmedBySecondCheckerExcludesTheWorker() {
    Swarm swarm;
    swarm.commit_and_report_weights();
    swarm.credit_receipts();
    const auto& worker = swarm.nodes[1];
    QVERIFY(swarm.hub.open_work(worker) >= 2e9);  // its two receipts
    swarm.hub.credit_verification(worker, 5e8);    // and a check it computed for another node
    const auto [first, first_checker] = *swarm.ticket_for(1);
    auto wrong = swarm.step->honest(first.ticket.check_id, 1);
    wrong.forward_out = digest_of("something else");
    QCOMPARE(swarm.hub.report(*first_checker, wrong).body["verdict"].get<std::string>(), std::string("suspected"));
    // A second ticket for the same slot, to another checker.
    std::optional<std::pair<protocol::SignedCheckTicket, const Node*>> second;
    for (auto& found : swarm.tickets())
      if (found.first.ticket.stage == 1) second = found;
    QVERIFY(second);
    QVERIFY(second->first.ticket.check_id != first.ticket.check_id);
    QVERIFY(second->second->id() != first_checker->id());
    QVERIFY(second->first.ticket.checker != worker.id());
    wrong.check_id = second->first.ticket.check_id;
    QCOMPARE(swarm.hub.report(*second->second, wrong).body["verdict"].get<std::string>(), std::string("failed"));

    // Excluded: its epoch's credit (as a worker and as a checker) taken back, heartbeat, join and
    // receipts refused.
    QCOMPARE(swarm.hub.open_work(worker), 0.0);
    QCOMPARE(swarm.hub.tally(worker, hub::kForfeitedFlops), 2.5e9);
    QCOMPARE(swarm.hub.tally(worker, hub::kChecksFailed), 1.0);
    const auto heartbeat = swarm.hub.signed_post(api::kHeartbeat, worker, json::object());
    QCOMPARE(heartbeat.status, 403);
    QVERIFY(heartbeat.body.dump().find("excluded from this run") != std::string::npos);
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, client::HubClient(swarm.hub.service->url()).join(
                                                     worker.key, swarm.hub.join_request(worker)));
    QCOMPARE(swarm.hub.signed_post(api::kReceipts, worker, {{"receipts", json::array()}}).status, 403);
    for (const auto& peer : swarm.hub.service->peer_list().peers) QVERIFY(peer.node_key != worker.id());
    // Both checkers computed and were not contradicted: both credited.
    QVERIFY(swarm.hub.tally(*first_checker, hub::kVerifyFlops) > 0);
    QVERIFY(swarm.hub.tally(*second->second, hub::kVerifyFlops) > 0);
    auto summary = swarm.hub.get(api::kCheckSummary);
    QCOMPARE(summary["failed"].get<int>(), 1);

    // The next statement carries the event, signed.
    swarm.hub.service->close_epoch();
    const auto statement = protocol::statement_from_json(swarm.hub.get(api::kLatestStatement));
    QVERIFY(protocol::verify_statement(statement, swarm.hub.publisher.public_key()));
    QCOMPARE(statement.events.size(), std::size_t(1));
    QCOMPARE(statement.events[0].node, worker.id());
    QCOMPARE(statement.events[0].owner, worker.owner_address());
    QCOMPARE(statement.events[0].kind, std::string("excluded"));
    QCOMPARE(statement.events[0].step, std::uint64_t(1));
    QVERIFY(statement.events[0].reason.find("failed two spot checks") != std::string::npos);
    auto tampered = statement;
    tampered.events.clear();
    QVERIFY(!protocol::verify_statement(tampered, swarm.hub.publisher.public_key()));
  }

  void aFirstCheckerTheSecondContradictsIsExcluded() {
    Swarm swarm;
    swarm.commit_and_report_weights();
    swarm.credit_receipts();
    const auto [first, liar] = *swarm.ticket_for(2);
    protocol::CheckReport lie;
    lie.check_id = first.ticket.check_id;
    lie.status = protocol::CheckStatus::Unavailable;
    QCOMPARE(swarm.hub.report(*liar, lie).body["verdict"].get<std::string>(), std::string("suspected"));
    std::optional<std::pair<protocol::SignedCheckTicket, const Node*>> second;
    for (auto& found : swarm.tickets())
      if (found.first.ticket.stage == 2 && found.first.ticket.check_id != first.ticket.check_id) second = found;
    QVERIFY(second);
    QVERIFY(second->second->id() != liar->id());
    const auto answer = swarm.hub.report(*second->second, swarm.step->honest(second->first.ticket.check_id, 2));
    QCOMPARE(answer.body["verdict"].get<std::string>(), std::string("passed"));
    QCOMPARE(swarm.hub.signed_post(api::kHeartbeat, *liar, json::object()).status, 403);
    QCOMPARE(swarm.hub.signed_post(api::kHeartbeat, swarm.nodes[2], json::object()).status, 200);
    QCOMPARE(swarm.hub.tally(swarm.nodes[2], hub::kChecksPassed), 1.0);
    QCOMPARE(swarm.hub.tally(*liar, hub::kChecksFailed), 1.0);
    QCOMPARE(swarm.hub.tally(*liar, hub::kVerifyFlops), 0.0);
    QCOMPARE(swarm.hub.get(api::kCheckSummary)["contradicted"].get<int>(), 1);
    swarm.hub.service->close_epoch();
    const auto statement = *swarm.hub.service->settlement()->latest_statement();
    QCOMPARE(statement.events.size(), std::size_t(1));
    QCOMPARE(statement.events[0].node, liar->id());
    QCOMPARE(statement.events[0].reason, std::string("a checker's report the second check contradicted"));
  }

  void replicasWhoseWeightsLoseTwoToOneAreExcluded() {
    ChecksHub hub;
    std::vector<Node> nodes(9);  // three replicas of each stage
    for (auto& node : nodes) hub.join(node);
    std::vector<const Node*> stage1;
    for (const auto& node : nodes)
      if (node.stage == 1) stage1.push_back(&node);
    QCOMPARE(stage1.size(), std::size_t(3));
    Step step(hub.manifest.run_id, 1, nodes[0], nodes[1], nodes[2]);
    hub.commit(step.record);
    QCOMPARE(hub.weights(*stage1[0], 2, digest_of("agreed")).status, 200);
    QCOMPARE(hub.weights(*stage1[1], 2, digest_of("different")).status, 200);  // 1 to 1: no majority yet
    QCOMPARE(hub.signed_post(api::kHeartbeat, *stage1[1], json::object()).status, 200);
    QCOMPARE(hub.weights(*stage1[2], 2, digest_of("agreed")).status, 200);
    const auto refused = hub.signed_post(api::kHeartbeat, *stage1[1], json::object());
    QCOMPARE(refused.status, 403);
    QVERIFY(refused.body.dump().find("weights differ from its replicas") != std::string::npos);
    QCOMPARE(hub.signed_post(api::kHeartbeat, *stage1[0], json::object()).status, 200);
    QCOMPARE(hub.signed_post(api::kHeartbeat, *stage1[2], json::object()).status, 200);
    // A stage other than the sender's, or a step far ahead, is refused.
    auto wrong_stage = hub.signed_post(api::kWeights, *stage1[0], {{"step", 2}, {"stage", 0}, {"weights", wallet::to_hex(digest_of("x"))}});
    QCOMPARE(wrong_stage.status, 403);
    QCOMPARE(hub.weights(*stage1[0], 500, digest_of("agreed")).status, 400);
  }

  // A node reports what waits in one request: every digest of the batch is stored (here the third
  // replica's makes a majority at step 3), and a batch over 64 or with a step far ahead stores none.
  void weightsDigestsComeInBatches() {
    ChecksHub hub;
    std::vector<Node> nodes(9);
    for (auto& node : nodes) hub.join(node);
    std::vector<const Node*> stage1;
    for (const auto& node : nodes)
      if (node.stage == 1) stage1.push_back(&node);
    Step step(hub.manifest.run_id, 1, nodes[0], nodes[1], nodes[2]);
    hub.commit(step.record);
    const auto batch = [&](const Node& node, std::vector<std::pair<int, std::string>> reports) {
      auto list = json::array();
      for (const auto& [at, text] : reports) list.push_back({{"step", at}, {"weights", wallet::to_hex(digest_of(text))}});
      return hub.signed_post(api::kWeights, node, {{"stage", node.stage}, {"reports", list}}).status;
    };
    QCOMPARE(batch(*stage1[0], {{2, "a"}, {3, "b"}}), 200);
    QCOMPARE(batch(*stage1[1], {{2, "a"}, {3, "other"}}), 200);
    QCOMPARE(batch(*stage1[2], {{2, "a"}, {3, "b"}, {500, "b"}}), 400);  // none stored: no majority yet
    QCOMPARE(hub.signed_post(api::kHeartbeat, *stage1[1], json::object()).status, 200);
    std::vector<std::pair<int, std::string>> too_many;
    for (int i = 0; i < 65; ++i) too_many.push_back({2, "a"});
    QCOMPARE(batch(*stage1[2], too_many), 400);
    QCOMPARE(batch(*stage1[2], {{2, "a"}, {3, "b"}}), 200);
    QCOMPARE(hub.signed_post(api::kHeartbeat, *stage1[1], json::object()).status, 403);  // the minority at step 3
    QCOMPARE(hub.signed_post(api::kHeartbeat, *stage1[0], json::object()).status, 200);
  }

  void slotsWhoseReceiptsNeverComeAreDroppedAndTicketsExpire() {
    Swarm swarm;
    swarm.commit_and_report_weights();
    for (int i = 0; i < 3; ++i) swarm.hub.credit(swarm.step->receipts[i].first, *swarm.step->receipts[i].second, 1e9);
    QVERIFY(swarm.ticket_for(2));  // issued; stages 0 and 1 still wait for the backward 1->0
    QVERIFY(!swarm.ticket_for(0) && !swarm.ticket_for(1));
    swarm.hub.checks().tick(hub::unix_ms() + protocol::kCheckLifetimeMs + 1);
    const auto summary = swarm.hub.get(api::kCheckSummary);
    QCOMPARE(summary["unreceipted"].get<int>(), 2);
    QCOMPARE(summary["expired"].get<int>(), 1);  // stage 2's was issued and never reported
    QCOMPARE(summary["outstanding"].get<int>(), 0);
    QCOMPARE(summary["waiting"].get<int>(), 0);
    // The last receipt, late: nothing is issued for a dropped slot.
    swarm.hub.credit(swarm.step->receipts[3].first, *swarm.step->receipts[3].second, 1e9);
    QVERIFY(swarm.tickets().empty());
  }

  void aLoneMismatchByAnotherOwnerStandsWhenNoSecondReportComes() {
    Swarm swarm;
    swarm.commit_and_report_weights();
    swarm.credit_receipts();
    const auto [first, checker] = *swarm.ticket_for(0);
    auto wrong = swarm.step->honest(first.ticket.check_id, 0);
    wrong.forward_out = digest_of("not what stage 1 received");
    QCOMPARE(swarm.hub.report(*checker, wrong).body["verdict"].get<std::string>(), std::string("suspected"));
    // The second ticket is never reported: when it expires, the first report stands.
    swarm.hub.checks().tick(hub::unix_ms() + protocol::kCheckLifetimeMs + 1);
    QCOMPARE(swarm.hub.signed_post(api::kHeartbeat, swarm.nodes[0], json::object()).status, 403);
    QCOMPARE(swarm.hub.tally(*checker, hub::kVerifyFlops) > 0, true);
    QCOMPARE(swarm.hub.get(api::kCheckSummary)["failed"].get<int>(), 1);
  }
};

QTEST_APPLESS_MAIN(TestSpotChecks)
#include "test_spot_checks.moc"
