// The relay benchmark: swarm runs direct and relayed, and one hop's round trip (bench_relay.h).
#include "app/cli/bench_relay.h"

#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>
#include <vector>

#include <zmq.hpp>

#include "core/net/endpoint.h"
#include "core/net/zap.h"
#include "core/relay/relay_link.h"
#include "core/relay/relay_server.h"

namespace tessera::cli {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kRoundTrips = 400;

double tokens_per_s(const nlohmann::json& run) { return run.value("tokens_per_s", 0.0); }

// Median microseconds of `kRoundTrips` 64-byte request/replies from a CURVE client to a CURVE
// server answering on its own thread, at `endpoint`.
double median_round_trip_us(zmq::context_t& context, net::PeerAllowlist& allowlist, net::Server& server,
                            const wallet::KeyPair& server_key, const std::string& endpoint) {
  const auto client_key = wallet::KeyPair::generate();
  allowlist.allow(net::curve_keys_from(client_key).public_key);
  net::Client client(context, net::curve_keys_from(client_key), net::curve_keys_from(server_key).public_key, endpoint);
  net::MessageHeader header;
  header.kind = net::MessageKind::Ping;
  header.run_id = "bench-relay";
  const std::vector<std::uint8_t> payload(64, 7);
  std::vector<double> samples;
  for (int i = 0; i < kRoundTrips + 20; ++i) {
    const auto started = Clock::now();
    if (!client.send(header, payload, std::chrono::seconds(5))) break;
    const auto request = server.receive(std::chrono::seconds(5));
    if (!request || !server.reply(*request, header, payload, std::chrono::seconds(5))) break;
    if (!client.receive(std::chrono::seconds(5))) break;
    if (i >= 20) samples.push_back(std::chrono::duration<double, std::micro>(Clock::now() - started).count());
  }
  if (samples.empty()) return 0;
  std::nth_element(samples.begin(), samples.begin() + samples.size() / 2, samples.end());
  return samples[samples.size() / 2];
}

}  // namespace

nlohmann::json relay_hop_latency() {
  zmq::context_t context(1);
  auto allowlist = std::make_shared<net::PeerAllowlist>();
  net::ZapHandler zap(context, allowlist);
  const auto server_key = wallet::KeyPair::generate();
  net::Server server(context, net::curve_keys_from(server_key), "tcp://127.0.0.1:0");
  const auto port = static_cast<std::uint16_t>(std::stoi(server.endpoint().substr(server.endpoint().rfind(':') + 1)));
  relay::RelayServerOptions options;
  options.bind_host = "127.0.0.1";
  options.public_host = "127.0.0.1";
  relay::RelayServer relay_server(options);
  relay::RelayLink link("127.0.0.1", relay_server.port(), server_key, "127.0.0.1", port);
  const double direct = median_round_trip_us(context, *allowlist, server, server_key, server.endpoint());
  const double relayed = median_round_trip_us(context, *allowlist, server, server_key, link.public_endpoint());
  return {{"direct_round_trip_us", direct},
          {"relayed_round_trip_us", relayed},
          {"extra_latency_per_hop_us", relayed - direct},
          {"how", "median of 400 64-byte CurveZMQ request/replies on loopback, direct and through a RelayLink"}};
}

nlohmann::json measure_relay(const SwarmChild& run, int steps, bool quiet) {
  nlohmann::json out = nlohmann::json::object();
  for (const bool limited : {false, true}) {
    nlohmann::json codecs = nlohmann::json::object();
    for (const std::string codec : {"none", "subspace"}) {
      const auto arguments = "--codec " + codec + " --steps " + std::to_string(steps);
      const auto direct = run(arguments, limited);
      const auto relayed = run(arguments + " --relayed", limited);
      codecs[codec] = {{"direct_tokens_per_s", tokens_per_s(direct)},
                       {"relayed_tokens_per_s", tokens_per_s(relayed)},
                       {"ratio", tokens_per_s(direct) > 0 ? tokens_per_s(relayed) / tokens_per_s(direct) : 0.0}};
      if (direct.contains("error")) codecs[codec]["direct_error"] = direct["error"];
      if (relayed.contains("error")) codecs[codec]["relayed_error"] = relayed["error"];
      if (!quiet)
        std::cerr << "relay, codec " << codec << (limited ? ", 80 Mbit/s: " : ": ") << codecs[codec].dump() << std::endl;
    }
    out[limited ? "limited_link" : "loopback"] = codecs;
  }
  out["hop"] = relay_hop_latency();
  out["setup"] = "3 stage processes; relayed: the stage-0 process offers a relay and stages 1 and 2 are reached "
                 "only through it, so every hop of the pipeline (forward and backward) crosses the relay";
  return out;
}

}  // namespace tessera::cli
