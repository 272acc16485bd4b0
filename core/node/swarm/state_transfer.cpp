// Stage state between replicas, in 4 MiB chunks.
#include "core/node/swarm/state_transfer.h"

#include <fstream>

#include <sodium.h>
#include <spdlog/spdlog.h>

#include "core/node/swarm/local_stage.h"
#include "core/node/swarm/peer_roles.h"
#include "core/node/swarm/run_context.h"
#include "core/node/swarm/status_board.h"

namespace tessera::node::swarm {
namespace {

constexpr std::size_t kStateChunk = 4 << 20;
constexpr std::uint64_t kMaxState = 8ull << 30;

std::uint64_t random_u64() {
  std::uint64_t value = 0;
  randombytes_buf(&value, sizeof value);
  return value;
}

}  // namespace

Out StateTransfer::serve(const net::Incoming& in, const net::Envelope& envelope) {
  const auto request = net::StateRequest::decode(envelope);
  if (request.transfer == 0 || request.transfer != transfer_id_) {
    if (request.offset != 0) throw std::invalid_argument("state transfer expired: start again");
    // A replica catching up asks only for a later step than its own (the header's step): when
    // this one has nothing that new, it says its step without saving a copy of its state.
    const auto mine = static_cast<std::uint64_t>(local_.stage->step_count());
    if (mine < in.message.header.step)
      return {run_.header(net::MessageKind::StateChunk, mine, 0, local_.index), net::StateChunk{0, 0, 0, {}}.encode()};
    const auto file = run_.options.data_dir / "state-out.pt";
    local_.stage->save(file);
    std::ifstream stream(file, std::ios::binary);
    transfer_bytes_.assign(std::istreambuf_iterator<char>(stream), std::istreambuf_iterator<char>());
    std::filesystem::remove(file);
    transfer_id_ = random_u64() | 1;
  }
  if (request.offset > transfer_bytes_.size()) throw std::invalid_argument("state offset past the end");
  const auto length = std::min<std::size_t>(kStateChunk, transfer_bytes_.size() - request.offset);
  net::StateChunk chunk{transfer_id_, request.offset, transfer_bytes_.size(), {}};
  chunk.bytes.assign(transfer_bytes_.begin() + static_cast<std::ptrdiff_t>(request.offset),
                     transfer_bytes_.begin() + static_cast<std::ptrdiff_t>(request.offset + length));
  return {run_.header(net::MessageKind::StateChunk, static_cast<std::uint64_t>(local_.stage->step_count()), 0, local_.index),
          chunk.encode()};
}

std::vector<std::uint8_t> StateTransfer::download(const Hop& replica, std::uint64_t at_least) {
  std::vector<std::uint8_t> bytes;
  std::uint64_t transfer = 0, total = 1;
  while (bytes.size() < total) {
    // The replica admits us once its allowlist has caught up with the hub (about a second);
    // a refused handshake is not retried by ZeroMQ, so the first request is short.
    const auto timeout = transfer == 0 ? net::Timeout(3000) : run_.options.hop_timeout * run_.manifest.stages;
    auto reply = calls_.request(replica, run_.header(net::MessageKind::StateRequest, transfer == 0 ? at_least : 0, 0, local_.index),
                                net::StateRequest{transfer, bytes.size(), roles_.assignment()}.encode(), timeout,
                                net::MessageKind::StateChunk);
    if (reply.header.step < at_least)
      throw NotAhead("replica " + short_key(replica.key) + " is at step " + std::to_string(reply.header.step));
    const auto chunk = net::StateChunk::decode(reply.envelope);
    transfer = chunk.transfer;
    total = chunk.total;
    if (chunk.offset != bytes.size() || total > kMaxState) throw PeerFailure(replica.key, "state chunk out of order");
    if (chunk.bytes.empty() && bytes.size() < total) throw PeerFailure(replica.key, "empty state chunk");
    bytes.insert(bytes.end(), chunk.bytes.begin(), chunk.bytes.end());
  }
  return bytes;
}

void StateTransfer::install(const std::vector<std::uint8_t>& bytes) {
  const auto file = run_.options.data_dir / "state-in.pt";
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw std::runtime_error("cannot write " + file.string());
  }
  {
    std::lock_guard lock(local_.mutex);
    local_.discard_attempt();
    local_.stage->load(file);  // checks stage, model and format
    local_.reset_averaging();
    local_.keep_starting_weights();
  }
  std::filesystem::remove(file);
}

StateTransfer::Fetch StateTransfer::fetch(const std::vector<protocol::PeerInfo>& peers, const std::atomic<bool>& stop,
                                          bool only_ahead) {
  const std::uint64_t at_least = only_ahead ? [&] {
    std::lock_guard lock(local_.mutex);
    return static_cast<std::uint64_t>(local_.stage->step_count()) + 1;
  }() : 0;
  std::vector<protocol::PeerInfo> replicas;
  for (const auto& peer : peers)
    if (peer.ready() && peer.stage == local_.index && peer.node_key != run_.self()) replicas.push_back(peer);
  bool failed = false;
  for (const auto& replica : replicas) {
    if (stop) return Fetch::Failed;
    try {
      const auto bytes = download({replica.node_key, replica.endpoint}, at_least);
      install(bytes);
      spdlog::info("stage {} state at step {} fetched from replica {} ({} bytes)", local_.index.load(),
                   local_.stage->step_count(), short_key(replica.node_key), bytes.size());
      board_.set_step(local_.stage->step_count());
      return Fetch::Loaded;
    } catch (const NotAhead& behind) {
      spdlog::debug("no newer state: {}", behind.what());
    } catch (const std::exception& error) {
      spdlog::warn("state from replica {} failed: {}", short_key(replica.node_key), error.what());
      failed = true;
    }
  }
  return failed || !only_ahead ? Fetch::Failed : Fetch::NoneAhead;
}

}  // namespace tessera::node::swarm
