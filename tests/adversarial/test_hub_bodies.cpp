// Hostile HTTP requests to the hub: bodies that crashed it or ate its memory, the peer list as a
// stranger and as a member, and signed requests replayed or altered. The hub is the one
// `demo --serve` embeds (3 stages, one replica each, started per test); a member with a fresh
// wallet plays the attacker where one is needed. Each test checks that the hub keeps answering
// and training goes on, and that the attacker's owner is credited nothing.
#include <QtTest>

#include <algorithm>

#include "core/protocol/hub_api.h"
#include "core/wallet/encoding.h"
#include "tests/adversarial/hostile_client.h"
#include "tests/adversarial/hostile_peer.h"
#include "tests/adversarial/local_swarm.h"
#include "tests/adversarial/swarm_checks.h"

using namespace tessera;
using namespace tessera::adversarial;
using namespace std::chrono_literals;
namespace api = protocol::hub_api;

namespace {

constexpr long kMemoryBoundKib = 32 * 1024;  // what refusing a body early may cost the hub, at most

bool client_error(int status) { return status >= 400 && status < 500; }

std::string status_text(const HttpReply& reply) {
  return reply.answered() ? "HTTP " + std::to_string(reply.status) + " " + reply.body.substr(0, 200)
                          : "no answer (" + reply.error + ")";
}

bool lists(const std::vector<protocol::PeerInfo>& peers, const wallet::PublicKey& key) {
  return std::any_of(peers.begin(), peers.end(), [&](const auto& peer) { return peer.node_key == key; });
}

}  // namespace

class TestAdversarialHubBodies : public QObject {
  Q_OBJECT

  std::unique_ptr<LocalSwarm> swarm_;
  std::unique_ptr<HostilePeer> member_;

  void check_hub_answers(const std::string& after) {
    const auto manifest = get_raw(swarm_->hub_url(), api::kManifest);
    QVERIFY2(manifest.status == 200, ("the hub no longer answers after " + after + ": " + status_text(manifest)).c_str());
  }

  void check_served_and_uncredited() {
    ADVERSARIAL_CHECK(check_hub_answers("the attack"));
    QVERIFY2(member_->heartbeat(), "the hub no longer knows a member that kept its heartbeats");
    ADVERSARIAL_CHECK(check_training_continues(*swarm_, "after the attack"));
    ADVERSARIAL_CHECK(check_nothing_credited(*swarm_, {member_->owner()}));
  }

 private Q_SLOTS:
  void init() {
    swarm_ = std::make_unique<LocalSwarm>();
    std::string why;
    QVERIFY2(swarm_->start(why), why.c_str());
    member_ = std::make_unique<HostilePeer>(swarm_->hub_url());
    member_->join();
  }

  void cleanup() {
    member_.reset();
    swarm_.reset();
  }

  // 400 KB of nesting ('[' and {"a": …) to every POST route, before any signature: refused with
  // a client error (the challenge, which reads no body, may also just answer), never a crash.
  void nestedBodiesOnEveryPostRoute() {
    const auto [gateway, prefix] = split_url(swarm_->gateway_url());
    const std::vector<std::pair<std::string, std::string>> routes{
        {swarm_->hub_url(), api::kChallenge}, {swarm_->hub_url(), api::kJoin},     {swarm_->hub_url(), api::kReady},
        {swarm_->hub_url(), api::kHeartbeat}, {swarm_->hub_url(), api::kLeave},    {swarm_->hub_url(), api::kReceipts},
        {swarm_->hub_url(), api::kProgress},  {gateway, prefix + "/completions"}};
    std::string objects;
    while (objects.size() < 400 * 1024) objects += R"({"a":)";
    for (const auto& body : {nested_brackets(400 * 1024), objects}) {
      for (const auto& [base, path] : routes) {
        const auto reply = post_raw(base, path, body);
        const auto what = path + " with " + std::to_string(body.size()) + " bytes of '" + body.substr(0, 5) + "'";
        QVERIFY2(reply.answered() && reply.status < 500, (what + ": " + status_text(reply)).c_str());
        if (path != api::kChallenge) QVERIFY2(client_error(reply.status), (what + ": " + status_text(reply)).c_str());
        ADVERSARIAL_CHECK(check_hub_answers(what));
      }
    }
    check_served_and_uncredited();
  }

  // A 57 MiB "[{},{},…]" body (shallow, but millions of values) to the heartbeat and to the
  // receipts route (the largest legitimate body): refused before it is read, so the hub's
  // resident memory stays within a few MiB of what it was.
  void hugeBodyIsRefusedEarly() {
    const auto pid = swarm_->hub_pid();
    const auto body = many_empty_objects(57 << 20);
    for (const auto* path : {api::kHeartbeat, api::kReceipts}) {
      const auto before = rss_kib(pid);
      QVERIFY(before.has_value());
      long peak = 0;
      HttpReply reply;
      {
        RssSampler sampler(pid);
        reply = post_raw(swarm_->hub_url(), path, body, "application/json", {}, 120s);
        peak = sampler.peak_kib();
      }
      // Refused with a 4xx, or the connection closed while the body was still being sent.
      QVERIFY2(!reply.answered() || client_error(reply.status),
               (std::string(path) + " took a 57 MiB body: " + status_text(reply)).c_str());
      QVERIFY2(peak - *before < kMemoryBoundKib,
               (std::string(path) + ": the hub's resident memory went from " + std::to_string(*before / 1024) +
                " MiB to " + std::to_string(peak / 1024) + " MiB on one 57 MiB body")
                   .c_str());
      ADVERSARIAL_CHECK(check_hub_answers(std::string("a 57 MiB body to ") + path));
    }
    check_served_and_uncredited();
  }

  // The peer list maps node keys to IP addresses: a stranger gets none of it, and what a member
  // gets names no owner (wallet) at all, only what a neighbour needs.
  void peersAreForMembersOnlyAndListNoOwners() {
    auto owners = swarm_->honest_owners();
    owners.push_back(member_->owner());
    const auto stranger = get_raw(swarm_->hub_url(), api::kPeers);
    for (const auto& owner : owners)
      QVERIFY2(stranger.body.find(owner) == std::string::npos,
               ("GET /api/peers without a signature lists owner " + owner).c_str());
    QVERIFY2(client_error(stranger.status),
             ("GET /api/peers without a signature: " + status_text(stranger)).c_str());

    RecordingProxy proxy(swarm_->hub_url());
    member_->use_hub(proxy.url());
    const auto peers = member_->peers();
    const auto seen = proxy.last(api::kPeers);
    QVERIFY(seen.has_value());
    QVERIFY2(seen->reply.status == 200, ("a member's peer list: " + status_text(seen->reply)).c_str());
    for (const auto& owner : owners)
      QVERIFY2(seen->reply.body.find(owner) == std::string::npos,
               ("a member's peer list names owner " + owner).c_str());
    for (const auto& node : swarm_->honest())
      QVERIFY2(lists(peers, node.key), "a member's peer list lacks an honest node it needs as a neighbour");
    member_->use_hub(swarm_->hub_url());
    check_served_and_uncredited();
  }

  // A signed request, captured on the wire, sent again: a heartbeat (which would keep a dead node
  // listed) and a leave (which would throw a node out again after it rejoined). Both refused.
  void replayedSignedRequestsAreRefused() {
    RecordingProxy proxy(swarm_->hub_url());
    member_->use_hub(proxy.url());
    QVERIFY(member_->heartbeat());
    const auto heartbeat = proxy.last(api::kHeartbeat);
    QVERIFY(heartbeat && heartbeat->reply.status == 200);
    const auto again = send_request(swarm_->hub_url(), heartbeat->request);
    QVERIFY2(again.answered() && client_error(again.status), ("a replayed heartbeat: " + status_text(again)).c_str());

    member_->leave();
    const auto leave = proxy.last(api::kLeave);
    QVERIFY(leave && leave->reply.status == 200);
    member_->use_hub(swarm_->hub_url());
    member_->join();
    const auto replayed = send_request(swarm_->hub_url(), leave->request);
    QVERIFY2(replayed.answered() && client_error(replayed.status), ("a replayed leave: " + status_text(replayed)).c_str());
    QVERIFY2(lists(member_->peers(), member_->key().public_key()), "a replayed leave removed the member that rejoined");
    check_served_and_uncredited();
  }

  // Signed requests altered: a member's leave with every spelling of its key replaced by an
  // honest node's (a forged leave for the victim), and a progress report whose body was changed
  // after signing. Both refused; the victim stays listed, the forged step is not shown.
  void forgedSignedRequestsAreRefused() {
    RecordingProxy proxy(swarm_->hub_url());
    member_->use_hub(proxy.url());
    member_->hub().heartbeat(member_->key());  // forwarded: the new client learns the run id it signs for
    proxy.forward(false);  // the hub never sees the originals
    member_->hub().leave(member_->key());
    member_->hub().report_progress(member_->key(), {{"step", 987654321}, {"loss", 0.5}});
    member_->use_hub(swarm_->hub_url());
    const auto leave = proxy.last(api::kLeave);
    const auto progress = proxy.last(api::kProgress);
    QVERIFY(leave && progress);

    const auto& victim = swarm_->honest().at(1);
    const auto forged = impersonate(leave->request, member_->key().public_key(), victim.key);
    QVERIFY2(forged.body != leave->request.body || forged.headers != leave->request.headers,
             "the captured leave does not carry the member's key in any spelling");
    const auto as_victim = send_request(swarm_->hub_url(), forged);
    QVERIFY2(as_victim.answered() && client_error(as_victim.status),
             ("a leave signed by a member and claiming an honest node's key: " + status_text(as_victim)).c_str());
    QVERIFY2(lists(member_->peers(), victim.key), "a forged leave removed an honest node");

    auto tampered = progress->request;
    const auto at = tampered.body.find("987654321");
    QVERIFY(at != std::string::npos);
    tampered.body.replace(at, 9, "987654322");
    const auto changed = send_request(swarm_->hub_url(), tampered);
    QVERIFY2(changed.answered() && client_error(changed.status),
             ("a signed progress report altered after signing: " + status_text(changed)).c_str());
    QVERIFY2(swarm_->step() < 987654321, "an altered progress report was published");
    check_served_and_uncredited();
  }
};

QTEST_GUILESS_MAIN(TestAdversarialHubBodies)
#include "test_hub_bodies.moc"
