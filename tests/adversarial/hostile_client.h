// A hostile HTTP client of the hub: raw requests with any body (deeply nested, huge), slow
// connections that dribble their headers (slowloris), and a recording proxy that sits between a
// member's real client::HubClient and the hub, so the test holds the exact bytes of a signed
// request (whatever their format: body or headers) to replay it, or to alter it and send it as a
// forgery. Also the hub process's memory, read from /proc.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/wallet/signing.h"

namespace httplib {
class Server;
}

namespace tessera::adversarial {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpReply {
  int status = 0;  // 0: no HTTP answer (refused, reset, timed out)
  std::string body;
  Headers headers;
  std::string error;  // why there was no answer
  bool answered() const { return status > 0; }
  std::string header(const std::string& name) const;  // case-insensitive; empty when absent
};

// "http://127.0.0.1:PORT/v1" → {"http://127.0.0.1:PORT", "/v1"}
std::pair<std::string, std::string> split_url(const std::string& url);
int port_of(const std::string& url);

// One request as a hostile client sends it. A server that closes the connection while the body is
// still being sent (refusing it early) shows as status 0 with the error.
HttpReply post_raw(const std::string& base, const std::string& path, const std::string& body,
                   const std::string& content_type = "application/json", const Headers& headers = {},
                   std::chrono::milliseconds timeout = std::chrono::milliseconds(30000));
HttpReply get_raw(const std::string& base, const std::string& path, const Headers& headers = {},
                  std::chrono::milliseconds timeout = std::chrono::milliseconds(30000));

// `bytes` of '[' (nesting that deep), the body that crashed the hub's recursive copy.
std::string nested_brackets(std::size_t bytes);
// A JSON array of about `bytes` of empty objects, "[{},{},…]": shallow but millions of values.
std::string many_empty_objects(std::size_t bytes);

// `count` connections to 127.0.0.1:port that send a request line and then one header byte a
// second, forever: each holds a server worker that waits for the rest of the headers.
class SlowClients {
 public:
  SlowClients(int port, int count, std::string path = "/api/heartbeat");
  ~SlowClients();
  SlowClients(const SlowClients&) = delete;
  SlowClients& operator=(const SlowClients&) = delete;
  int opened() const { return opened_; }
  int cut_off() const { return cut_; }  // connections the server closed on them

 private:
  void drip();
  std::vector<int> sockets_;
  std::atomic<bool> stop_{false};
  std::atomic<int> opened_{0}, cut_{0};
  std::thread thread_;
};

// A request captured on its way to the hub, exactly as the client sent it.
struct CapturedRequest {
  std::string method;
  std::string target;  // path and query
  Headers headers;     // without the connection's own (Host, Content-Length, …)
  std::string body;
};

// Sends a captured (or altered) request to `base` as it is.
HttpReply send_request(const std::string& base, const CapturedRequest& request);
// The request with every spelling of `who`'s key (hex either case, base58, base64) replaced by
// `as`'s: the same request claiming to come from another node.
CapturedRequest impersonate(CapturedRequest request, const wallet::PublicKey& who, const wallet::PublicKey& as);

// An HTTP proxy on 127.0.0.1 in front of the hub: records every request and the hub's reply;
// with forwarding off it answers {"ok": true} itself and the hub never sees the request.
class RecordingProxy {
 public:
  explicit RecordingProxy(std::string hub_base);
  ~RecordingProxy();
  RecordingProxy(const RecordingProxy&) = delete;
  RecordingProxy& operator=(const RecordingProxy&) = delete;

  std::string url() const;
  void forward(bool on) { forwarding_ = on; }
  struct Exchange {
    CapturedRequest request;
    HttpReply reply;
  };
  std::vector<Exchange> exchanges() const;
  // The last request to `path` (any query), if one came.
  std::optional<Exchange> last(const std::string& path) const;
  void clear();

 private:
  std::string hub_base_;
  std::unique_ptr<httplib::Server> server_;
  int port_ = 0;
  std::atomic<bool> forwarding_{true};
  mutable std::mutex mutex_;
  std::vector<Exchange> exchanges_;
  std::thread thread_;
};

// Resident memory of a process (VmRSS, VmHWM of /proc/<pid>/status) in KiB; nothing if unreadable.
std::optional<long> rss_kib(pid_t pid);
std::optional<long> peak_rss_kib(pid_t pid);

// Samples a process's VmRSS every 10 ms on a thread and keeps the largest.
class RssSampler {
 public:
  explicit RssSampler(pid_t pid);
  ~RssSampler();
  long peak_kib() const { return peak_; }

 private:
  pid_t pid_;
  std::atomic<bool> stop_{false};
  std::atomic<long> peak_{0};
  std::thread thread_;
};

}  // namespace tessera::adversarial
