// A GatewayController on 127.0.0.1 with a free port, over a fixed next-token table standing in
// for the swarm and the hub's own billing (KeyBilling over an in-memory store): what test_gateway,
// test_hub_chat and the gateway_fixture program (the OpenAI client's test) serve.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "core/hub/api_key_book.h"
#include "core/hub/gateway.h"
#include "core/hub/gateway_controller.h"
#include "core/hub/hub_store.h"
#include "core/hub/key_billing.h"
#include "core/hub/route_table.h"
#include "core/hub/settlement_book.h"
#include "core/wallet/signing.h"

namespace tessera::test {

// "Counts": after a digit d the most likely next byte is d + 1 (mod 10); after anything else '0'.
// With `reply` set, the tokens after the first `reply_from` are `reply`'s bytes instead (its last
// byte repeated).
class CountingSource : public hub::NextTokenSource {
 public:
  std::vector<float> next_token_logits(const std::vector<std::int32_t>& tokens, std::chrono::milliseconds) override {
    ++calls;
    last_length = tokens.size();
    if (fail_after >= 0 && calls > fail_after) throw std::runtime_error("stage 1 stopped answering");
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
    std::vector<float> logits(256, 0.0f);
    const int last = tokens.back();
    int next = last >= '0' && last <= '9' ? '0' + (last - '0' + 1) % 10 : '0';
    if (!reply.empty() && tokens.size() >= reply_from)
      next = static_cast<unsigned char>(reply[std::min(tokens.size() - reply_from, reply.size() - 1)]);
    logits[static_cast<std::size_t>(next)] = 20.0f;
    return logits;
  }
  std::atomic<int> calls{0};
  std::atomic<std::size_t> last_length{0};
  int fail_after = -1;
  std::chrono::milliseconds delay{0};
  std::string reply;
  std::size_t reply_from = 0;
};

// The limits test_gateway runs with: a 16-token context, 64 tokens per request.
inline hub::CompletionLimits small_gateway_limits() {
  hub::CompletionLimits limits;
  limits.model_id = "tessera-demo";
  limits.context = 16;
  limits.max_tokens = 64;
  return limits;
}

struct GatewayServer {
  CountingSource source;
  wallet::KeyPair hub_key = wallet::KeyPair::generate();
  hub::HubStore store{{}, "run-1"};
  hub::SettlementBook book;
  hub::ApiKeyBook keys{store};
  hub::KeyBilling billing;
  std::unique_ptr<hub::Gateway> gateway;
  httplib::Server server;
  std::thread thread;
  int port = 0;

  // `open`: requests without a key are demo usage (as the local demo runs it); closed otherwise.
  explicit GatewayServer(bool open = true, std::uint64_t price_per_1k = 1000,
                         const hub::CompletionLimits& limits = small_gateway_limits())
      : book(store, "run-1", hub_key, price_per_1k, "USDC"), billing(store, keys, book, price_per_1k, open) {
    hub::GatewayOptions options;
    options.limits = limits;
    options.max_concurrent = 8;
    gateway = std::make_unique<hub::Gateway>(options, source, billing);
    hub::serve_controller(server, hub::GatewayController(*gateway));
    server.new_task_queue = [] { return new httplib::ThreadPool(12); };
    port = server.bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { server.listen_after_bind(); });
    while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ~GatewayServer() {
    server.stop();
    thread.join();
  }
  GatewayServer(const GatewayServer&) = delete;
  GatewayServer& operator=(const GatewayServer&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port) + "/v1"; }
  // httplib's Client must not be moved: hand out a pointer.
  std::unique_ptr<httplib::Client> client(const std::string& key = {}) {
    auto c = std::make_unique<httplib::Client>("127.0.0.1", port);
    c->set_read_timeout(std::chrono::seconds(10));
    if (!key.empty()) c->set_bearer_token_auth(key);
    return c;
  }
  httplib::Result complete(const std::string& key, const nlohmann::json& request) {
    return client(key)->Post("/v1/completions", request.dump(), "application/json");
  }
  httplib::Result chat(const std::string& key, const nlohmann::json& request) {
    return client(key)->Post("/v1/chat/completions", request.dump(), "application/json");
  }
  protocol::ApiKeyInfo info(std::int64_t id) {
    for (const auto& key : keys.list())
      if (key.id == id) return key;
    throw std::out_of_range("no such key");
  }
  std::uint64_t revenue() { return book.open_epoch_json()["revenue"].get<std::uint64_t>(); }
};

// The `data:` payloads of a server-sent event stream, in order ("[DONE]" included).
inline std::vector<std::string> sse_events(const std::string& body) {
  std::vector<std::string> events;
  std::size_t start = 0;
  while ((start = body.find("data: ", start)) != std::string::npos) {
    const auto end = body.find("\n\n", start);
    events.push_back(body.substr(start + 6, end - start - 6));
    start = end;
  }
  return events;
}

}  // namespace tessera::test
