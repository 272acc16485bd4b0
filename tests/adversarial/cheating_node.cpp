// tessera-cheating-node: a contributor who modified their copy of the node, for the verification
// tests only (built under tests/, never installed). It runs a real node::SwarmNode as `tessera-node
// run` does, with its own data folder, a fresh node key and a fresh owner wallet that delegates to
// it, and corrupts its work through SwarmNodeOptions::tamper:
//
//   tessera-cheating-node --hub URL --data-dir DIR --cheat garbage|skip-backward|none
//
// It says what happens to it on standard output, one line each, for the test to read:
//   node <hex> owner <address>     at start
//   stage <k>                      once the hub gave it a stage
//   committed <step>               the first step it saw committed (0-based)
//   excluded <last step> <reason>  once the hub refused it, with the last step it saw committed;
//                                  the program then stops and exits 0
// SIGTERM or SIGINT stop it (exit 0). Its node log goes to standard error.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>

#include "core/node/swarm_node.h"
#include "core/wallet/delegation.h"
#include "core/wallet/encoding.h"

namespace {

using namespace std::chrono_literals;
using namespace tessera;

std::atomic<bool> g_stop{false};

void on_signal(int) { g_stop = true; }

int usage(const std::string& why) {
  std::cerr << "tessera-cheating-node: " << why
            << "\nusage: tessera-cheating-node --hub URL --data-dir DIR --cheat garbage|skip-backward|none\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string hub, data_dir, cheat;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--hub") hub = value;
    else if (flag == "--data-dir") data_dir = value;
    else if (flag == "--cheat") cheat = value;
    else return usage("unknown option " + flag);
  }
  if (hub.empty() || data_dir.empty() || cheat.empty()) return usage("--hub, --data-dir and --cheat are required");

  node::SwarmNodeOptions options;
  if (cheat == "garbage") options.tamper.garbage_activations = true;
  else if (cheat == "skip-backward") options.tamper.skip_backward = true;
  else if (cheat != "none") return usage("--cheat must be garbage, skip-backward or none");
  // As the demo's peers run (core/demo/local_network.cpp).
  options.hub_url = hub;
  options.data_dir = data_dir;
  options.threads = 1;
  options.hop_timeout = 3000ms;

  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  std::filesystem::create_directories(data_dir);
  const auto key = wallet::KeyPair::generate();
  const auto owner = wallet::KeyPair::generate();  // a fresh owner: an exclusion bars the owner too
  auto delegation = wallet::sign_delegation(owner, key.public_key(), wallet::kAnyRun, 4102444800);
  std::cout << "node " << wallet::to_hex(key.public_key()) << " owner " << delegation.owner_address << std::endl;

  node::SwarmNode swarm(key, std::move(delegation), options);
  std::atomic<bool> stop_node{false};
  std::string failure;
  std::thread runner([&] {
    try {
      swarm.run(stop_node);
    } catch (const std::exception& error) {
      failure = error.what();
    }
  });

  bool said_stage = false, said_committed = false;
  while (!g_stop) {
    const auto status = swarm.status();
    if (!said_stage && swarm.stage() >= 0) {
      std::cout << "stage " << swarm.stage() << std::endl;
      said_stage = true;
    }
    if (!said_committed && swarm.stats().committed_steps > 0) {
      std::cout << "committed " << status.step - 1 << std::endl;
      said_committed = true;
    }
    if (status.state == "excluded") {
      std::cout << "excluded " << status.step - 1 << " " << status.reason << std::endl;
      break;
    }
    std::this_thread::sleep_for(20ms);
  }
  stop_node = true;
  runner.join();
  if (!failure.empty()) std::cerr << "tessera-cheating-node: the node stopped: " << failure << std::endl;
  return 0;
}
