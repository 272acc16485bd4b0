// The runs routes over the node's control API (see runs_control.h). The node's ControlClient does
// not carry these routes yet (branch h4-node adds them): until it does, this file makes the five
// calls itself, with the control API's bearer token and error shape; when it lands, each method
// here becomes one ControlClient call.
#include "ui/runs_control.h"

#include <httplib.h>
#include <sodium.h>

#include <stdexcept>

#include "core/control/control_file.h"

namespace tessera::ui {
namespace {

class NodeRunsControl : public RunsControl {
 public:
  NodeRunsControl(const control::ControlEndpoint& endpoint, int timeout_ms)
      : port_(endpoint.port), timeout_(std::chrono::milliseconds(timeout_ms)) {
    authorization_ = "Bearer ";
    authorization_.append(reinterpret_cast<const char*>(endpoint.token.data()), endpoint.token.size());
  }
  ~NodeRunsControl() override { sodium_memzero(authorization_.data(), authorization_.size()); }

  NodeRuns list() override { return node_runs_from_json(call("/v1/runs", nullptr)); }
  void add(const std::string& link) override { post("/v1/runs", {{"link", link}}); }
  void remove(const std::string& run) override { post("/v1/runs/remove", {{"run", run}}); }
  void join(const std::string& run) override { post("/v1/runs/join", {{"run", run}}); }
  void leave() override { post("/v1/runs/leave", nlohmann::json::object()); }

 private:
  void post(const std::string& path, const nlohmann::json& body) { call(path, &body); }

  // GET without a body, POST with one; the control API's errors are {"error": {"message"}}.
  nlohmann::json call(const std::string& path, const nlohmann::json* body) {
    httplib::Client client("127.0.0.1", port_);
    client.set_connection_timeout(timeout_);
    client.set_read_timeout(timeout_);
    client.set_write_timeout(timeout_);
    const httplib::Headers headers{{"Authorization", authorization_}};
    auto result = body ? client.Post(path, headers, body->dump(), "application/json") : client.Get(path, headers);
    if (!result)
      throw std::runtime_error("the node is not answering on 127.0.0.1:" + std::to_string(port_) + " (" +
                               httplib::to_string(result.error()) + ")");
    auto json = nlohmann::json::parse(result->body, nullptr, false);
    if (result->status != 200) {
      std::string message = result->status == 404 ? "this node does not know about runs yet (update tessera-node)"
                                                   : result->body.substr(0, 200);
      if (!json.is_discarded() && json.is_object() && json.contains("error") && json["error"].is_object())
        message = json["error"].value("message", message);
      if (result->status == 400) throw std::invalid_argument(message);
      throw std::runtime_error(message + " (HTTP " + std::to_string(result->status) + ")");
    }
    if (json.is_discarded()) throw std::runtime_error("the node's answer is not JSON");
    return json;
  }

  int port_;
  std::chrono::milliseconds timeout_;
  std::string authorization_;  // "Bearer …", wiped on destruction
};

}  // namespace

std::unique_ptr<RunsControl> connectToNodeRuns(const QString& control_file, int timeout_ms) {
  return std::make_unique<NodeRunsControl>(control::read_control_file(control_file.toStdString()), timeout_ms);
}

}  // namespace tessera::ui
