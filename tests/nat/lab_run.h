// A Tessera run on a NetworkLab (network_lab.h), with the real binaries: tessera-hub on one host,
// tessera-node processes on others or behind NAT routers, each started with `ip netns exec`. The
// test process itself stays in its own namespace and talks to a host through a short-lived thread
// that joins that host's namespace (in_namespace). Every process is stopped in the destructor;
// what each printed is kept for failure messages.
#pragma once

#include <QProcess>
#include <QString>
#include <QTemporaryDir>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "core/protocol/manifest.h"
#include "core/wallet/signing.h"

namespace tessera::test {

// Runs `work` on a thread inside the network namespace `netns` (sockets it opens are there).
void in_namespace(const std::string& netns, const std::function<void()>& work);

class LabRun {
 public:
  // A run of `stages` stages of a tiny model; its manifest is signed by a fresh publisher that is
  // also the hub key.
  explicit LabRun(int stages);
  ~LabRun();

  // tessera-hub in `netns`, listening on address:8800; waits for its run link (empty on failure).
  std::string start_hub(const std::string& netns, const std::string& address);
  // tessera-node `name` in `netns`, joining the run by its link with `extra` options.
  void start_node(const std::string& name, const std::string& netns, const QStringList& extra = {});
  void kill_node(const std::string& name);  // SIGKILL

  // GET `path` from the hub (public routes), from inside its namespace; null on failure.
  nlohmann::json hub_get(const std::string& path);
  std::uint64_t steps();  // steps the hub saw committed
  // `tessera-node status --json` of a node (inside its namespace); null on failure.
  nlohmann::json node_status(const std::string& name);
  std::string node_key_hex(const std::string& name) const;

  const std::string& link() const { return link_; }
  QString output(const std::string& name);  // what a process printed ("hub" for the hub)
  QString outputs();                        // everything, for failure messages

 private:
  struct Process {
    std::string netns;
    std::filesystem::path data_dir;
    std::unique_ptr<QProcess> process;
  };
  void stop(Process& process);

  QTemporaryDir dir_;
  wallet::KeyPair publisher_ = wallet::KeyPair::generate();
  wallet::KeyPair owner_ = wallet::KeyPair::generate();
  protocol::RunManifest manifest_;
  std::string hub_netns_, hub_address_, link_;
  std::map<std::string, Process> processes_;
};

}  // namespace tessera::test
