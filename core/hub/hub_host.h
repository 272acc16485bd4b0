// A hub serving several runs (issue 21): one API server, one gateway server and one loopback admin
// server for all of them, and the runs, each a HubService in hosted mode (its own database
// hub-<run>.db in the shared state folder, its settlement, statements, API keys and gateway
// model). Requests are dispatched at request time: /runs/<run>/… to that run's routes with the
// run-relative path, an unprefixed path to the default run, GET /api/runs to the catalog; the
// gateway's /v1/models lists every serving run's model and a completion goes to the run its
// "model" names. Runs are added, updated (a higher revision from the same publisher: the run's
// service is rebuilt on its same database) and retired while requests are served: a request takes
// a snapshot (shared_ptr) of its run under a mutex and is served outside it. A retired run stays
// listed and keeps serving its manifest, receipts and statements; joining it is refused with 410.
// The runs are kept in the state folder (run_registry.h) and served again after a restart.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/hub/hub_service.h"
#include "core/hub/run_registry.h"
#include "core/protocol/hub_admin_api.h"
#include "core/protocol/run_catalog.h"

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace tessera::hub {

class AdminToken;
class HttpListener;
class RunsController;

class HubHost {
 public:
  // `options` are every run's (hosted is set here): the servers' addresses and limits, TLS, the
  // hub key (every run must name it), the state folder (the registry, each run's database; empty:
  // in memory), and the admin access file (empty: no admin server). `public_host`: the host the
  // catalog's URLs and run links name (empty: options.host). Loads the registry.
  explicit HubHost(HubOptions options, std::string public_host = {});
  ~HubHost();  // stops
  HubHost(const HubHost&) = delete;
  HubHost& operator=(const HubHost&) = delete;

  // Adds or updates a run (served, then registered); `from_operator`: the command line's
  // --manifest, which becomes the default run (the unprefixed paths serve it) and may replace the
  // served manifest at the same revision. Throws std::invalid_argument (run_registry.h says when)
  // and std::runtime_error when the run's service cannot be built (its database is damaged or busy).
  RunRegistry::Change put(const protocol::RunManifest& manifest, bool from_operator = false);
  // Throws std::out_of_range for a run this hub does not serve.
  void retire(const std::string& run_id);

  // Opens the servers and serves every registered run. Throws std::runtime_error when there is no
  // run to serve or a server cannot bind.
  void start();
  void stop();

  int port() const { return port_; }
  std::string url() const;          // scheme://host:port of the API server
  int gateway_port() const { return gateway_port_; }
  std::string gateway_url() const;  // …/v1, "" without a hub key
  std::string admin_url() const;    // "" without an admin server
  bool serves_tls() const { return options_.tls != nullptr; }

  protocol::RunCatalog catalog() const;
  std::vector<protocol::HubRunInfo> runs() const;
  std::string default_run() const;
  // The run's service (null for a run this hub does not serve, or one being rebuilt).
  std::shared_ptr<HubService> run(const std::string& run_id) const;
  protocol::RunLink run_link(const std::string& run_id) const;  // meaningful with TLS

 private:
  struct Served {
    std::shared_ptr<HubService> service;  // null while it is rebuilt
    bool retired = false;
  };

  std::shared_ptr<HubService> build(const protocol::RunManifest& manifest);
  void serve(const protocol::RunManifest& manifest, bool retired);  // builds and swaps in, under change_mutex_
  std::optional<Served> find(const std::string& run_id) const;
  protocol::HubRunInfo info(const RegisteredRun& run) const;
  std::string run_url(const std::string& run_id) const;
  nlohmann::json request_stats() const;

  void serve_api(const httplib::Request& request, httplib::Response& response) const;
  void serve_gateway(const httplib::Request& request, httplib::Response& response) const;
  void serve_admin(const httplib::Request& request, httplib::Response& response) const;

  HubOptions options_;
  std::string public_host_;
  std::shared_ptr<const AdminToken> admin_token_;
  std::unique_ptr<RunsController> runs_api_;

  mutable std::mutex change_mutex_;  // one add, update or retire at a time; held by registry_ changes
  RunRegistry registry_;             // under change_mutex_
  std::string default_run_;          // under mutex_
  mutable std::mutex mutex_;
  std::map<std::string, Served> served_;  // under mutex_
  std::vector<std::string> order_;        // under mutex_: the runs as they were added (the catalog's order)
  bool started_ = false;

  std::unique_ptr<HttpListener> api_server_;
  std::unique_ptr<HttpListener> gateway_server_;
  std::unique_ptr<HttpListener> admin_server_;
  int port_ = 0;
  int gateway_port_ = 0;
  int admin_port_ = 0;
};

}  // namespace tessera::hub
