// The run the node and watch-only tests share: two stages of a 2-layer, 32-wide model on the
// arithmetic corpus, one micro-batch of 2 sequences of 8 tokens per step. Tests set the rest (run
// id, codec, prices, keys) and sign it.
#pragma once

#include <string>

#include "core/protocol/manifest.h"

namespace tessera::test {

inline protocol::RunManifest tiny_two_stage_manifest(std::string run_id) {
  protocol::RunManifest manifest;
  manifest.run_id = std::move(run_id);
  manifest.model.layers = 2;
  manifest.model.width = 32;
  manifest.model.heads = 2;
  manifest.model.context = 8;
  manifest.train.micro_batch_size = 2;
  manifest.train.micro_batches = 1;
  manifest.stages = 2;
  manifest.dataset = {"arithmetic"};
  return manifest;
}

}  // namespace tessera::test
