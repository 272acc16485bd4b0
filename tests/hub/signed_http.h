// A signed hub request as a node sends it (the three signature headers over the raw body), with a
// time of its own per call so that two requests of one node in the same millisecond differ (the
// hub refuses a replayed join, ready or heartbeat). For the spot-check tests.
#pragma once

#include <atomic>
#include <chrono>
#include <string>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "core/hub/request_verifier.h"
#include "core/protocol/hub_api.h"

namespace tessera::test {

struct SignedReply {
  int status = 0;  // 0: no answer
  nlohmann::json body;
};

inline SignedReply signed_post(const std::string& host, int port, const std::string& run_id, const std::string& path,
                               const wallet::KeyPair& key, const nlohmann::json& body) {
  static std::atomic<std::int64_t> offset{0};
  const auto text = body.dump();
  const auto at = hub::unix_ms() + offset++ % 1000;
  const auto headers = protocol::to_headers(protocol::sign_hub_request(run_id, "POST", path, text, at, key));
  httplib::Client client(host, port);
  client.set_read_timeout(std::chrono::seconds(20));
  const auto reply = client.Post(path,
                                 {{protocol::kNodeKeyHeader, headers.node_key},
                                  {protocol::kTimeHeader, headers.time_ms},
                                  {protocol::kSignatureHeader, headers.signature}},
                                 text, "application/json");
  if (!reply) return {};
  return {reply->status, nlohmann::json::parse(reply->body, nullptr, false)};
}

inline nlohmann::json get_json(const std::string& host, int port, const std::string& path) {
  httplib::Client client(host, port);
  client.set_read_timeout(std::chrono::seconds(20));
  const auto reply = client.Get(path);
  return reply && reply->status == 200 ? nlohmann::json::parse(reply->body, nullptr, false) : nlohmann::json();
}

}  // namespace tessera::test
