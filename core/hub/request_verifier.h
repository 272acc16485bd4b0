// Who sent a signed hub request (protocol/hub_api.h, "Signed requests"): the node key named in its
// headers, once the signature over the run, the method, the path, the time and the raw body bytes
// verifies and the time is within the accepted clock difference. Checked before the body is
// parsed. Requests that change standing once (join, ready, leave, progress) are also refused when
// they repeat one already accepted (ReplayGuard); heartbeats, peer lists and receipt batches may
// repeat harmlessly (receipts are credited once by id). Routes take the sender from here, never
// from a body field.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/hub/replay_guard.h"
#include "core/protocol/hub_api.h"
#include "core/wallet/signing.h"

namespace tessera::hub {

// Milliseconds since the Unix epoch (signed requests carry it; delegations expire by it).
std::int64_t unix_ms();

enum class Replays { Refused, Harmless };

class RequestVerifier {
 public:
  RequestVerifier(std::string run_id, std::chrono::milliseconds skew) : run_id_(std::move(run_id)), skew_(skew) {}

  // The sender of a request. Throws net::HttpError 401 when it is not signed, std::invalid_argument
  // for a malformed header, net::HttpError 403 for a time outside the window, a signature that does
  // not match, or a repeat of a request that may not repeat.
  wallet::PublicKey verify(const protocol::SignatureHeaders& headers, std::string_view method, std::string_view path,
                           std::string_view body, Replays replays, std::int64_t now_ms = unix_ms()) const;

 private:
  std::string run_id_;
  std::chrono::milliseconds skew_;
  mutable ReplayGuard replays_;  // what verifying has seen; thread-safe
};

}  // namespace tessera::hub
