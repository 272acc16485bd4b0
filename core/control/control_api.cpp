// Control API over cpp-httplib: bearer-token check before routing, JSON bodies, OpenAI-style
// error objects, and a server-sent event stream fed by the EventBus.
#include "core/control/control_api.h"

#include <httplib.h>
#include <sodium.h>

#include <algorithm>
#include <stdexcept>

#include "core/net/http_json.h"

namespace tessera::control {
namespace {

constexpr auto kEventPoll = std::chrono::milliseconds(500);
constexpr int kKeepAliveEvery = 20;  // polls between SSE keep-alive comments (10 s)

using net::reply_json;

nlohmann::json body_of(const httplib::Request& request) {
  return net::json_object_body(request, net::EmptyBody::IsEmptyObject);
}

// The node's settings as it answered them; a node that sends settings these rules refuse is a
// node error, not the user's.
NodeSettings decode_settings(const nlohmann::json& json) {
  try {
    return NodeSettings::from_json(json);
  } catch (const std::invalid_argument& error) {
    throw std::runtime_error(std::string("node control API: ") + error.what());
  }
}

std::string sse_frame(const Event& event) {
  return "id: " + std::to_string(event.id) + "\nevent: " + event.type + "\ndata: " + event.data.dump() + "\n\n";
}

RunsReport decode_runs(const nlohmann::json& json) {
  try {
    return RunsReport::from_json(json);
  } catch (const std::exception& error) {
    throw std::runtime_error(std::string("node control API: ") + error.what());
  }
}

// A string field of at most `max_bytes` a runs command needs ("link", "run").
std::string text_field(const nlohmann::json& body, const char* name, std::size_t max_bytes) {
  const auto found = body.find(name);
  if (found == body.end() || !found->is_string() || found->get_ref<const std::string&>().empty())
    throw std::invalid_argument(std::string("this command needs \"") + name + "\": a non-empty string");
  if (found->get_ref<const std::string&>().size() > max_bytes)
    throw std::invalid_argument(std::string("\"") + name + "\" is longer than " + std::to_string(max_bytes) + " bytes");
  return found->get<std::string>();
}

constexpr std::size_t kMaxLinkBytes = 1024;
constexpr std::size_t kMaxRunIdBytes = 256;

}  // namespace

RunsReport ControlHandler::runs() { throw std::invalid_argument("this node does not manage runs"); }
RunsReport ControlHandler::add_run(const std::string&) { return runs(); }
RunsReport ControlHandler::remove_run(const std::string&) { return runs(); }
RunsReport ControlHandler::join_run(const std::string&) { return runs(); }
RunsReport ControlHandler::leave_run() { return runs(); }

ControlServer::ControlServer(ControlHandler& handler, EventBus& events)
    : handler_(handler), events_(events), token_(64) {
  wallet::SecureBytes raw(32);
  randombytes_buf(raw.data(), raw.size());
  std::vector<char> hex(65);
  sodium_bin2hex(hex.data(), hex.size(), raw.data(), raw.size());
  std::copy_n(reinterpret_cast<const std::uint8_t*>(hex.data()), 64, token_.data());
  sodium_memzero(hex.data(), hex.size());
}

ControlServer::~ControlServer() { stop(); }

void ControlServer::start(int port) {
  if (server_) throw std::logic_error("the control API is already running");
  server_ = std::make_unique<httplib::Server>();
  auto& server = *server_;
  server.set_read_timeout(std::chrono::seconds(5));
  server.set_write_timeout(std::chrono::seconds(5));
  server.set_payload_max_length(64 * 1024);

  server.set_pre_routing_handler([this](const httplib::Request& request, httplib::Response& response) {
    const std::string expected_prefix = "Bearer ";
    const auto& header = request.get_header_value("Authorization");
    const bool ok = header.size() == expected_prefix.size() + token_.size() &&
                    header.compare(0, expected_prefix.size(), expected_prefix) == 0 &&
                    sodium_memcmp(header.data() + expected_prefix.size(), token_.data(), token_.size()) == 0;
    if (ok) return httplib::Server::HandlerResponse::Unhandled;
    net::reply_error(response, 401, "missing or wrong bearer token (see control.json in the node's data folder)",
                     "unauthorized");
    return httplib::Server::HandlerResponse::Handled;
  });
  net::reply_thrown_errors(server, {"invalid_request", "node_error"});

  server.Get("/v1/status", [this](const httplib::Request&, httplib::Response& response) {
    reply_json(response, 200, handler_.status().to_json());
  });
  server.Post("/v1/start", [this](const httplib::Request&, httplib::Response& response) {
    handler_.start();
    reply_json(response, 200, handler_.status().to_json());
  });
  server.Post("/v1/pause", [this](const httplib::Request& request, httplib::Response& response) {
    const auto body = body_of(request);
    handler_.pause(body.value("finish_step", false));
    reply_json(response, 200, handler_.status().to_json());
  });
  server.Post("/v1/snooze", [this](const httplib::Request& request, httplib::Response& response) {
    const auto body = body_of(request);
    std::int64_t seconds = -1;
    if (body.contains("hours") && body["hours"].is_number()) seconds = std::llround(body["hours"].get<double>() * 3600);
    if (body.contains("seconds") && body["seconds"].is_number_integer()) seconds = body["seconds"].get<std::int64_t>();
    if (seconds <= 0 || seconds > 7 * 24 * 3600)
      throw std::invalid_argument("snooze needs \"hours\" or \"seconds\": more than 0, at most 7 days");
    handler_.snooze(std::chrono::seconds(seconds));
    reply_json(response, 200, handler_.status().to_json());
  });
  server.Get("/v1/settings", [this](const httplib::Request&, httplib::Response& response) {
    reply_json(response, 200, handler_.settings().to_json());
  });
  server.Put("/v1/settings", [this](const httplib::Request& request, httplib::Response& response) {
    reply_json(response, 200, handler_.update_settings(body_of(request)).to_json());
  });
  server.Get(kRunsPath, [this](const httplib::Request&, httplib::Response& response) {
    reply_json(response, 200, handler_.runs().to_json());
  });
  server.Post(kRunsPath, [this](const httplib::Request& request, httplib::Response& response) {
    reply_json(response, 200, handler_.add_run(text_field(body_of(request), "link", kMaxLinkBytes)).to_json());
  });
  server.Post(kRunsRemovePath, [this](const httplib::Request& request, httplib::Response& response) {
    reply_json(response, 200, handler_.remove_run(text_field(body_of(request), "run", kMaxRunIdBytes)).to_json());
  });
  server.Post(kRunsJoinPath, [this](const httplib::Request& request, httplib::Response& response) {
    reply_json(response, 200, handler_.join_run(text_field(body_of(request), "run", kMaxRunIdBytes)).to_json());
  });
  server.Post(kRunsLeavePath, [this](const httplib::Request& request, httplib::Response& response) {
    body_of(request);  // an object or nothing
    reply_json(response, 200, handler_.leave_run().to_json());
  });
  server.Get("/v1/events", [this](const httplib::Request&, httplib::Response& response) {
    auto subscription = events_.subscribe();
    response.set_header("Cache-Control", "no-cache");
    response.set_chunked_content_provider(
        "text/event-stream", [this, subscription, polls = 0](size_t, httplib::DataSink& sink) mutable {
          while (!stopping_ && sink.is_writable()) {
            if (auto event = subscription->next(kEventPoll)) {
              const auto frame = sse_frame(*event);
              return sink.write(frame.data(), frame.size());
            }
            if (++polls % kKeepAliveEvery == 0) {
              static const std::string keep_alive = ": keep-alive\n\n";
              return sink.write(keep_alive.data(), keep_alive.size());
            }
          }
          sink.done();
          return false;
        });
  });

  port_ = port == 0 ? server.bind_to_any_port("127.0.0.1") : (server.bind_to_port("127.0.0.1", port) ? port : -1);
  if (port_ <= 0) {
    server_.reset();
    throw std::runtime_error("the control API cannot listen on 127.0.0.1" +
                             (port ? ":" + std::to_string(port) + " (in use?)" : std::string()));
  }
  stopping_ = false;
  thread_ = std::thread([&server] { server.listen_after_bind(); });
  // stop() only interrupts a running loop: wait until it runs (bind already accepts connections).
  for (int i = 0; i < 500 && !server.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
}

void ControlServer::stop() {
  stopping_ = true;
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
  server_.reset();
}

ControlClient::ControlClient(int port, const wallet::SecureBytes& token, std::chrono::milliseconds timeout)
    : port_(port), timeout_(timeout) {
  authorization_ = "Bearer ";
  authorization_.append(reinterpret_cast<const char*>(token.data()), token.size());
}

ControlClient::~ControlClient() { sodium_memzero(authorization_.data(), authorization_.size()); }

nlohmann::json ControlClient::call(const char* method, const std::string& path, const nlohmann::json* body) {
  return call(method, path, body, timeout_);
}

nlohmann::json ControlClient::call(const char* method, const std::string& path, const nlohmann::json* body,
                                   std::chrono::milliseconds timeout) {
  httplib::Client client("127.0.0.1", port_);
  client.set_connection_timeout(timeout_);
  client.set_read_timeout(timeout);
  client.set_write_timeout(timeout_);
  const httplib::Headers headers{{"Authorization", authorization_}};
  const std::string payload = body ? body->dump() : std::string();
  httplib::Result result = std::string(method) == "GET"   ? client.Get(path, headers)
                           : std::string(method) == "PUT" ? client.Put(path, headers, payload, "application/json")
                                                          : client.Post(path, headers, payload, "application/json");
  if (!result)
    throw std::runtime_error("the node is not answering on 127.0.0.1:" + std::to_string(port_) + " (" +
                             httplib::to_string(result.error()) + "); is tessera-node running?");
  auto json = nlohmann::json::parse(result->body, nullptr, false);
  if (result->status != 200) {
    const std::string message = !json.is_discarded() && json.contains("error")
                                    ? json["error"].value("message", std::string("unknown error"))
                                    : result->body;
    if (result->status == 400) throw std::invalid_argument(message);
    throw std::runtime_error("node control API: " + message + " (HTTP " + std::to_string(result->status) + ")");
  }
  if (json.is_discarded()) throw std::runtime_error("node control API: the answer is not JSON");
  return json;
}

NodeStatus ControlClient::status() { return NodeStatus::from_json(call("GET", "/v1/status", nullptr)); }
NodeStatus ControlClient::start() { return NodeStatus::from_json(call("POST", "/v1/start", nullptr)); }
NodeStatus ControlClient::pause(bool finish_step) {
  const nlohmann::json body{{"finish_step", finish_step}};
  return NodeStatus::from_json(call("POST", "/v1/pause", &body));
}
NodeStatus ControlClient::snooze(std::chrono::seconds duration) {
  const nlohmann::json body{{"seconds", duration.count()}};
  return NodeStatus::from_json(call("POST", "/v1/snooze", &body));
}
NodeSettings ControlClient::settings() { return decode_settings(call("GET", "/v1/settings", nullptr)); }
NodeSettings ControlClient::update_settings(const nlohmann::json& patch) {
  return decode_settings(call("PUT", "/v1/settings", &patch));
}

// The runs commands may contact hubs (add verifies the link's manifest; every answer carries the
// report): they wait as long as GET /v1/runs does.
constexpr auto kRunsTimeout = std::chrono::milliseconds(30000);

RunsReport ControlClient::runs() { return decode_runs(call("GET", kRunsPath, nullptr, std::max(timeout_, kRunsTimeout))); }
RunsReport ControlClient::add_run(const std::string& link) {
  const nlohmann::json body{{"link", link}};
  return decode_runs(call("POST", kRunsPath, &body, std::max(timeout_, kRunsTimeout)));
}
RunsReport ControlClient::remove_run(const std::string& run) {
  const nlohmann::json body{{"run", run}};
  return decode_runs(call("POST", kRunsRemovePath, &body, std::max(timeout_, kRunsTimeout)));
}
RunsReport ControlClient::join_run(const std::string& run) {
  const nlohmann::json body{{"run", run}};
  return decode_runs(call("POST", kRunsJoinPath, &body, std::max(timeout_, kRunsTimeout)));
}
RunsReport ControlClient::leave_run() {
  const nlohmann::json body = nlohmann::json::object();
  return decode_runs(call("POST", kRunsLeavePath, &body, std::max(timeout_, kRunsTimeout)));
}

void ControlClient::watch_events(const std::function<bool(const Event&)>& on_event) {
  httplib::Client client("127.0.0.1", port_);
  client.set_connection_timeout(timeout_);
  client.set_read_timeout(std::chrono::seconds(60));  // keep-alives arrive every 10 s
  std::string buffer;
  bool keep_going = true;
  const auto result = client.Get(
      "/v1/events", httplib::Headers{{"Authorization", authorization_}},
      [&](const char* data, size_t size) {
        buffer.append(data, size);
        for (auto end = buffer.find("\n\n"); end != std::string::npos && keep_going; end = buffer.find("\n\n")) {
          const std::string frame = buffer.substr(0, end);
          buffer.erase(0, end + 2);
          Event event;
          std::size_t start = 0;
          while (start < frame.size()) {
            auto stop = frame.find('\n', start);
            if (stop == std::string::npos) stop = frame.size();
            const std::string line = frame.substr(start, stop - start);
            if (line.rfind("id: ", 0) == 0) event.id = std::stoull(line.substr(4));
            else if (line.rfind("event: ", 0) == 0) event.type = line.substr(7);
            else if (line.rfind("data: ", 0) == 0) event.data = nlohmann::json::parse(line.substr(6), nullptr, false);
            start = stop + 1;
          }
          if (!event.type.empty()) keep_going = on_event(event);
        }
        return keep_going;
      });
  if (!result && keep_going && result.error() != httplib::Error::Canceled)
    throw std::runtime_error("lost the node's event stream: " + httplib::to_string(result.error()));
}

}  // namespace tessera::control
