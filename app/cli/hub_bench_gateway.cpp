// `tessera-hub bench`, gateway: small completions with and without slow clients holding
// connections. The hub holds no weights, so a stand-in stage-0 node answers Infer with fixed
// logits over CurveZMQ: what is measured is the hub's own path (HTTP, gateway, the swarm call).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>

#include <httplib.h>
#include <zmq.hpp>

#include "app/cli/hub_bench.h"
#include "core/net/endpoint.h"
#include "core/net/envelope.h"
#include "core/net/swarm_messages.h"
#include "core/net/zap.h"

namespace tessera::cli::hub_bench {
namespace {

// A stage-0 "node" that admits only the hub's key and answers every Infer with logits whose
// most likely token is '1'.
class StandInStage {
 public:
  StandInStage(const wallet::PublicKey& hub_key, std::string run_id, int vocab)
      : run_id_(std::move(run_id)), logits_(static_cast<std::size_t>(vocab), 0.0f) {
    logits_['1'] = 10.0f;
    auto allowlist = std::make_shared<net::PeerAllowlist>();
    allowlist->allow(net::curve_public_from(hub_key));
    zap_ = std::make_unique<net::ZapHandler>(context_, allowlist);
    server_ = std::make_unique<net::Server>(context_, net::curve_keys_from(key), "tcp://127.0.0.1:0");
    endpoint = server_->endpoint();
    thread_ = std::thread([this] { serve(); });
  }
  ~StandInStage() {
    stop_ = true;
    thread_.join();
  }
  wallet::KeyPair key = wallet::KeyPair::generate();
  std::string endpoint;

 private:
  void serve() {
    while (!stop_) {
      const auto in = server_->receive(std::chrono::milliseconds(100));
      if (!in || in->message.header.kind != net::MessageKind::Infer) continue;
      const auto request = net::unpack(in->message.payload);
      net::MessageHeader header;
      header.kind = net::MessageKind::Logits;
      header.run_id = run_id_;
      header.step = in->message.header.step;
      const nlohmann::json meta{
          {"request", request ? request->meta.value("request", nlohmann::json(0)) : nlohmann::json(0)}};
      std::vector<std::uint8_t> rows;  // one row per sequence of a batched Infer
      const auto one = net::floats_to_bytes(logits_);
      std::size_t sequences = 1;
      try {
        if (request) sequences = std::max<std::size_t>(1, net::InferRequest::decode(*request).sequences.size());
      } catch (const std::exception&) {
      }
      for (std::size_t i = 0; i < sequences; ++i) rows.insert(rows.end(), one.begin(), one.end());
      server_->reply(*in, header, net::pack(meta, rows), std::chrono::seconds(1));
    }
  }

  std::string run_id_;
  std::vector<float> logits_;
  zmq::context_t context_{1};
  std::unique_ptr<net::ZapHandler> zap_;
  std::unique_ptr<net::Server> server_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Holds a connection to 127.0.0.1:port by sending a request one byte a second, and connects
// again whenever the server drops it (a hub that cuts slow clients off shows as reconnections).
class SlowClient {
 public:
  explicit SlowClient(int port) : thread_([this, port] { hold(port); }) {}
  ~SlowClient() {
    stop_ = true;
    thread_.join();
  }
  int connections() const { return connections_; }

 private:
  void hold(int port) {
    static const std::string head = "POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
    while (!stop_) {
      const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in address{};
      address.sin_family = AF_INET;
      address.sin_port = htons(static_cast<std::uint16_t>(port));
      address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      bool open = ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0 &&
                  ::send(fd, head.data(), head.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(head.size());
      connections_ += open ? 1 : 0;
      for (int tick = 0; open && !stop_; ++tick) {
        if (tick % 10 == 9) open = ::send(fd, "x", 1, MSG_NOSIGNAL) == 1;  // a byte a second
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      ::close(fd);
    }
  }

  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::thread thread_;
};

std::string completion_body(const std::string& model) {
  return nlohmann::json{{"model", model}, {"prompt", "12"}, {"max_tokens", 4}, {"temperature", 0}}.dump();
}

// One completion that must succeed: the set-up works before anything is timed.
void check_serves(const std::string& host, int port, const std::string& model) {
  httplib::Client client(host, port);
  client.set_read_timeout(std::chrono::seconds(10));
  const auto result = client.Post("/v1/completions", completion_body(model), "application/json");
  if (!result) throw std::runtime_error("bench gateway: no answer to a completion");
  if (result->status != 200)
    throw std::runtime_error("bench gateway: a completion failed: HTTP " + std::to_string(result->status) + " " +
                             result->body);
}

// `count` small completions from 2 threads, each with `timeout`; at most `budget` in all.
nlohmann::json complete(const std::string& host, int port, const std::string& model, std::size_t count,
                        std::chrono::seconds timeout, std::chrono::seconds budget) {
  std::mutex mutex;
  std::vector<double> latencies;
  std::size_t failed = 0;
  std::atomic<std::size_t> next{0};
  const auto deadline = Clock::now() + budget;
  const auto body = completion_body(model);
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t)
    threads.emplace_back([&] {
      while (next++ < count && Clock::now() < deadline) {
        httplib::Client client(host, port);
        client.set_connection_timeout(timeout);
        client.set_read_timeout(timeout);
        client.set_write_timeout(timeout);
        const auto sent = Clock::now();
        const auto result = client.Post("/v1/completions", body, "application/json");
        const bool ok = result && result->status == 200;
        std::lock_guard lock(mutex);
        latencies.push_back(ok ? ms_since(sent) : std::chrono::duration<double, std::milli>(timeout).count());
        failed += ok ? 0 : 1;
      }
    });
  for (auto& thread : threads) thread.join();
  return {{"completions", latencies.size()},
          {"failed_or_timed_out", failed},
          {"timeout_ms", std::chrono::duration<double, std::milli>(timeout).count()},
          {"p50_ms", percentile(latencies, 50)},
          {"p99_ms", percentile(latencies, 99)}};
}

}  // namespace

nlohmann::json bench_gateway(const Options& options) {
  ScratchDir scratch;
  BenchHub hub(1, scratch.path);  // as tessera-hub runs: each completion's usage is committed
  StandInStage stage(hub.key.public_key(), hub.manifest.run_id, hub.manifest.model.vocab);
  join_member(hub, stage.endpoint, &stage.key);
  const auto gateway = hub.service->gateway_url();  // http://host:port/v1
  const auto colon = gateway.rfind(':');
  const auto host = gateway.substr(7, colon - 7);
  const int port = std::stoi(gateway.substr(colon + 1));
  const auto& model = hub.manifest.run_id;
  check_serves(host, port, model);
  complete(host, port, model, 10, std::chrono::seconds(5), std::chrono::seconds(10));  // warm-up
  const auto quiet = complete(host, port, model, options.completions, std::chrono::seconds(5), std::chrono::seconds(60));
  nlohmann::json held;
  {
    std::vector<std::unique_ptr<SlowClient>> slow;
    for (int i = 0; i < options.slow_clients; ++i) slow.push_back(std::make_unique<SlowClient>(port));
    const auto connected = [&] {
      int count = 0;
      for (const auto& client : slow) count += client->connections() > 0 ? 1 : 0;
      return count;
    };
    for (int wait = 0; wait < 100 && connected() < options.slow_clients; ++wait)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // a loaded machine starts threads late
    std::this_thread::sleep_for(std::chrono::milliseconds(500));   // and the server takes them up
    held = complete(host, port, model, options.completions, std::chrono::seconds(5), std::chrono::seconds(30));
    int connections = 0;
    for (const auto& client : slow) connections += client->connections();
    held["slow_client_connections"] = connections;
  }
  return {{"slow_clients", options.slow_clients},
          {"prompt_tokens", 2},
          {"max_tokens", 4},
          {"without_slow_clients", quiet},
          {"with_slow_clients", held},
          {"p99_with_vs_without", held["p99_ms"].get<double>() / std::max(quiet["p99_ms"].get<double>(), 1e-9)}};
}

}  // namespace tessera::cli::hub_bench
