// The run's data shards over HTTP (docs/data.md; paths in core/protocol/hub_api.h). GET
// /api/shards/<hash> serves an accepted shard's bytes to anyone, with HTTP Range so a cut download
// resumes (404 for a shard this hub has not accepted). POST /api/shards is a proposal: the raw
// bytes as the body, signed by a node key (signed_request.h) whose owner's delegation for this run
// rides in a header (protocol/data_shard.h); bytes that do not hash to the claimed hash are
// refused with 400, and the rest wait for the publisher's review (ShardStore). Proposals are rate
// limited per address and per owner (429 with Retry-After).
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "core/hub/rate_limiter.h"
#include "core/protocol/data_shard.h"

namespace httplib {
class Server;
struct Request;
}  // namespace httplib

namespace tessera::hub {

class RequestVerifier;
class ShardStore;

struct ShardLimits {
  RateLimit proposals_per_address{0.1, 10.0};  // 6 a minute, 10 at once
  RateLimit proposals_per_owner{1.0 / 60, 4.0};  // 1 a minute, 4 at once
};

class ShardsController {
 public:
  // Everything passed must outlive the controller, which must outlive the server it is mounted on.
  // `min_bytes`: the shortest shard worth proposing (one sequence of the run: context + 1 bytes).
  ShardsController(std::string run_id, std::uint64_t min_bytes, ShardStore& store, const RequestVerifier& verifier,
                   ShardLimits limits = {});

  void mount(httplib::Server& server);

 private:
  // The verified proposal's answer: {"hash", "bytes", "contributor", "state": "pending" | "accepted"}.
  nlohmann::json propose(const httplib::Request& request);

  std::string run_id_;
  std::uint64_t min_bytes_;
  ShardStore& store_;
  const RequestVerifier& verifier_;
  RateLimiter per_address_;
  RateLimiter per_owner_;
};

}  // namespace tessera::hub
