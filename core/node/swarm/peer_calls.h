// Talking to other nodes' stage servers, in two verbs: a blocking request() and, for several
// requests in flight on one connection, Links::post() then await(). Connections are pooled per
// peer; one that timed out is destroyed with its late reply. A request to this node itself is
// answered by the local handler, exactly as a remote one would be. A reply comes from the peer the
// request was sent to: each connection names the peer's server key, which CurveZMQ checks, and a
// reply counts only for a request still outstanding on that connection.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/net/endpoint.h"
#include "core/net/swarm_messages.h"

namespace tessera::node::swarm {

using Clock = std::chrono::steady_clock;
using net::Hop;

std::string short_key(const wallet::PublicKey& key);

// A peer that did not answer, answered wrongly or sent a bad payload: the step attempt fails,
// and `peer` is the one to leave out. `reported_by`: set when this node did not see the failure
// itself but `peer` was named in another peer's Error reply (the driver checks such a report
// before it believes it).
struct PeerFailure : std::runtime_error {
  wallet::PublicKey peer;
  std::optional<wallet::PublicKey> reported_by;
  PeerFailure(const wallet::PublicKey& who, const std::string& message,
              std::optional<wallet::PublicKey> reporter = std::nullopt)
      : std::runtime_error(message), peer(who), reported_by(reporter) {}
};

struct Reply {
  net::MessageHeader header;
  net::Envelope envelope;
};

// What a request sent: its size and the BLAKE2b-256 the header carried (the hash a receipt signs).
struct Sent {
  std::size_t bytes = 0;
  net::PayloadHash hash{};
};

// A reply that is an Error or of another kind than `expected` becomes a PeerFailure: of `hop`, or
// of the peer the Error names, reported by `hop`.
Reply expect(const Hop& hop, Reply reply, net::MessageKind expected);

class PeerCalls {
 public:
  // Answers a request addressed to this node itself (the driver's own stage).
  using LocalHandler = std::function<Reply(net::MessageHeader, const net::Envelope&)>;

  // Every connection counts what it carries into `traffic` (may be null), which must outlive this.
  PeerCalls(zmq::context_t& context, const net::CurveKeyPair& identity, const wallet::PublicKey& self,
            LocalHandler local, net::TrafficMeter* traffic = nullptr);

  // One request with a deadline: nothing when the peer did not answer in time.
  std::optional<Reply> request(const Hop& hop, const net::MessageHeader& header, const net::Envelope& message,
                               net::Timeout timeout, Sent* sent = nullptr);
  // One request whose failure (silence, an error reply, the wrong kind) names the peer.
  Reply request(const Hop& hop, const net::MessageHeader& header, const net::Envelope& message, net::Timeout timeout,
                net::MessageKind expected, Sent* sent = nullptr);

  // Connections kept for a while (a step, the stage server's life) with several requests in
  // flight on each: sent in order on one socket, so the peer takes them in order; replies are
  // matched by request id.
  class Links {
   public:
    explicit Links(PeerCalls& calls) : calls_(calls) {}
    struct Link {
      Hop hop;
      std::unique_ptr<net::Client> client;
      std::set<std::uint64_t> outstanding;   // posted and not answered yet (at most what was posted)
      std::map<std::uint64_t, Reply> early;  // replies to outstanding requests that came before they were awaited
      // Takes the reply to outstanding request `id` (its answer is in `early` after this).
      bool accept(std::uint64_t id, Reply reply);
      std::optional<Reply> take(std::uint64_t id);  // an early reply, and the request is done
      void forget(std::uint64_t id);                // no longer waited for: a late reply is dropped
    };
    // The link to `hop`, connected if it is not (a dropped one starts afresh).
    Link& open(const Hop& hop);
    std::uint64_t post(Link& link, const net::MessageHeader& header, const net::Envelope& message,
                       net::Timeout timeout, Sent& sent);
    Reply await(Link& link, std::uint64_t request, Clock::time_point deadline, net::MessageKind expected);
    // Reads whatever replies have arrived on `link` without waiting (after a poll said so).
    void collect(Link& link);
    static void drop(Link& link);  // late answers go with it
    void release_all();            // back to the pool, when every request was answered
    std::map<wallet::PublicKey, Link>& all() { return links_; }

   private:
    PeerCalls& calls_;
    std::map<wallet::PublicKey, Link> links_;
  };

  void clear_pool();

 private:
  std::unique_ptr<net::Client> acquire(const Hop& hop);
  void release(const Hop& hop, std::unique_ptr<net::Client> client);
  std::vector<std::uint8_t> frame(const net::Envelope& message, std::uint64_t& request);

  zmq::context_t& context_;
  const net::CurveKeyPair& identity_;
  wallet::PublicKey self_;
  LocalHandler local_;
  net::TrafficMeter* traffic_;
  std::atomic<std::uint64_t> counter_{1};
  std::mutex mutex_;
  std::map<std::string, std::vector<std::unique_ptr<net::Client>>> idle_;
};

}  // namespace tessera::node::swarm
