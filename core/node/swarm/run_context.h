// What every part of the swarm node knows once it has joined: its keys and options, the run's
// manifest and codec. Set once in SwarmNode::run before any thread starts, read-only after; but
// for the node's traffic meter, which every socket and the hub client count into.
#pragma once

#include <cstdint>

#include "core/model/codec.h"
#include "core/net/curve.h"
#include "core/net/traffic_meter.h"
#include "core/net/wire.h"
#include "core/node/swarm_node.h"
#include "core/protocol/manifest.h"

namespace tessera::node::swarm {

struct RunContext {
  RunContext(const wallet::KeyPair& node_key, const SwarmNodeOptions& node_options)
      : key(node_key), options(node_options) {}

  const wallet::KeyPair& key;
  const SwarmNodeOptions& options;
  protocol::RunManifest manifest;
  model::CodecKind codec = model::CodecKind::none;
  net::CurveKeyPair curve;
  // Atomics, counted into from every thread through a const RunContext: the one meter of this node.
  mutable net::TrafficMeter traffic;

  wallet::PublicKey self() const { return key.public_key(); }
  // What every receipt of this run says it covers, and what each must say to be accepted.
  std::uint32_t tokens_per_micro_batch() const {
    return static_cast<std::uint32_t>(manifest.train.micro_batch_size) * static_cast<std::uint32_t>(manifest.model.context);
  }

  // The header of a message of this run.
  net::MessageHeader header(net::MessageKind kind, std::uint64_t step, std::uint32_t micro_batch, int stage) const {
    net::MessageHeader h;
    h.kind = kind;
    h.run_id = manifest.run_id;
    h.step = step;
    h.micro_batch = micro_batch;
    h.stage = static_cast<std::uint16_t>(stage);
    h.codec = static_cast<std::uint8_t>(codec);
    h.dtype = model::DType::u8;
    return h;
  }
};

}  // namespace tessera::node::swarm
