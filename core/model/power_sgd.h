// PowerSGD replica averaging (Vogels et al. 2019, "PowerSGD: Practical Low-Rank Gradient
// Compression"): instead of its whole fp32 gradient, a replica of a stage sends, for each weight
// matrix M (rows × cols), P = M·Q (rows × r) and then Q' = Mᵀ·P̂ (cols × r), where P̂ is the
// orthonormalised sum of every replica's P; the replicas install P̂·(ΣQ')ᵀ, the rank-r
// approximation of the summed gradient. What the approximation leaves out stays in the replica's
// error-feedback buffer and is added to its next gradient, so nothing is lost, only delayed.
// Vectors and small matrices (LayerNorms, biases, where rank r would not save a factor of 2) are
// sent as they are. Every part a replica sends, and the basis, is rounded to bfloat16 and travels
// as 2 bytes a value (what rounding takes off its second parts and raw values goes to its error
// buffer; the rounding of P only shapes the basis).
//
// Replicas must end every step bit-identical (the hub compares their weights digests). So
// everything a replica installs is computed here in plain C++ in a fixed order, from bytes every
// replica of the step holds alike: the parts in contributor order, summed, orthonormalised and
// multiplied back. A replica's own parts (M·Q, Mᵀ·P̂) need not agree with anyone's, which is why
// its warm-start Q and its error buffer are its own state and a replica that joins mid-run
// starts them afresh without breaking anything. Plain C++, no libtorch.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/model/model_config.h"

namespace tessera::model {

// How the replicas of a stage combine their gradients each step (the run manifest's "averaging").
struct AveragingConfig {
  enum class Scheme : std::uint8_t { exact, powersgd };
  Scheme scheme = Scheme::exact;  // exact: every replica's fp32 gradient, summed in a fixed order
  int rank = 4;                   // powersgd: the rank r of each matrix's approximation
};
std::string averaging_name(AveragingConfig::Scheme scheme);
// "exact" or "powersgd"; throws std::invalid_argument listing them.
AveragingConfig::Scheme parse_averaging(const std::string& name);
inline constexpr int kMaxAveragingRank = 256;

// Where in a stage's flattened gradient (Stage::gradient_vector) the compressed matrices are.
struct GradientLayout {
  struct Matrix {
    std::int64_t offset = 0, rows = 0, cols = 0, rank = 0;
  };
  struct Span {
    std::int64_t offset = 0, size = 0;
  };
  std::int64_t size = 0;         // parameters in all
  std::vector<Matrix> matrices;  // sent as low-rank factors
  std::vector<Span> raw;         // sent as they are

  // From the parameters' shapes in gradient_vector() order: a 2-D parameter is a matrix when
  // rank·(rows + cols) is at most half of rows·cols (its rank is min(rank, rows, cols)).
  static GradientLayout of(const std::vector<std::vector<std::int64_t>>& shapes, int rank);
  std::int64_t p_size() const;    // Σ rows·rank
  std::int64_t q_size() const;    // Σ cols·rank
  std::int64_t raw_size() const;  // Σ raw sizes
};

// The shared embeddings' gradient of a subspace run (engine::Stage::shared_embedding_gradient:
// the token table, then the position table, both row-major): two matrices of `width` columns.
GradientLayout shared_embedding_layout(const ModelConfig& model, int rank);

// The deterministic arithmetic every replica repeats alike (bit for bit on the same inputs).
namespace power_sgd {
// Round to the nearest bfloat16 (ties to even), kept as a float; NaN stays NaN.
float round_bf16(float value);
void round_bf16(std::vector<float>& values);
// 2 bytes a value, little-endian, of values already rounded (round_bf16) — nothing is lost.
std::vector<std::uint8_t> to_bf16_bytes(const std::vector<float>& values);
// Nothing when the byte count is odd.
std::optional<std::vector<float>> from_bf16_bytes(std::span<const std::uint8_t> bytes);
// Column-wise modified Gram-Schmidt of each matrix's P (the first p_size() values), in double;
// a column that is (numerically) zero or dependent becomes zeros. Rounded to bfloat16: the basis
// every replica uses and sends.
std::vector<float> orthonormal_basis(const GradientLayout& layout, const std::vector<float>& p);
// The full gradient vector: each matrix is basis·qᵀ, each raw span the given raw values.
std::vector<float> reconstruct(const GradientLayout& layout, const std::vector<float>& basis,
                               const std::vector<float>& q, const std::vector<float>& raw);
// Element-wise a += b; throws std::invalid_argument when the sizes differ.
void add_into(std::vector<float>& a, const std::vector<float>& b);
}  // namespace power_sgd

// One replica's side of the scheme across steps: its error-feedback buffer and warm-start Q.
class PowerSgdReplica {
 public:
  // `seed` only picks the first Q (any value works; see above).
  PowerSgdReplica(GradientLayout layout, std::uint64_t seed);

  const GradientLayout& layout() const { return layout_; }

  // Starts a round with this replica's gradient (M = gradient + error) and answers its first
  // part: each matrix's M·Q, then the raw spans' values. Throws std::invalid_argument for a
  // gradient of the wrong size.
  void begin(const std::vector<float>& gradient);
  bool active() const { return active_; }
  const std::vector<float>& first_part() const;
  // The second part for the round's basis P̂ (orthonormal_basis of the summed first parts):
  // each matrix's Mᵀ·P̂. Throws std::invalid_argument for a basis of the wrong size.
  std::vector<float> second_part(const std::vector<float>& basis) const;
  // The round committed with `basis`, this replica's `own_second` part for it and `q_sum` (every
  // contributor's second part, summed): the error becomes M − P̂·own_secondᵀ (what this
  // replica's share of the update left out) and the next round's Q is q_sum with each column
  // scaled to unit length (a column that is not finite or zero keeps the old one, so no peer can
  // leave a Q that overflows later). A replica that contributed nothing (not active, or no second
  // part of its own) keeps its error. Never throws for sizes: a wrong one leaves the state as it was.
  void finish(const std::vector<float>& basis, const std::vector<float>& own_second, const std::vector<float>& q_sum);
  // The round was abandoned: the error and Q stay as they were.
  void discard();
  // The stage's state was replaced (a state transfer, a skip): the error buffer no longer belongs
  // to these weights and is dropped; Q stays (any Q works).
  void reset();
  // What earlier rounds left out, to be added to the next gradient.
  const std::vector<float>& error() const { return error_; }

 private:
  void take_warm_start(const std::vector<float>& q_sum);

  GradientLayout layout_;
  std::vector<float> error_, q_;
  std::vector<float> m_, p_part_;
  bool active_ = false;
};

}  // namespace tessera::model
