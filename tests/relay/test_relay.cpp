// The TCP relay on loopback: a CurveZMQ stage server behind a RelayLink is reached by peers through
// the relay's public port with every byte intact and counted the same on both sides; a node that
// cannot prove its key gets no port; unclaimed streams, silent peers and garbage are closed; a lost
// relay is noticed and replaced; stream and client limits hold while existing streams keep working.
#include <QtTest>

#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <random>
#include <thread>

#include <zmq.hpp>

#include "core/net/endpoint.h"
#include "core/net/zap.h"
#include "core/relay/control_frame.h"
#include "core/relay/relay_link.h"
#include "core/relay/relay_server.h"
#include "core/relay/socket_io.h"
#include "tests/support/loopback_listener.h"

using namespace tessera;
using namespace std::chrono_literals;

namespace {

using Node = test::CurveNode;

net::MessageHeader header_for(std::uint32_t micro_batch) {
  net::MessageHeader header;
  header.kind = net::MessageKind::Forward;
  header.run_id = "relay-test";
  header.micro_batch = micro_batch;
  return header;
}

std::vector<std::uint8_t> random_payload(std::size_t size, unsigned seed) {
  std::mt19937 generator(seed);
  std::vector<std::uint8_t> bytes(size);
  for (auto& b : bytes) b = static_cast<std::uint8_t>(generator());
  return bytes;
}

std::uint16_t port_of(const std::string& endpoint) {
  return static_cast<std::uint16_t>(std::stoi(endpoint.substr(endpoint.rfind(':') + 1)));
}

relay::RelayServerOptions loopback(relay::RelayServerOptions options = {}) {
  options.bind_host = "127.0.0.1";
  options.public_host = "127.0.0.1";
  return options;
}

// True once the other side closed `fd` (everything before the end is read and dropped).
bool closed_within(int fd, std::chrono::milliseconds timeout) {
  const auto deadline = relay::Clock::now() + timeout;
  std::uint8_t buffer[4096];
  while (relay::Clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    const auto got = ::recv(fd, buffer, sizeof(buffer), MSG_DONTWAIT);
    if (got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) return true;
  }
  return false;
}

bool send_bytes(int fd, std::span<const std::uint8_t> bytes) {
  return relay::send_all(fd, bytes, relay::Clock::now() + 2s, -1);
}

// A node speaking the control protocol by hand, for what RelayLink never does.
struct RawControl {
  sys::UniqueFd fd;
  relay::Challenge challenge{};

  explicit RawControl(std::uint16_t port) : fd(relay::connect_tcp("127.0.0.1", port, 2s)) {
    challenge = relay::decode_challenge(next());
  }
  relay::Frame next(std::chrono::milliseconds timeout = 3s) {
    return relay::read_frame(fd.get(), relay::Clock::now() + timeout, -1);
  }
  void say(const std::vector<std::uint8_t>& frame) { QVERIFY(send_bytes(fd.get(), frame)); }
  std::uint16_t register_as(const wallet::KeyPair& key) {
    say(relay::encode_hello(relay::answer_challenge(challenge, key)));
    return relay::decode_accepted(next()).port;
  }
};

}  // namespace

class TestRelay : public QObject {
  Q_OBJECT

 private:
  zmq::context_t context_;
  std::shared_ptr<net::PeerAllowlist> allowlist_ = std::make_shared<net::PeerAllowlist>();
  std::unique_ptr<net::ZapHandler> zap_;
  Node stage_node_;  // the unreachable node: its stage server and its relay link
  Node peer_a_;
  Node peer_b_;
  Node peer_c_;
  std::unique_ptr<net::Server> stage_;
  std::uint16_t stage_port_ = 0;
  std::atomic<bool> stop_echo_{false};
  std::thread echo_;

  std::unique_ptr<relay::RelayLink> link_to(const relay::RelayServer& server, const Node& node) {
    return std::make_unique<relay::RelayLink>("127.0.0.1", server.port(), node.key, "127.0.0.1", stage_port_);
  }

  std::unique_ptr<net::Client> peer_at(const Node& peer, const std::string& endpoint) {
    return std::make_unique<net::Client>(context_, peer.curve, stage_node_.curve.public_key, endpoint);
  }

  // One request and its echo through `client`; false unless the payload came back intact.
  static bool round_trip(net::Client& client, std::size_t size, std::uint32_t micro_batch,
                         std::chrono::milliseconds timeout = 10s) {
    const auto payload = random_payload(size, micro_batch);
    const auto reply = client.request(header_for(micro_batch), payload, timeout);
    return reply && reply->header.micro_batch == micro_batch && reply->payload == payload;
  }

 private Q_SLOTS:
  void initTestCase() {
    zap_ = std::make_unique<net::ZapHandler>(context_, allowlist_);
    for (const auto* peer : {&peer_a_, &peer_b_, &peer_c_}) allowlist_->allow(peer->curve.public_key);
    stage_ = std::make_unique<net::Server>(context_, stage_node_.curve, "tcp://127.0.0.1:0");
    stage_port_ = port_of(stage_->endpoint());
    echo_ = std::thread([this] {
      while (!stop_echo_) {
        auto incoming = stage_->receive(50ms);
        if (incoming) stage_->reply(*incoming, incoming->message.header, incoming->message.payload, 2s);
      }
    });
  }

  void cleanupTestCase() {
    stop_echo_ = true;
    echo_.join();
    stage_.reset();
    zap_.reset();
  }

  void curveZmqRoundTripsIntactAndIsCountedAlike() {
    relay::RelayServer server(loopback());
    auto link = link_to(server, stage_node_);
    QVERIFY(link->alive());
    QCOMPARE(link->public_endpoint().rfind("tcp://127.0.0.1:", 0), 0u);
    QVERIFY(port_of(link->public_endpoint()) != server.port());
    QTRY_COMPARE(server.clients(), 1u);
    std::uint64_t payload_bytes = 0;
    {
      auto client = peer_at(peer_a_, link->public_endpoint());
      std::uint32_t micro_batch = 0;
      for (const std::size_t size : {0ul, 1ul, 1000ul, 65'543ul, 1ul << 20}) {
        QVERIFY2(round_trip(*client, size, ++micro_batch), ("size " + std::to_string(size)).c_str());
        payload_bytes += size;
      }
    }
    QTRY_VERIFY(server.relayed().count(stage_node_.key.public_key()) == 1);
    QTRY_VERIFY(server.relayed().at(stage_node_.key.public_key()) == link->bytes());
    const auto counted = link->bytes();
    QVERIFY(counted.to_client >= payload_bytes);
    QVERIFY(counted.from_client >= payload_bytes);
    QCOMPARE(counted.streams, 1u);
  }

  void twoPeersAtOnceThroughOneLink() {
    relay::RelayServer server(loopback());
    auto link = link_to(server, stage_node_);
    auto a = peer_at(peer_a_, link->public_endpoint());
    auto b = peer_at(peer_b_, link->public_endpoint());
    std::atomic<int> a_ok{0};
    std::thread other([&] {
      for (std::uint32_t i = 0; i < 20; ++i) a_ok += round_trip(*a, 50'000 + i, 100 + i) ? 1 : 0;
    });
    int b_ok = 0;
    for (std::uint32_t i = 0; i < 20; ++i) b_ok += round_trip(*b, 30'000 + i, 200 + i) ? 1 : 0;
    other.join();
    QCOMPARE(a_ok.load(), 20);
    QCOMPARE(b_ok, 20);
    QTRY_COMPARE(server.relayed().at(stage_node_.key.public_key()).streams, 2u);
    QCOMPARE(link->bytes().streams, 2u);
  }

  void aBadSignatureGetsNoPort() {
    relay::RelayServer server(loopback());
    const Node honest;
    const Node impostor;
    {
      RawControl raw(server.port());
      auto hello = relay::answer_challenge(raw.challenge, impostor.key);
      hello.node_key = honest.key.public_key();  // claims a key it cannot sign for
      raw.say(relay::encode_hello(hello));
      const auto answer = raw.next();
      QCOMPARE(answer.type, relay::FrameType::Refused);
      QVERIFY(relay::decode_refused(answer).find("signature") != std::string::npos);
      QVERIFY(closed_within(raw.fd.get(), 3s));
    }
    {
      RawControl raw(server.port());
      relay::Challenge other = raw.challenge;
      other[0] ^= 1;  // a signature over another challenge: a replay
      raw.say(relay::encode_hello(relay::answer_challenge(other, honest.key)));
      QCOMPARE(raw.next().type, relay::FrameType::Refused);
    }
    QCOMPARE(server.clients(), 0u);
    QVERIFY(server.relayed().empty());
  }

  void anUnclaimedStreamIsClosedAndIdsAreSingleUse() {
    auto options = loopback();
    options.claim_timeout = 300ms;
    options.keepalive = 20s;
    relay::RelayServer server(options);
    const Node node;
    RawControl control(server.port());
    const auto public_port = control.register_as(node.key);
    const auto ignored_peer = relay::connect_tcp("127.0.0.1", public_port, 2s);
    const auto ignored_id = relay::decode_stream_id(control.next());
    QVERIFY(closed_within(ignored_peer.get(), 5s));  // never claimed
    RawControl late(server.port());
    late.say(relay::encode_frame(relay::FrameType::Claim, ignored_id));
    QVERIFY(closed_within(late.fd.get(), 3s));

    const auto peer = relay::connect_tcp("127.0.0.1", public_port, 2s);
    const auto id = relay::decode_stream_id(control.next());
    RawControl claim(server.port());
    claim.say(relay::encode_frame(relay::FrameType::Claim, id));
    const std::vector<std::uint8_t> hello{'h', 'i'};
    QVERIFY(send_bytes(peer.get(), hello));
    std::vector<std::uint8_t> got(2);
    QVERIFY(relay::recv_exact(claim.fd.get(), got, relay::Clock::now() + 3s, -1));
    QCOMPARE(got, hello);
    RawControl again(server.port());
    again.say(relay::encode_frame(relay::FrameType::Claim, id));
    QVERIFY(closed_within(again.fd.get(), 3s));
  }

  void aSilentClientIsDropped() {
    auto options = loopback();
    options.keepalive = 100ms;
    relay::RelayServer server(options);
    const Node node;
    RawControl control(server.port());
    control.register_as(node.key);
    QCOMPARE(server.clients(), 1u);
    QTRY_COMPARE_WITH_TIMEOUT(server.clients(), 0u, 5000);  // it never answers or pings
    QVERIFY(closed_within(control.fd.get(), 3s));
  }

  void aSilentRelayIsNoticed() {
    // A "relay" that registers the node and then says nothing, without closing.
    auto listener = relay::listen_tcp("127.0.0.1", 0);
    const auto port = relay::local_port(listener.get());
    std::atomic<bool> done{false};
    std::thread fake([&] {
      if (relay::wait_for(listener.get(), POLLIN, relay::Clock::now() + 5s, -1) != relay::WaitResult::Ready) return;
      const auto fd = relay::accept_tcp(listener.get());
      try {
        send_bytes(fd.get(), relay::encode_frame(relay::FrameType::Challenge, relay::Challenge{}));
        relay::read_frame(fd.get(), relay::Clock::now() + 5s, -1);
        send_bytes(fd.get(), relay::encode_accepted({4242, "relay.example"}));
      } catch (const std::exception&) {
        return;  // the link's constructor fails below
      }
      while (!done) std::this_thread::sleep_for(20ms);
    });
    {
      relay::RelayLink link("127.0.0.1", port, stage_node_.key, "127.0.0.1", stage_port_, {.keepalive = 100ms});
      QCOMPARE(link.public_endpoint(), std::string("tcp://relay.example:4242"));
      QTRY_VERIFY_WITH_TIMEOUT(!link.alive(), 5000);
      QVERIFY(link.failure().find("silent") != std::string::npos);
    }
    done = true;
    fake.join();
  }

  void ipv6EndpointsAreBracketed() {
    auto options = loopback();
    options.bind_host = "::1";
    options.public_host = "::1";
    std::unique_ptr<relay::RelayServer> server;
    try {
      server = std::make_unique<relay::RelayServer>(options);
    } catch (const std::runtime_error&) {
      QSKIP("no IPv6 loopback here");
    }
    relay::RelayLink link("::1", server->port(), stage_node_.key, "127.0.0.1", stage_port_);
    QVERIFY(link.public_endpoint().rfind("tcp://[::1]:", 0) == 0);
    // A raw peer over IPv6 hears the stage server's ZMTP greeting (it starts with 0xFF).
    const auto peer = relay::connect_tcp("::1", port_of(link.public_endpoint()), 2s);
    std::array<std::uint8_t, 1> first{};
    QVERIFY(relay::recv_exact(peer.get(), first, relay::Clock::now() + 5s, -1));
    QCOMPARE(first[0], std::uint8_t{0xFF});
  }

  void aLostRelayIsNoticedAndReplaced() {
    auto first = std::make_unique<relay::RelayServer>(loopback());
    auto link = link_to(*first, stage_node_);
    {
      auto client = peer_at(peer_a_, link->public_endpoint());
      QVERIFY(round_trip(*client, 4096, 1));
    }
    first.reset();
    QTRY_VERIFY_WITH_TIMEOUT(!link->alive(), 5000);
    QVERIFY(!link->failure().empty());
    link.reset();

    relay::RelayServer second(loopback());
    auto replacement = link_to(second, stage_node_);
    auto client = peer_at(peer_a_, replacement->public_endpoint());
    QVERIFY(round_trip(*client, 4096, 2));
    QVERIFY(replacement->alive());
  }

  void aRefusedOrUnreachableRelayThrows() {
    std::uint16_t closed_port = 0;
    {
      relay::RelayServer gone(loopback());
      closed_port = gone.port();
    }
    QVERIFY_THROWS_EXCEPTION(std::runtime_error,
                             relay::RelayLink("127.0.0.1", closed_port, stage_node_.key, "127.0.0.1", stage_port_));
    auto options = loopback();
    options.max_clients = 1;
    relay::RelayServer server(options);
    auto first = link_to(server, stage_node_);
    const Node second;
    try {
      relay::RelayLink refused("127.0.0.1", server.port(), second.key, "127.0.0.1", stage_port_);
      QFAIL("a second node was accepted by a relay for one");
    } catch (const std::runtime_error& e) {
      QVERIFY2(std::string(e.what()).find("refused") != std::string::npos, e.what());
    }
    QVERIFY(first->alive());
    QCOMPARE(server.clients(), 1u);
  }

  void extraStreamsAreClosedWhileOthersKeepWorking() {
    auto options = loopback();
    options.max_streams_per_client = 2;
    relay::RelayServer server(options);
    auto link = link_to(server, stage_node_);
    auto a = peer_at(peer_a_, link->public_endpoint());
    auto b = peer_at(peer_b_, link->public_endpoint());
    QVERIFY(round_trip(*a, 1000, 1));
    QVERIFY(round_trip(*b, 1000, 2));
    const auto extra = relay::connect_tcp("127.0.0.1", port_of(link->public_endpoint()), 2s);
    QVERIFY(closed_within(extra.get(), 3s));
    auto c = peer_at(peer_c_, link->public_endpoint());
    QVERIFY(!round_trip(*c, 1000, 3, 1s));  // every connection it makes is closed
    QVERIFY(round_trip(*a, 100'000, 4));
    QVERIFY(round_trip(*b, 100'000, 5));
    QCOMPARE(server.relayed().at(stage_node_.key.public_key()).streams, 2u);
  }

  void garbageOnTheControlPortIsClosedAlone() {
    relay::RelayServer server(loopback());
    auto link = link_to(server, stage_node_);
    auto client = peer_at(peer_a_, link->public_endpoint());
    QVERIFY(round_trip(*client, 1000, 1));
    const std::string http = "GET / HTTP/1.1\r\nHost: relay\r\n\r\n";
    const std::vector<std::vector<std::uint8_t>> garbage{
        {http.begin(), http.end()},
        {0x02, 0xff, 0xff},               // a hello of 65535 bytes: over the limit
        {0x07, 0x00, 0x00, 0x07, 0x00, 0x00},  // pings before any hello
    };
    for (const auto& bytes : garbage) {
      RawControl raw(server.port());
      raw.say(bytes);
      QVERIFY(closed_within(raw.fd.get(), 3s));
    }
    QVERIFY(link->alive());
    QCOMPARE(server.clients(), 1u);
    QVERIFY(round_trip(*client, 100'000, 2));
  }
};

QTEST_APPLESS_MAIN(TestRelay)
#include "test_relay.moc"
