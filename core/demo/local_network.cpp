// Embedded hub + peer processes for the local network.
#include "core/demo/local_network.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include <sodium.h>

#include "core/model/codec.h"
#include "core/protocol/hub_admin_api.h"
#include "core/protocol/manifest.h"
#include "core/wallet/delegation.h"
#include "core/wallet/encoding.h"
#include "core/wallet/secure_file.h"

namespace tessera::demo {
namespace {

std::string random_run_id() {
  std::uint8_t raw[4];
  randombytes_buf(raw, sizeof raw);
  return "local-" + wallet::to_hex(raw);
}

std::string tail_of(const std::filesystem::path& file, std::size_t bytes) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  const auto text = buffer.str();
  return text.size() > bytes ? text.substr(text.size() - bytes) : text;
}

// A week-long delegation for any run: the local network's peers live as long as it does.
wallet::Delegation week_long_delegation(const wallet::KeyPair& owner, const wallet::PublicKey& node_key) {
  const auto expires =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count() +
      7 * 24 * 3600;
  return wallet::sign_delegation(owner, node_key, wallet::kAnyRun, expires);
}

}  // namespace

LocalNetworkOptions demo_network_defaults() {
  LocalNetworkOptions o;
  o.model.layers = 3;
  o.model.width = 64;
  o.model.heads = 4;
  o.model.context = 32;
  o.model.seed = 7;
  o.train.micro_batch_size = 8;
  o.train.micro_batches = 4;
  o.train.lr = 3e-3;
  o.train.warmup_steps = 5;
  return o;
}

LocalNetwork::LocalNetwork(LocalNetworkOptions options)
    : options_(std::move(options)), owner_(wallet::KeyPair::generate()), hub_key_(wallet::KeyPair::generate()) {}

LocalNetwork::~LocalNetwork() { stop(std::chrono::milliseconds(5000)); }

wallet::Delegation LocalNetwork::delegate(const wallet::PublicKey& node_key) const {
  return week_long_delegation(owner_, node_key);
}

wallet::PublicKey LocalNetwork::prepare_peer(const std::filesystem::path& folder) {
  std::filesystem::create_directories(folder);
  const auto node_key = wallet::load_or_create_node_key(folder / wallet::kNodeKeyFileName);
  const auto delegation = week_long_delegation(wallet::KeyPair::generate(), node_key.public_key());
  const auto text = delegation.to_json().dump(2) + "\n";
  wallet::write_file_atomic(folder / "delegation.json", wallet::as_bytes(text), {}, wallet::IfExists::Replace);
  return node_key.public_key();
}

void LocalNetwork::start(int count, std::optional<std::filesystem::path> first_peer_folder) {
  protocol::RunManifest manifest;
  manifest.run_id = random_run_id();
  manifest.model = options_.model;
  if (model::parse_codec(options_.codec) == model::CodecKind::subspace && manifest.model.subspace_rank == 0)
    manifest.model.subspace_rank = 16;
  manifest.train = options_.train;
  manifest.stages = options_.stages;
  manifest.codec = options_.codec;
  manifest.averaging = options_.averaging;
  manifest.dataset = {"arithmetic"};
  manifest.epoch_seconds = options_.epoch_seconds;
  manifest.price_per_1k_tokens = options_.price_per_1k_tokens;
  manifest.hub_key = hub_key_.public_key();
  protocol::sign_manifest(manifest, hub_key_);
  hub::HubOptions hub_options;
  hub_options.host = options_.listen_host;
  hub_options.hub_key = &hub_key_;  // settles epochs, signs statements, serves the gateway
  hub_options.open_gateway = true;  // the local demo serves completions without a key, as demo usage
  // `tessera-hub --data-dir <this folder's parent> keys …` reaches it: paid completions with a key
  hub_options.admin_access_file = options_.folder / "hub" / protocol::hub_admin_api::kAccessFileName;
  hub_options.check_rate = options_.check_rate;
  hub_options.membership.joins_per_owner = {10.0, 1000.0};  // every local peer works for the demo's one owner
  hub_ = std::make_unique<hub::HubService>(manifest, hub_options);
  hub_->start();

  const auto self = std::filesystem::read_symlink("/proc/self/exe");
  for (int i = 0; i < count; ++i) {
    LocalPeer peer;
    peer.folder = (i == 0 && first_peer_folder) ? *first_peer_folder : options_.folder / ("peer-" + std::to_string(i));
    if (i == 0 && first_peer_folder) {
      std::filesystem::create_directories(peer.folder);
      peer.node_key = wallet::load_or_create_node_key(peer.folder / wallet::kNodeKeyFileName).public_key();
    } else {
      peer.node_key = prepare_peer(peer.folder);
    }
    std::vector<std::string> args{self.string(), "--data-dir", peer.folder.string(), "run", "--hub", hub_->url(),
                                  "--device", options_.device, "--threads", std::to_string(options_.threads),
                                  "--listen", "tcp://" + options_.listen_host + ":0", "--no-control",
                                  "--wait-peers", std::to_string(options_.stages * options_.replicas),
                                  "--hop-timeout-ms", "3000",
                                  // a peer of a network restarted at once finds its predecessor still stopping
                                  "--lock-wait-ms", "20000"};
    if (options_.relayed) {
      args.push_back(i == 0 ? "--relay" : "--via-relay");
      if (i == 0) args.push_back("0");
    }
    const auto log = peer.folder / "node.log";
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("cannot start a local peer process");
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (getppid() != parent) _exit(1);
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
      }
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    peer.pid = pid;
    peers_.push_back(std::move(peer));
  }
}

std::optional<std::string> LocalNetwork::check_children() {
  for (auto& peer : peers_) {
    if (peer.stopped || peer.pid <= 0) continue;
    int status = 0;
    if (waitpid(peer.pid, &status, WNOHANG) == peer.pid) {
      peer.stopped = true;
      return "local peer " + peer.folder.filename().string() + " exited (status " + std::to_string(status) +
             "); the end of its log:\n" + tail_of(peer.folder / "node.log", 2000);
    }
  }
  return std::nullopt;
}

void LocalNetwork::kill_peer(std::size_t index) {
  auto& peer = peers_.at(index);
  if (peer.stopped) return;
  ::kill(peer.pid, SIGKILL);
  waitpid(peer.pid, nullptr, 0);
  peer.stopped = true;
}

void LocalNetwork::stop(std::chrono::milliseconds grace) {
  for (auto& peer : peers_)
    if (!peer.stopped && peer.pid > 0) ::kill(peer.pid, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  for (auto& peer : peers_) {
    while (!peer.stopped && peer.pid > 0) {
      if (waitpid(peer.pid, nullptr, WNOHANG) == peer.pid) {
        peer.stopped = true;
        break;
      }
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(peer.pid, SIGKILL);
        waitpid(peer.pid, nullptr, 0);
        peer.stopped = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  if (hub_) hub_->stop();
}

}  // namespace tessera::demo
