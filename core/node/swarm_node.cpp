// The swarm node's facade and lifecycle: join → sync → serve → train → leave; a rejoin that lands
// on another stage goes back through build → sync without leaving. The parts live in
// core/node/swarm/: the stage server thread (StageServer, Handlers), the hub thread (HubLink), the
// caller's thread (StateTransfer on sync, StepDriver when this node drives), and the state they
// share (RunContext read-only, LocalStage under its mutex, StatusBoard, WorkLog). Nothing that
// waits on a downstream peer holds the LocalStage mutex while a request it needs could be waiting
// for it: no deadlock.
#include "core/node/swarm_node.h"

#include <algorithm>
#include <thread>

#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include "core/engine/backend_loader.h"
#include "core/ledger/ledger.h"
#include "core/node/swarm/catch_up.h"
#include "core/node/swarm/handlers.h"
#include "core/node/swarm/hub_link.h"
#include "core/node/swarm/reachability.h"
#include "core/node/swarm/local_stage.h"
#include "core/node/swarm/peer_roles.h"
#include "core/node/swarm/run_context.h"
#include "core/node/swarm/spot_checker.h"
#include "core/node/swarm/stage_server.h"
#include "core/node/swarm/status_board.h"
#include "core/node/swarm/step_driver.h"
#include "core/node/swarm/work_log.h"

namespace tessera::node {

using namespace std::chrono_literals;
using swarm::Clock;

struct SwarmNode::Impl {
  Impl(const wallet::KeyPair& node_key, wallet::Delegation owner_delegation, SwarmNodeOptions node_options, control::EventBus* bus)
      : key(wallet::KeyPair::from_seed(node_key.seed())), delegation(std::move(owner_delegation)),
        options(std::move(node_options)), events(bus), run(key, options), board(bus),
        hub(std::make_unique<swarm::HubLink>(run, allowlist, roles, board, events)) {}

  wallet::KeyPair key;
  wallet::Delegation delegation;
  SwarmNodeOptions options;
  control::EventBus* events;
  swarm::RunContext run;
  swarm::StatusBoard board;
  swarm::PeerRoles roles;  // the hub thread's view of who may send what
  std::shared_ptr<net::PeerAllowlist> allowlist = std::make_shared<net::PeerAllowlist>();
  std::unique_ptr<swarm::HubLink> hub;
  std::unique_ptr<swarm::Reachability> reach;
  std::unique_ptr<zmq::context_t> context;
  std::unique_ptr<net::ZapHandler> zap;
  std::unique_ptr<net::Server> server;
  std::unique_ptr<swarm::PeerCalls> calls;
  swarm::LocalStage local;
  std::filesystem::path ledger_file;
  std::unique_ptr<swarm::WorkLog> log;
  std::unique_ptr<swarm::StateTransfer> state;
  std::unique_ptr<swarm::CatchUp> catch_up;
  std::unique_ptr<swarm::Handlers> handlers;
  std::unique_ptr<swarm::StageServer> stage_server;
  std::unique_ptr<swarm::StepDriver> driver;
  std::unique_ptr<swarm::SpotChecker> checker;
  protocol::JoinRequest join_request;
  std::atomic<bool> serving{false};
  std::thread server_thread;

  ~Impl() { stop_threads(); }

  void stop_threads() {
    serving = false;
    hub->request_stop();
    if (server_thread.joinable()) server_thread.join();
    hub->stop();
    if (checker) checker->stop();
  }

  bool rejoin_pending = false;  // a rejoin failed part-way: join again before training
  bool synced = false;          // this stage's state is loaded and the hub was told it is ready

  void join();
  void start_spot_checks();
  void build_stage(int index);
  void sync(const std::atomic<bool>& stop);
  void restage(int index, const std::atomic<bool>& stop);
  void train(const std::atomic<bool>& stop);
  bool train_once(std::uint64_t step, const std::vector<protocol::PeerInfo>& peers, Clock::time_point joined_at);
  bool rejoin(const std::atomic<bool>& stop);
  void leave();
  bool has_replica() const;
};

// Fetches the run, binds the stage server, joins the hub and builds the stage it assigned.
void SwarmNode::Impl::join() {
  board.set_state("joining");
  hub->connect();
  run.manifest = hub->client().manifest();
  run.codec = model::parse_codec(run.manifest.codec);
  run.curve = net::curve_keys_from(key);
  context = std::make_unique<zmq::context_t>(1);
  zap = std::make_unique<net::ZapHandler>(*context, allowlist);
  server = std::make_unique<net::Server>(*context, run.curve, options.listen, net::WireLimits{}, &run.traffic);
  calls = std::make_unique<swarm::PeerCalls>(
      *context, run.curve, key.public_key(),
      [this](net::MessageHeader h, const net::Envelope& message) { return handlers->local(std::move(h), message); },
      &run.traffic);
  std::filesystem::create_directories(options.data_dir);
  ledger_file = options.data_dir / std::string(ledger::kDefaultFileName);
  log = std::make_unique<swarm::WorkLog>(run, ledger_file);
  board.attach_log(&log->ledger(), run.manifest.run_id);
  hub->attach(*log, delegation.owner_address);
  start_spot_checks();

  join_request.delegation = delegation;
  join_request.device.name = options.device;
  join_request.device.memory_bytes = 64ull << 30;
  reach = std::make_unique<swarm::Reachability>(
      swarm::ReachOptions{options.advertise, options.map_port, options.use_relays, options.relay_port, options.via_relay}, key);
  reach->offer_relay(join_request, server->endpoint());
  hub->attach_reachability(*reach);
  // The engine backend (libtorch) loads in a second or more: before joining, since the hub expects
  // the node's ready call soon after its join and forgets a node that is late.
  engine::backend();
  const int index = reach->join(hub->client(), join_request, server->endpoint());
  build_stage(index);
  log->session_started(index);
  spdlog::info("joined run {} as stage {} of {}, serving at {} (node {})", run.manifest.run_id, index, run.manifest.stages,
               join_request.endpoint, swarm::short_key(key.public_key()));
  if (events) events->publish("peer", {{"event", "joined"}, {"stage", index}});
}

// The checker thread, fed the tickets of the hub's heartbeat replies; and the weights reports.
void SwarmNode::Impl::start_spot_checks() {
  const auto find_worker = [this](const wallet::PublicKey& worker) -> std::optional<net::Hop> {
    for (const auto& peer : hub->peers())
      if (peer.node_key == worker) return net::Hop{peer.node_key, peer.endpoint};
    return std::nullopt;
  };
  const auto send_report = [this](const protocol::CheckReport& report) { hub->client().report_check(key, report); };
  checker = std::make_unique<swarm::SpotChecker>(run, *calls, find_worker, send_report);
  hub->attach_spot_checks(local, [this](std::vector<std::string> tickets) { checker->offer(tickets); });
  checker->start();
}

// Stage `index` from the run's seed, and the parts that serve and drive it (the stage server is
// not running: sync() starts it).
void SwarmNode::Impl::build_stage(int index) {
  engine::StageOptions stage_options;
  stage_options.model = run.manifest.model;
  stage_options.train = run.manifest.train;
  stage_options.stage_count = run.manifest.stages;
  stage_options.stage_index = index;
  stage_options.codec = run.codec;
  stage_options.device = options.device;
  stage_options.threads = options.threads;
  stage_options.memory_limit_bytes = options.memory_limit_bytes;
  if (options.inference_cache_bytes > 0) stage_options.inference_cache_bytes = options.inference_cache_bytes;
  {
    std::lock_guard lock(local.mutex);
    local.stage = std::make_unique<engine::Stage>(stage_options);
    local.averaging.reset();
    local.shared_averaging.reset();
    if (const auto& averaging = run.manifest.averaging; averaging.scheme == model::AveragingConfig::Scheme::powersgd) {
      local.averaging = std::make_unique<model::PowerSgdReplica>(
          model::GradientLayout::of(local.stage->parameter_shapes(), averaging.rank), run.manifest.model.seed + index);
      if (local.stage->shared_embedding_size() > 0)
        local.shared_averaging = std::make_unique<model::PowerSgdReplica>(
            model::shared_embedding_layout(run.manifest.model, averaging.rank), run.manifest.model.seed + 1000 + index);
    }
    local.attempt = swarm::AttemptState{};
    local.evidence.clear();
    local.index = index;
    local.need_resync = false;
    local.asked_step = 0;
  }
  state = std::make_unique<swarm::StateTransfer>(run, local, *calls, roles, board);
  catch_up = std::make_unique<swarm::CatchUp>(local, *state, board);
  handlers = std::make_unique<swarm::Handlers>(run, local, *calls, roles, board, *log, *state);
  stage_server = std::make_unique<swarm::StageServer>(run, local, *calls, *handlers, *server);
  driver = std::make_unique<swarm::StepDriver>(run, local, handlers->forward(), *calls, *hub, roles, board, events);
}

bool SwarmNode::Impl::has_replica() const {
  for (const auto& peer : hub->peers())
    if (peer.ready() && peer.stage == local.index && peer.node_key != key.public_key()) return true;
  return false;
}

// Serves, and starts from a live replica's state when this stage has one (never from the hub,
// never another stage's); the first replica of a stage starts from the run's seed. Then ready.
void SwarmNode::Impl::sync(const std::atomic<bool>& stop) {
  serving = true;
  server_thread = std::thread([this] { stage_server->serve(serving); });
  hub->refresh_peers();
  if (has_replica()) {
    board.set_state("joining", "fetching the stage's state from a replica");
    std::this_thread::sleep_for(700ms);  // the replicas' allowlists refresh every 500 ms
  }
  while (!stop && has_replica() && state->fetch(hub->peers(), stop) != swarm::StateTransfer::Fetch::Loaded) {
    std::this_thread::sleep_for(500ms);
    hub->refresh_peers();
  }
  {
    std::lock_guard lock(local.mutex);
    local.keep_starting_weights();  // reported by the hub thread: what this node starts from
  }
  hub->client().ready(key);
  hub->refresh_peers();
  synced = true;
  board.set_step(local.stage->step_count());
  board.set_state("waiting", "looking for the other stages");
}

// The hub gave this node another stage (it forgot the node and the stages are served
// differently now): the old stage goes with its uncommitted work and attempt, its committed rows
// are made durable first; the new one starts as on a first join, from a replica's state or the
// run's seed. The node key, endpoint, hub link and contribution log stay.
void SwarmNode::Impl::restage(int index, const std::atomic<bool>& stop) {
  const int old = local.index;
  spdlog::warn("the hub moved this node from stage {} to stage {}: dropping stage {} and its uncommitted work", old,
               index, old);
  synced = false;
  board.set_state("joining", "moving from stage " + std::to_string(old) + " to stage " + std::to_string(index));
  serving = false;
  if (server_thread.joinable()) server_thread.join();
  try {
    board.count_logged(log->settle(true));
  } catch (const std::exception& error) {
    spdlog::error("could not log the last step's work on stage {}: {}", old, error.what());
  }
  log->session_stopped();
  driver.reset();
  stage_server.reset();
  handlers.reset();
  catch_up.reset();
  state.reset();
  {
    std::lock_guard lock(local.mutex);
    local.stage.reset();  // its memory is free before the next stage is built
    local.averaging.reset();
    local.shared_averaging.reset();
  }
  build_stage(index);
  log->session_started(index);
  if (events) events->publish("peer", {{"event", "moved"}, {"from", old}, {"stage", index}});
  sync(stop);
}

// False when joining again failed; it is retried before the next step.
bool SwarmNode::Impl::rejoin(const std::atomic<bool>& stop) {
  spdlog::warn("the hub forgot this node; joining again");
  try {
    const int again = reach->rejoin(hub->client(), join_request, server->endpoint());
    if (again != local.index || !synced) {
      restage(again, stop);
    } else {
      local.need_resync = true;
      hub->client().ready(key);
    }
    rejoin_pending = false;
    return true;
  } catch (const client::HubExcluded& excluded) {
    board.set_excluded(excluded.reason);  // final for this run: train() stops asking
    return false;
  } catch (const std::exception& error) {
    spdlog::error("joining again failed: {}", error.what());
    board.set_state("error", error.what());
    rejoin_pending = true;
    std::this_thread::sleep_for(1s);
    return false;
  }
}

// One turn of the training loop at `step`; false when the loop should stop.
bool SwarmNode::Impl::train_once(std::uint64_t step, const std::vector<protocol::PeerInfo>& peers, Clock::time_point joined_at) {
  if (options.stop_after_steps > 0 && board.counters().committed_steps >= static_cast<std::uint64_t>(options.stop_after_steps))
    return false;
  if (static_cast<std::int64_t>(step) >= run.manifest.train.total_steps) {
    board.set_state("waiting", "the run's " + std::to_string(run.manifest.train.total_steps) + " steps are done");
    std::this_thread::sleep_for(200ms);
  } else if (auto why = board.pause_cause()) {
    board.set_state(board.snoozed() ? "snoozed" : "paused", *why);
    std::this_thread::sleep_for(200ms);
  } else if (local.index != 0 || !driver->is_driver()) {
    const auto last = board.last_commit();
    if (last != Clock::time_point{} && Clock::now() - last < 10s) board.set_state("running");
    else board.set_state("waiting", "waiting for the step driver and the other stages");
    std::this_thread::sleep_for(100ms);
  } else if (options.wait_for_peers > 0 && step == 0 && Clock::now() - joined_at < 60s &&
             std::count_if(peers.begin(), peers.end(), [](const protocol::PeerInfo& p) { return p.ready(); }) <
                 options.wait_for_peers) {
    board.set_state("waiting", "waiting for " + std::to_string(options.wait_for_peers) + " peers to be ready");
    std::this_thread::sleep_for(100ms);
  } else if (!driver->drive_step(peers, step)) {
    std::this_thread::sleep_for(100ms);
  }
  return true;
}

void SwarmNode::Impl::train(const std::atomic<bool>& stop) {
  const auto joined_at = Clock::now();
  while (!stop) {
    if (board.excluded()) {  // no more work for this run; the hub thread still reads its counts
      std::this_thread::sleep_for(200ms);
      continue;
    }
    if ((hub->take_rejoin() || rejoin_pending) && !rejoin(stop)) continue;
    if (local.need_resync.exchange(false)) {
      if (!catch_up->once(hub->peers(), stop)) std::this_thread::sleep_for(200ms);
      continue;
    }
    const auto peers = hub->peers();
    const auto step = static_cast<std::uint64_t>([&] {
      std::lock_guard lock(local.mutex);
      return local.stage->step_count();
    }());
    if (!train_once(step, peers, joined_at)) break;
  }
}

// Leaves cleanly: makes the last step's rows durable, reports what is left, tells the hub, stops.
void SwarmNode::Impl::leave() {
  board.set_state("waiting", "stopping");
  try {
    board.count_logged(log->settle(true));
  } catch (const std::exception& error) {
    spdlog::error("could not log the last step's work: {}", error.what());
  }
  try {
    if (!board.excluded()) {  // an excluded node has nothing more to tell this run's hub
      hub->report_receipts();
      hub->client().leave(key);
    }
  } catch (const std::exception& error) {
    spdlog::warn("leaving the hub: {}", error.what());
  }
  stop_threads();
  try {
    board.count_logged(log->settle(true));  // a Step the server took while we were leaving
    if (!board.excluded()) hub->report_receipts();
  } catch (const std::exception& error) {
    spdlog::warn("last receipts: {}", error.what());
  }
  log->session_stopped();
}

SwarmNode::SwarmNode(const wallet::KeyPair& node_key, wallet::Delegation delegation, SwarmNodeOptions options,
                     control::EventBus* events)
    : impl_(std::make_unique<Impl>(node_key, std::move(delegation), std::move(options), events)) {}

SwarmNode::~SwarmNode() = default;

// A hub that excludes this node while it joins leaves it up, in state "excluded", until stopped.
void SwarmNode::run(const std::atomic<bool>& stop) {
  try {
    impl_->join();
    impl_->sync(stop);
  } catch (const client::HubExcluded& excluded) {
    impl_->board.set_excluded(excluded.reason);
  }
  impl_->hub->start();
  impl_->train(stop);
  impl_->leave();
}

void SwarmNode::set_pause_reason(std::function<std::optional<std::string>()> hook) { impl_->board.set_pause_hook(std::move(hook)); }
void SwarmNode::set_paused(bool paused, std::string reason) { impl_->board.set_paused(paused, std::move(reason)); }
void SwarmNode::snooze(std::chrono::seconds duration) { impl_->board.snooze(duration); }
void SwarmNode::set_threads(int threads) { impl_->options.threads = threads; }
void SwarmNode::set_memory_limit(std::int64_t bytes) { impl_->options.memory_limit_bytes = bytes; }

control::NodeStatus SwarmNode::status() const {
  const auto& s = *impl_;
  control::NodeStatus out;
  out.network = s.options.hub_url;
  out.run = s.run.manifest.run_id;
  out.stage = s.local.index.load();
  out.stages = s.run.manifest.stages;
  out.device = s.options.device;
  out.codec = s.run.manifest.codec;
  out.ledger = s.ledger_file.string();
  out.peers = static_cast<int>(s.hub->peers().size());
  out.verification = s.hub->work().latest();
  out.traffic = s.run.traffic.report();
  if (s.reach) s.reach->fill(out);
  s.board.fill(out);
  return out;
}

SwarmStats SwarmNode::stats() const {
  auto out = impl_->board.counters();
  if (impl_->server) out.malformed = impl_->server->stats().malformed;
  return out;
}

std::string SwarmNode::endpoint() const { return impl_->server ? impl_->server->endpoint() : std::string(); }
int SwarmNode::stage() const { return impl_->local.index; }
std::filesystem::path SwarmNode::ledger_path() const { return impl_->ledger_file; }

}  // namespace tessera::node
