// Where the gateway's next-token logits come from: the swarm (swarm_inference.h), or a table in
// tests. Plain types, no HTTP and no model.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace tessera::hub {

// One generated sequence's request for its next token: the sequence so far (at most the
// context) and the id that names it for as long as it is generated (a source keeps its KV cache
// under it).
struct SequenceWindow {
  std::uint64_t session = 0;
  std::vector<std::int32_t> tokens;
};

// The answer for one sequence: its next token's logits, or why there are none.
struct NextLogits {
  std::vector<float> logits;
  std::string error;  // not empty: the swarm could not answer for this sequence (the gateway answers 503)
};

class NextTokenSource {
 public:
  virtual ~NextTokenSource() = default;
  // Logits over the vocabulary for the token that follows `tokens` (at most the context).
  // Throws std::runtime_error when the swarm cannot answer within `timeout` (a stage is missing
  // or drops): the gateway answers 503.
  virtual std::vector<float> next_token_logits(const std::vector<std::int32_t>& tokens,
                                               std::chrono::milliseconds timeout) = 0;
  // One decoding round for several sequences at once (the gateway's continuous batching): an
  // answer for each, in order, each failing on its own. This default asks next_token_logits for
  // each in turn; the swarm's source sends the whole round through its stages together.
  virtual std::vector<NextLogits> next_logits(const std::vector<SequenceWindow>& round, std::chrono::milliseconds timeout);
  // The sequence is finished: whatever the source keeps for it may go.
  virtual void end_sequence(std::uint64_t /*session*/) {}
};

}  // namespace tessera::hub
