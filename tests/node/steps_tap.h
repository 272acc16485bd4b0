// A hub front for tests: it passes every request to a real hub (hub::HubService) as it came —
// method, path and query, the signature headers, the body — and passes the answer back, except
// POST /api/steps, which it keeps (the driver's step record and progress, as sent) and answers
// itself as the test says: with a route seed for the next step signed by whatever key the test
// chooses, or with none. So a test sees what a driver reports and controls the seeds it gets,
// whatever the hub behind it does with step records.
#pragma once

#include <httplib.h>

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/protocol/hub_api.h"
#include "core/protocol/route_seed.h"
#include "core/protocol/step_record.h"

namespace tessera::test {

class StepsTap {
 public:
  // The seed to answer a record with; nothing: an answer without one.
  using Answer = std::function<std::optional<protocol::SignedRouteSeed>(const protocol::SignedStepRecord&)>;
  struct Posted {
    protocol::SignedStepRecord record;
    nlohmann::json progress;
    std::optional<protocol::SignedRouteSeed> answered;
  };

  explicit StepsTap(std::string hub_url) : hub_url_(std::move(hub_url)) {
    server_.Post(protocol::hub_api::kSteps, [this](const httplib::Request& request, httplib::Response& response) {
      take_step(request, response);
    });
    server_.Get(".*", [this](const httplib::Request& request, httplib::Response& response) { pass(request, response); });
    server_.Post(".*", [this](const httplib::Request& request, httplib::Response& response) { pass(request, response); });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ~StepsTap() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void answer_with(Answer answer) {
    std::lock_guard lock(mutex_);
    answer_ = std::move(answer);
  }
  std::vector<Posted> posted() const {
    std::lock_guard lock(mutex_);
    return posted_;
  }
  std::size_t malformed() const {
    std::lock_guard lock(mutex_);
    return malformed_;
  }

 private:
  void take_step(const httplib::Request& request, httplib::Response& response) {
    const auto body = nlohmann::json::parse(request.body, nullptr, false);
    const auto record = body.is_object() && body.contains("record") && body["record"].is_string()
                            ? protocol::SignedStepRecord::from_hex(body["record"].get<std::string>())
                            : std::nullopt;
    std::lock_guard lock(mutex_);
    if (!record || !body.contains("progress")) {
      ++malformed_;
      response.status = 400;
      response.set_content(R"({"error":{"message":"malformed step report"}})", "application/json");
      return;
    }
    Posted posted{*record, body["progress"], answer_ ? answer_(*record) : std::nullopt};
    nlohmann::json reply = nlohmann::json::object();
    if (posted.answered) reply["route_seed"] = posted.answered->to_hex();
    posted_.push_back(std::move(posted));
    response.set_content(reply.dump(), "application/json");
  }

  void pass(const httplib::Request& request, httplib::Response& response) {
    httplib::Client hub(hub_url_);
    httplib::Headers headers;
    for (const char* name : {protocol::kNodeKeyHeader, protocol::kTimeHeader, protocol::kSignatureHeader})
      if (request.has_header(name)) headers.emplace(name, request.get_header_value(name));
    auto result = request.method == "GET" ? hub.Get(request.target, headers)
                                          : hub.Post(request.target, headers, request.body, "application/json");
    if (!result) {
      response.status = 502;
      return;
    }
    response.status = result->status;
    response.set_content(result->body, "application/json");
  }

  std::string hub_url_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mutex_;
  Answer answer_;
  std::vector<Posted> posted_;
  std::size_t malformed_ = 0;
};

}  // namespace tessera::test
