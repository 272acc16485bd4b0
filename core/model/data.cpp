// Corpora and deterministic micro-batches.
#include "core/model/data.h"

#include <algorithm>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

#include "core/model/splitmix.h"

namespace tessera::model {

namespace {

// The single-text corpus's one shard, refused with the corpus's name when too short.
std::vector<std::uint64_t> one_shard(const std::string& text, int context, const std::string& description) {
  if (context >= 1 && text.size() < static_cast<std::size_t>(context) + 1)
    throw std::invalid_argument("corpus " + description + " has " + std::to_string(text.size()) +
                                " bytes; a sequence needs " + std::to_string(context + 1));
  return {text.size()};
}

std::string concatenated(const std::vector<std::string>& shards) {
  std::size_t total = 0;
  for (const auto& shard : shards) total += shard.size();
  std::string text;
  text.reserve(total);
  for (const auto& shard : shards) text += shard;
  return text;
}

std::string expression_text(int a, char op, int b) {
  const int c = op == '+' ? a + b : a - b;
  return std::to_string(a) + op + std::to_string(b) + "=" + std::to_string(c) + "\n";
}

struct Expression {
  int a;
  char op;
  int b;
};

// A random expression from the training or the held-out side, by rejection.
Expression draw(std::mt19937_64& rng, std::uint64_t seed, const ArithmeticOptions& options, bool held_out) {
  std::uniform_int_distribution<int> operand(0, options.max_operand);
  for (;;) {
    int a = operand(rng), b = operand(rng);
    char op = options.subtraction && (rng() & 1) ? '-' : '+';
    if (op == '-' && a < b) std::swap(a, b);
    if (arithmetic_held_out(a, op, b, seed, options.held_out_percent) == held_out) return {a, op, b};
  }
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read corpus file " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

bool arithmetic_held_out(int a, char op, int b, std::uint64_t seed, int held_out_percent) {
  const std::uint64_t key = (static_cast<std::uint64_t>(a) << 32) ^ (static_cast<std::uint64_t>(b) << 1) ^ (op == '-');
  return static_cast<int>(splitmix(splitmix(seed ^ 0x4845'4c44ULL) ^ key) % 100) < held_out_percent;
}

DataSource::DataSource(std::string text, std::vector<std::uint64_t> shard_bytes, int context, std::uint64_t seed,
                       std::string description)
    : text_(std::move(text)),
      layout_(std::move(shard_bytes), context),
      order_(layout_.sequences(), seed),
      description_(std::move(description)) {}

DataSource::DataSource(std::string text, int context, std::uint64_t seed, std::string description)
    : DataSource(text, one_shard(text, context, description), context, seed, description) {}

DataSource DataSource::from_shards(const std::vector<std::string>& shards, int context, std::uint64_t seed,
                                   std::string description) {
  std::vector<std::uint64_t> sizes;
  for (const auto& shard : shards) sizes.push_back(shard.size());
  return DataSource(concatenated(shards), std::move(sizes), context, seed, std::move(description));
}

DataSource DataSource::from_shard_files(const std::vector<std::filesystem::path>& files, int context,
                                        std::uint64_t seed) {
  std::vector<std::string> shards;
  for (const auto& file : files) shards.push_back(read_file(file));
  return from_shards(shards, context, seed, std::to_string(files.size()) + " shard" + (files.size() == 1 ? "" : "s"));
}

DataSource DataSource::arithmetic(int context, std::uint64_t seed, const ArithmeticOptions& options) {
  if (options.max_operand < 1) throw std::invalid_argument("arithmetic corpus: max operand must be at least 1");
  std::mt19937_64 rng(splitmix(seed ^ 0x41524954ULL));
  std::string text;
  text.reserve(options.expressions * 12);
  for (std::size_t i = 0; i < options.expressions; ++i) {
    const auto e = draw(rng, seed, options, false);
    text += expression_text(e.a, e.op, e.b);
  }
  return DataSource(std::move(text), context, seed,
                    "arithmetic (operands 0.." + std::to_string(options.max_operand) + ")");
}

DataSource DataSource::from_path(const std::filesystem::path& path, int context, std::uint64_t seed) {
  std::error_code error;
  if (!std::filesystem::exists(path, error)) throw std::runtime_error("corpus path " + path.string() + " does not exist");
  std::string text;
  if (std::filesystem::is_directory(path)) {
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(path))
      if (entry.is_regular_file()) files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    if (files.empty()) throw std::runtime_error("corpus folder " + path.string() + " holds no files");
    for (const auto& file : files) {
      text += read_file(file);
      if (!text.empty() && text.back() != '\n') text += '\n';
    }
  } else {
    text = read_file(path);
  }
  return DataSource(std::move(text), context, seed, path.string());
}

DataSource DataSource::from_spec(const std::string& spec, int context, std::uint64_t seed) {
  if (spec == "arithmetic") return arithmetic(context, seed);
  return from_path(spec, context, seed);
}

std::vector<std::int32_t> DataSource::micro_batch(std::int64_t step, int micro, int micro_batches, int batch) const {
  std::vector<std::int32_t> tokens;
  const int context = layout_.context();
  tokens.reserve(static_cast<std::size_t>(batch) * static_cast<std::size_t>(context + 1));
  for (int row = 0; row < batch; ++row) {
    const auto sequence = order_.at(stream_position(step, micro, micro_batches, batch, row));
    const auto start = static_cast<std::size_t>(layout_.start_of(sequence));
    for (int i = 0; i <= context; ++i) tokens.push_back(static_cast<unsigned char>(text_[start + i]));
  }
  return tokens;
}

ArithmeticEvalSet arithmetic_eval_set(int context, std::uint64_t seed, int count, const ArithmeticOptions& options) {
  ArithmeticEvalSet set;
  set.batch = count;
  std::mt19937_64 rng(splitmix(seed ^ 0x4556414cULL));
  for (int row = 0; row < count; ++row) {
    const auto target = draw(rng, seed, options, true);
    const std::string full = expression_text(target.a, target.op, target.b);
    const auto equals = full.find('=');
    ArithmeticProblem problem{full.substr(0, equals + 1), full.substr(equals + 1)};
    std::string row_text = full;
    while (row_text.size() < static_cast<std::size_t>(context) + 1) {
      const auto e = draw(rng, seed, options, true);
      row_text = expression_text(e.a, e.op, e.b) + row_text;
    }
    row_text = row_text.substr(row_text.size() - static_cast<std::size_t>(context) - 1);
    for (unsigned char c : row_text) set.tokens.push_back(c);
    set.problems.push_back(std::move(problem));
  }
  return set;
}

AnswerAccuracy answer_accuracy(const ArithmeticEvalSet& set, const std::vector<std::int32_t>& predictions) {
  AnswerAccuracy accuracy;
  if (set.batch == 0) return accuracy;
  const std::size_t columns = set.tokens.size() / static_cast<std::size_t>(set.batch);  // context + 1
  const std::size_t context = columns - 1;
  if (predictions.size() != static_cast<std::size_t>(set.batch) * context)
    throw std::invalid_argument("expected " + std::to_string(set.batch * context) + " predictions, got " +
                                std::to_string(predictions.size()));
  std::size_t right_rows = 0, right_tokens = 0, answer_tokens = 0;
  for (std::size_t row = 0; row < static_cast<std::size_t>(set.batch); ++row) {
    const auto& answer = set.problems[row].answer;
    bool all = true;
    for (std::size_t k = columns - answer.size(); k < columns; ++k) {
      // The prediction at input position k - 1 is the model's guess for token k.
      const bool right = predictions[row * context + k - 1] == set.tokens[row * columns + k];
      right_tokens += right;
      all = all && right;
      ++answer_tokens;
    }
    right_rows += all;
  }
  accuracy.exact = static_cast<double>(right_rows) / set.batch;
  accuracy.digits = static_cast<double>(right_tokens) / static_cast<double>(answer_tokens);
  return accuracy;
}

}  // namespace tessera::model
