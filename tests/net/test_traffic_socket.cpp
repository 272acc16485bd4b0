// The traffic meters add up to what the TCP connection carried: a Server and a Client on loopback
// exchange messages of several sizes (empty, small, over one short ZMTP frame, about 1 MB), and
// each meter's totals are compared with the kernel's byte counts of that connection (`ss -ti`,
// iproute2: bytes_acked and bytes_received of the client's socket). The kernel also carries the
// greeting and CURVE handshake, measured once the connection is up and before any message, and
// the ZMTP heartbeats (PING and PONG every second each way), allowed for as a small slack.
#include <QtTest>

#include <chrono>
#include <cstdio>
#include <regex>
#include <string>
#include <thread>

#include <zmq.hpp>

#include "core/net/endpoint.h"
#include "core/net/zap.h"

using namespace tessera;
using namespace std::chrono_literals;

namespace {

struct Node {
  wallet::KeyPair key = wallet::KeyPair::generate();
  net::CurveKeyPair curve = net::curve_keys_from(key);
};

struct KernelCount {
  std::uint64_t acked = 0, received = 0;
  bool found = false;
};

std::uint64_t field(const std::string& text, const char* name) {
  std::smatch match;
  const std::regex pattern(std::string(name) + ":(\\d+)");
  return std::regex_search(text, match, pattern) ? std::stoull(match[1].str()) : 0;  // ss omits zeros
}

// The client side of the one connection to `port`.
KernelCount kernel_count(int port) {
  const auto command = "ss -tinH state established '( dport = :" + std::to_string(port) + " )' 2>/dev/null";
  std::string text;
  if (FILE* pipe = popen(command.c_str(), "r")) {
    char buffer[4096];
    while (const auto n = std::fread(buffer, 1, sizeof buffer, pipe)) text.append(buffer, n);
    pclose(pipe);
  }
  KernelCount count;
  count.found = text.find("127.0.0.1") != std::string::npos;
  count.acked = field(text, "bytes_acked");
  count.received = field(text, "bytes_received");
  return count;
}

// The same reading twice, `gap` apart: nothing was in flight.
KernelCount settled_count(int port, std::chrono::milliseconds gap = 150ms) {
  auto before = kernel_count(port);
  for (int i = 0; i < 40; ++i) {
    std::this_thread::sleep_for(gap);
    const auto now = kernel_count(port);
    if (now.acked == before.acked && now.received == before.received) return now;
    before = now;
  }
  return before;
}

int port_of(const std::string& endpoint) { return std::stoi(endpoint.substr(endpoint.rfind(':') + 1)); }

net::MessageHeader header_for(net::MessageKind kind, std::uint32_t micro_batch) {
  net::MessageHeader header;
  header.kind = kind;
  header.run_id = "traffic-run";
  header.step = 7;
  header.micro_batch = micro_batch;
  return header;
}

}  // namespace

class TestTrafficSocket : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void countersAddUpToWhatTheConnectionCarried() {
#ifndef __linux__
    QSKIP("reads the kernel's counts with ss (iproute2, Linux)");
#else
    QVERIFY2(std::system("ss -V > /dev/null 2>&1") == 0, "ss is missing: install iproute2 (scripts/packages.txt)");
    zmq::context_t context;
    auto allowlist = std::make_shared<net::PeerAllowlist>();
    net::ZapHandler zap(context, allowlist);
    Node server_node, client_node;
    allowlist->allow(client_node.curve.public_key);
    net::TrafficMeter server_meter, client_meter;
    net::Server server(context, server_node.curve, "tcp://127.0.0.1:0", {}, &server_meter);
    const int port = port_of(server.endpoint());
    net::Client client(context, client_node.curve, server_node.curve.public_key, server.endpoint(), {}, &client_meter);

    // The greeting and handshake: HELLO + INITIATE (over 500 bytes) out, WELCOME + READY in.
    QTRY_VERIFY_WITH_TIMEOUT(kernel_count(port).acked > 521 && kernel_count(port).received > 234, 10000);
    const auto handshake = settled_count(port);
    const auto started = std::chrono::steady_clock::now();
    qInfo("handshake: %llu bytes out, %llu in", static_cast<unsigned long long>(handshake.acked),
          static_cast<unsigned long long>(handshake.received));

    const std::vector<std::size_t> sizes{0, 16, 222, 223, 300, 1 << 20};
    const net::MessageKind kinds[] = {net::MessageKind::Ping, net::MessageKind::Forward, net::MessageKind::GradNorm,
                                      net::MessageKind::Reduce, net::MessageKind::StateRequest,
                                      net::MessageKind::Forward};
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      const std::vector<std::uint8_t> payload(sizes[i], static_cast<std::uint8_t>(i));
      QVERIFY(client.send(header_for(kinds[i], static_cast<std::uint32_t>(i)), payload, 5s));
      const auto incoming = server.receive(10s);
      QVERIFY(incoming.has_value());
      const std::vector<std::uint8_t> answer(sizes[sizes.size() - 1 - i] / 2, 0x5A);
      QVERIFY(server.reply(*incoming, header_for(net::MessageKind::Backward, incoming->message.header.micro_batch),
                           answer, 5s));
      QVERIFY(client.receive(10s).has_value());
      if (i == 2) std::this_thread::sleep_for(1500ms);  // a heartbeat or two each way, uncounted
    }

    const auto after = settled_count(port);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const auto sent = client_meter.snapshot().total().sent;
    const auto received = client_meter.snapshot().total().received;
    const auto kernel_sent = after.acked - handshake.acked;
    const auto kernel_received = after.received - handshake.received;
    qInfo("after %.1f s: counted %llu out, %llu in; the kernel carried %llu out, %llu in", seconds,
          static_cast<unsigned long long>(sent), static_cast<unsigned long long>(received),
          static_cast<unsigned long long>(kernel_sent), static_cast<unsigned long long>(kernel_received));

    // Both ends count the same messages.
    QCOMPARE(server_meter.snapshot().total().received, sent);
    QCOMPARE(server_meter.snapshot().total().sent, received);
    // A PING (42 bytes) and a PONG (40) each way each second, and the ones in flight at either end.
    const auto heartbeats = static_cast<std::uint64_t>(100 * (seconds + 2));
    QVERIFY2(kernel_sent >= sent && kernel_sent - sent <= heartbeats, "bytes sent do not add up");
    QVERIFY2(kernel_received >= received && kernel_received - received <= heartbeats, "bytes received do not add up");
    QVERIFY(kernel_sent - sent <= kernel_sent / 100);
#endif
  }
};

QTEST_APPLESS_MAIN(TestTrafficSocket)
#include "test_traffic_socket.moc"
