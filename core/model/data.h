// Training data, owned by stage 0: a byte-level corpus (a generated arithmetic corpus, a text file
// or folder of them, or a run's shards) cut into sequences and shuffled deterministically from the
// run seed (the layout and order: core/model/corpus_layout.h). Plain C++, no libtorch.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/model/corpus_layout.h"

namespace tessera::model {

struct ArithmeticOptions {
  int max_operand = 999;     // operands in [0, max_operand]
  bool subtraction = true;   // also "a-b=c" with a >= b
  int held_out_percent = 10; // expressions reserved for evaluation, never in the training text
  std::size_t expressions = 60000;  // in the training text
};

// One held-out expression in an evaluation row: the answer ("502\n") is the last tokens of the row.
struct ArithmeticProblem {
  std::string expression;  // "417+85="
  std::string answer;      // "502\n"
};

// Whether (a, op, b) is held out under `seed` (a fixed fraction, chosen by hash).
bool arithmetic_held_out(int a, char op, int b, std::uint64_t seed, int held_out_percent);

class DataSource {
 public:
  // `text` is the whole corpus (one shard); sequences are windows of context + 1 bytes.
  DataSource(std::string text, int context, std::uint64_t seed, std::string description);
  // Several shards in manifest order, each cut into its own sequences (ShardAttribution's layout).
  static DataSource from_shards(const std::vector<std::string>& shards, int context, std::uint64_t seed,
                                std::string description);
  // The shard files (a run's shards from the node's cache), read whole, in this order.
  static DataSource from_shard_files(const std::vector<std::filesystem::path>& files, int context, std::uint64_t seed);

  // `--corpus arithmetic` or `--corpus PATH` (a file, or a folder read recursively in name order).
  static DataSource arithmetic(int context, std::uint64_t seed, const ArithmeticOptions& options = {});
  static DataSource from_path(const std::filesystem::path& path, int context, std::uint64_t seed);
  static DataSource from_spec(const std::string& spec, int context, std::uint64_t seed);

  // Token ids [batch, context + 1] of micro-batch `micro` of step `step` (micro_batches per step).
  // Pure function of (seed, indices): resuming at a step continues the same stream.
  std::vector<std::int32_t> micro_batch(std::int64_t step, int micro, int micro_batches, int batch) const;

  std::size_t sequences() const { return static_cast<std::size_t>(layout_.sequences()); }
  std::size_t bytes() const { return text_.size(); }
  const std::string& description() const { return description_; }
  const CorpusLayout& layout() const { return layout_; }

 private:
  DataSource(std::string text, std::vector<std::uint64_t> shard_bytes, int context, std::uint64_t seed,
             std::string description);

  std::string text_;  // the shards' bytes, concatenated
  CorpusLayout layout_;
  SequenceOrder order_;
  std::string description_;
};

// Held-out arithmetic problems for answer accuracy: rows of [context + 1] tokens, each ending with
// one problem's answer, preceded by other held-out expressions as context.
struct ArithmeticEvalSet {
  int batch = 0;
  std::vector<std::int32_t> tokens;  // [batch, context + 1]
  std::vector<ArithmeticProblem> problems;
};
ArithmeticEvalSet arithmetic_eval_set(int context, std::uint64_t seed, int count, const ArithmeticOptions& options = {});

struct AnswerAccuracy {
  double exact = 0.0;   // every answer token right (= greedy decoding gets the answer)
  double digits = 0.0;  // fraction of answer tokens right
};
// `predictions` [batch, context]: argmax next token at every position.
AnswerAccuracy answer_accuracy(const ArithmeticEvalSet& set, const std::vector<std::int32_t>& predictions);

}  // namespace tessera::model
