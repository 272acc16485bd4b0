// The hostile HTTP client, the recording proxy and /proc memory (see hostile_client.h).
#include "tests/adversarial/hostile_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>
#include <sstream>

#include <httplib.h>
#include <sodium.h>

#include "core/wallet/encoding.h"

namespace tessera::adversarial {
namespace {

using namespace std::chrono_literals;

// A server that refuses a body early closes the socket under the client's feet: that must be
// an error the test sees, not a SIGPIPE that kills it.
void ignore_sigpipe() {
  static const bool once = [] {
    ::signal(SIGPIPE, SIG_IGN);
    return true;
  }();
  (void)once;
}

bool connection_header(const std::string& name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  // cpp-httplib's server files the peer's address among the headers; the rest belong to one hop.
  return lower == "host" || lower == "content-length" || lower == "connection" || lower == "transfer-encoding" ||
         lower == "remote_addr" || lower == "remote_port" || lower == "local_addr" || lower == "local_port";
}

httplib::Headers to_httplib(const Headers& headers) {
  httplib::Headers out;
  for (const auto& [name, value] : headers)
    if (!connection_header(name)) out.emplace(name, value);
  return out;
}

Headers from_httplib(const httplib::Headers& headers) {
  Headers out;
  for (const auto& [name, value] : headers)
    if (!connection_header(name)) out.emplace_back(name, value);
  return out;
}

std::unique_ptr<httplib::Client> client_for(const std::string& base, std::chrono::milliseconds timeout) {
  ignore_sigpipe();
  auto client = std::make_unique<httplib::Client>(base);
  client->set_connection_timeout(timeout);
  client->set_read_timeout(timeout);
  client->set_write_timeout(timeout);
  return client;
}

HttpReply reply_of(const httplib::Result& result) {
  HttpReply out;
  if (!result) {
    out.error = httplib::to_string(result.error());
    return out;
  }
  out.status = result->status;
  out.body = result->body;
  out.headers = from_httplib(result->headers);
  return out;
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  if (from.empty()) return text;
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

std::string upper(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::toupper(c); });
  return text;
}

std::string base64(const wallet::PublicKey& key, int variant) {
  std::string out(sodium_base64_encoded_len(key.size(), variant), '\0');
  sodium_bin2base64(out.data(), out.size(), key.data(), key.size(), variant);
  out.resize(std::strlen(out.c_str()));
  return out;
}

// Every spelling of a key a request might carry it in.
std::vector<std::string> spellings(const wallet::PublicKey& key) {
  const auto hex = wallet::to_hex(key);
  return {hex,
          upper(hex),
          wallet::base58_encode(key),
          base64(key, sodium_base64_VARIANT_ORIGINAL),
          base64(key, sodium_base64_VARIANT_ORIGINAL_NO_PADDING),
          base64(key, sodium_base64_VARIANT_URLSAFE),
          base64(key, sodium_base64_VARIANT_URLSAFE_NO_PADDING)};
}

}  // namespace

std::string HttpReply::header(const std::string& name) const {
  for (const auto& [key, value] : headers)
    if (key.size() == name.size() &&
        std::equal(key.begin(), key.end(), name.begin(), [](char a, char b) { return std::tolower(a) == std::tolower(b); }))
      return value;
  return {};
}

std::pair<std::string, std::string> split_url(const std::string& url) {
  const auto scheme = url.find("://");
  const auto slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  if (slash == std::string::npos) return {url, ""};
  return {url.substr(0, slash), url.substr(slash)};
}

int port_of(const std::string& url) {
  const auto base = split_url(url).first;
  return std::stoi(base.substr(base.rfind(':') + 1));
}

HttpReply post_raw(const std::string& base, const std::string& path, const std::string& body,
                   const std::string& content_type, const Headers& headers, std::chrono::milliseconds timeout) {
  auto client = client_for(base, timeout);
  return reply_of(client->Post(path.c_str(), to_httplib(headers), body, content_type.c_str()));
}

HttpReply get_raw(const std::string& base, const std::string& path, const Headers& headers,
                  std::chrono::milliseconds timeout) {
  auto client = client_for(base, timeout);
  return reply_of(client->Get(path.c_str(), to_httplib(headers)));
}

std::string nested_brackets(std::size_t bytes) { return std::string(bytes, '['); }

std::string many_empty_objects(std::size_t bytes) {
  std::string out;
  out.reserve(bytes + 8);
  out += "[{}";
  while (out.size() + 3 < bytes) out += ",{}";
  out += "]";
  return out;
}

// --- Slow clients ----------------------------------------------------------------------------

SlowClients::SlowClients(int port, int count, std::string path) {
  ignore_sigpipe();
  const std::string start = "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n";
  for (int i = 0; i < count; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) continue;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 ||
        ::send(fd, start.data(), start.size(), MSG_NOSIGNAL) < 0) {
      ::close(fd);
      continue;
    }
    sockets_.push_back(fd);
    ++opened_;
  }
  thread_ = std::thread([this] { drip(); });
}

SlowClients::~SlowClients() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  for (const int fd : sockets_)
    if (fd >= 0) ::close(fd);
}

void SlowClients::drip() {
  // A header that never ends: "X-Slow: aaaa…", one byte a second on every connection.
  bool named = false;
  while (!stop_) {
    const std::string piece = named ? "a" : "X-Slow: ";
    named = true;
    for (auto& fd : sockets_) {
      if (fd < 0) continue;
      if (::send(fd, piece.data(), piece.size(), MSG_NOSIGNAL) < 0) {
        ::close(fd);
        fd = -1;
        ++cut_;
      }
    }
    for (int i = 0; i < 10 && !stop_; ++i) std::this_thread::sleep_for(100ms);
  }
}

// --- Recorded requests -----------------------------------------------------------------------

HttpReply send_request(const std::string& base, const CapturedRequest& request) {
  auto client = client_for(base, 15s);
  std::string content_type = "application/json";
  Headers headers;
  for (const auto& [name, value] : request.headers) {
    std::string lower(name);
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    if (lower == "content-type") content_type = value;
    else headers.emplace_back(name, value);
  }
  if (request.method == "GET") return reply_of(client->Get(request.target.c_str(), to_httplib(headers)));
  return reply_of(client->Post(request.target.c_str(), to_httplib(headers), request.body, content_type.c_str()));
}

CapturedRequest impersonate(CapturedRequest request, const wallet::PublicKey& who, const wallet::PublicKey& as) {
  const auto from = spellings(who), to = spellings(as);
  for (std::size_t i = 0; i < from.size(); ++i) {
    request.body = replace_all(request.body, from[i], to[i]);
    request.target = replace_all(request.target, from[i], to[i]);
    for (auto& [name, value] : request.headers) value = replace_all(value, from[i], to[i]);
  }
  return request;
}

RecordingProxy::RecordingProxy(std::string hub_base)
    : hub_base_(std::move(hub_base)), server_(std::make_unique<httplib::Server>()) {
  const auto handle = [this](const httplib::Request& request, httplib::Response& response) {
    Exchange exchange;
    exchange.request.method = request.method;
    exchange.request.target = request.target.empty() ? request.path : request.target;
    exchange.request.headers = from_httplib(request.headers);
    exchange.request.body = request.body;
    if (forwarding_) {
      exchange.reply = send_request(hub_base_, exchange.request);
    } else {
      exchange.reply.status = 200;
      exchange.reply.body = R"({"ok":true})";
    }
    response.status = exchange.reply.answered() ? exchange.reply.status : 502;
    for (const auto& [name, value] : exchange.reply.headers)
      if (name != "Content-Type") response.set_header(name.c_str(), value);
    response.set_content(exchange.reply.body, exchange.reply.header("Content-Type").empty()
                                                  ? "application/json"
                                                  : exchange.reply.header("Content-Type").c_str());
    std::lock_guard lock(mutex_);
    exchanges_.push_back(std::move(exchange));
  };
  server_->Get(".*", handle);
  server_->Post(".*", handle);
  port_ = server_->bind_to_any_port("127.0.0.1");
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  for (int i = 0; i < 500 && !server_->is_running(); ++i) std::this_thread::sleep_for(2ms);
}

RecordingProxy::~RecordingProxy() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

std::string RecordingProxy::url() const { return "http://127.0.0.1:" + std::to_string(port_); }

std::vector<RecordingProxy::Exchange> RecordingProxy::exchanges() const {
  std::lock_guard lock(mutex_);
  return exchanges_;
}

std::optional<RecordingProxy::Exchange> RecordingProxy::last(const std::string& path) const {
  std::lock_guard lock(mutex_);
  for (auto it = exchanges_.rbegin(); it != exchanges_.rend(); ++it)
    if (it->request.target == path || it->request.target.rfind(path + "?", 0) == 0) return *it;
  return std::nullopt;
}

void RecordingProxy::clear() {
  std::lock_guard lock(mutex_);
  exchanges_.clear();
}

// --- Memory ----------------------------------------------------------------------------------

namespace {

std::optional<long> status_field(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field + ":", 0) == 0) {
      std::istringstream value(line.substr(field.size() + 1));
      long kib = 0;
      if (value >> kib) return kib;
    }
  return std::nullopt;
}

}  // namespace

std::optional<long> rss_kib(pid_t pid) { return status_field(pid, "VmRSS"); }
std::optional<long> peak_rss_kib(pid_t pid) { return status_field(pid, "VmHWM"); }

RssSampler::RssSampler(pid_t pid) : pid_(pid) {
  peak_ = rss_kib(pid_).value_or(0);
  thread_ = std::thread([this] {
    while (!stop_) {
      if (const auto now = rss_kib(pid_); now && *now > peak_) peak_ = *now;
      std::this_thread::sleep_for(10ms);
    }
  });
}

RssSampler::~RssSampler() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

}  // namespace tessera::adversarial
