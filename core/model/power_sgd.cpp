// PowerSGD arithmetic in plain loops with a fixed order (compiled with -ffp-contract=off, so no
// build fuses a multiply and an add differently): every replica that repeats it on the same
// bytes gets the same bits.
#include "core/model/power_sgd.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

namespace tessera::model {
namespace {

void require_size(const std::vector<float>& values, std::int64_t size, const char* what) {
  if (static_cast<std::int64_t>(values.size()) != size)
    throw std::invalid_argument(std::string("powersgd: ") + what + " has " + std::to_string(values.size()) +
                                " values, expected " + std::to_string(size));
}

// splitmix64: a portable stream for the first Q.
std::uint64_t next_random(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Uniform in [-1, 1): any full-rank start works, the power iteration does the rest.
float random_unit(std::uint64_t& state) {
  return static_cast<float>(static_cast<double>(next_random(state) >> 11) * 0x1.0p-52 - 1.0);
}

// P = M·Q for one matrix (M rows × cols at m, Q cols × r, P rows × r).
void multiply(const float* m, const float* q, float* p, std::int64_t rows, std::int64_t cols, std::int64_t r) {
  for (std::int64_t i = 0; i < rows; ++i)
    for (std::int64_t k = 0; k < r; ++k) {
      double sum = 0;
      for (std::int64_t j = 0; j < cols; ++j) sum += static_cast<double>(m[i * cols + j]) * q[j * r + k];
      p[i * r + k] = static_cast<float>(sum);
    }
}

// Q = Mᵀ·P̂ for one matrix (Q cols × r).
void multiply_transposed(const float* m, const float* basis, float* q, std::int64_t rows, std::int64_t cols,
                         std::int64_t r) {
  std::vector<double> sums(static_cast<std::size_t>(cols * r), 0.0);
  for (std::int64_t i = 0; i < rows; ++i)
    for (std::int64_t j = 0; j < cols; ++j) {
      const double value = m[i * cols + j];
      for (std::int64_t k = 0; k < r; ++k) sums[static_cast<std::size_t>(j * r + k)] += value * basis[i * r + k];
    }
  for (std::size_t x = 0; x < sums.size(); ++x) q[x] = static_cast<float>(sums[x]);
}

void orthonormalize(float* p, std::int64_t rows, std::int64_t r) {
  std::vector<double> columns(static_cast<std::size_t>(rows * r));
  for (std::int64_t i = 0; i < rows; ++i)
    for (std::int64_t k = 0; k < r; ++k) columns[static_cast<std::size_t>(k * rows + i)] = p[i * r + k];
  for (std::int64_t k = 0; k < r; ++k) {
    double* c = &columns[static_cast<std::size_t>(k * rows)];
    double before = 0;
    for (std::int64_t i = 0; i < rows; ++i) before += c[i] * c[i];
    for (std::int64_t previous = 0; previous < k; ++previous) {
      const double* b = &columns[static_cast<std::size_t>(previous * rows)];
      double dot = 0;
      for (std::int64_t i = 0; i < rows; ++i) dot += c[i] * b[i];
      for (std::int64_t i = 0; i < rows; ++i) c[i] -= dot * b[i];
    }
    double norm = 0;
    for (std::int64_t i = 0; i < rows; ++i) norm += c[i] * c[i];
    // Nothing left of the column (zero gradient, or dependent on the earlier ones): drop it.
    const bool empty = !(norm > 1e-12 * before) || !(norm > 1e-60);
    const double scale = empty ? 0.0 : 1.0 / std::sqrt(norm);
    for (std::int64_t i = 0; i < rows; ++i) c[i] *= scale;
  }
  for (std::int64_t i = 0; i < rows; ++i)
    for (std::int64_t k = 0; k < r; ++k) p[i * r + k] = static_cast<float>(columns[static_cast<std::size_t>(k * rows + i)]);
}

}  // namespace

std::string averaging_name(AveragingConfig::Scheme scheme) {
  return scheme == AveragingConfig::Scheme::powersgd ? "powersgd" : "exact";
}

AveragingConfig::Scheme parse_averaging(const std::string& name) {
  if (name == "exact") return AveragingConfig::Scheme::exact;
  if (name == "powersgd") return AveragingConfig::Scheme::powersgd;
  throw std::invalid_argument("averaging scheme '" + name + "' is not one of: exact, powersgd");
}

GradientLayout GradientLayout::of(const std::vector<std::vector<std::int64_t>>& shapes, int rank) {
  if (rank < 1 || rank > kMaxAveragingRank)
    throw std::invalid_argument("powersgd: rank must be between 1 and " + std::to_string(kMaxAveragingRank));
  GradientLayout layout;
  for (const auto& shape : shapes) {
    std::int64_t count = 1;
    for (const auto dim : shape) count *= dim;
    if (shape.size() == 2) {
      const auto rows = shape[0], cols = shape[1];
      const auto r = std::min<std::int64_t>({rank, rows, cols});
      if (2 * r * (rows + cols) <= rows * cols) {
        layout.matrices.push_back(Matrix{layout.size, rows, cols, r});
        layout.size += count;
        continue;
      }
    }
    if (!layout.raw.empty() && layout.raw.back().offset + layout.raw.back().size == layout.size)
      layout.raw.back().size += count;  // adjacent raw parameters are one span
    else
      layout.raw.push_back(Span{layout.size, count});
    layout.size += count;
  }
  return layout;
}

GradientLayout shared_embedding_layout(const ModelConfig& model, int rank) {
  return GradientLayout::of({{model.vocab, model.width}, {model.context, model.width}}, rank);
}

std::int64_t GradientLayout::p_size() const {
  std::int64_t n = 0;
  for (const auto& m : matrices) n += m.rows * m.rank;
  return n;
}

std::int64_t GradientLayout::q_size() const {
  std::int64_t n = 0;
  for (const auto& m : matrices) n += m.cols * m.rank;
  return n;
}

std::int64_t GradientLayout::raw_size() const {
  std::int64_t n = 0;
  for (const auto& s : raw) n += s.size;
  return n;
}

namespace power_sgd {

float round_bf16(float value) {
  std::uint32_t bits = 0;
  std::memcpy(&bits, &value, sizeof bits);
  if ((bits & 0x7F800000u) == 0x7F800000u && (bits & 0x007FFFFFu) != 0) {
    bits |= 0x00400000u;  // a quiet NaN, whatever its payload
  } else {
    bits += 0x7FFFu + ((bits >> 16) & 1u);  // to nearest, ties to even (overflow rounds to infinity)
  }
  bits &= 0xFFFF0000u;
  float out = 0;
  std::memcpy(&out, &bits, sizeof out);
  return out;
}

void round_bf16(std::vector<float>& values) {
  for (auto& value : values) value = round_bf16(value);
}

std::vector<std::uint8_t> to_bf16_bytes(const std::vector<float>& values) {
  std::vector<std::uint8_t> out(values.size() * 2);
  for (std::size_t i = 0; i < values.size(); ++i) {
    std::uint32_t bits = 0;
    std::memcpy(&bits, &values[i], sizeof bits);
    out[2 * i] = static_cast<std::uint8_t>(bits >> 16);
    out[2 * i + 1] = static_cast<std::uint8_t>(bits >> 24);
  }
  return out;
}

std::optional<std::vector<float>> from_bf16_bytes(std::span<const std::uint8_t> bytes) {
  if (bytes.size() % 2 != 0) return std::nullopt;
  std::vector<float> out(bytes.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const std::uint32_t bits = (static_cast<std::uint32_t>(bytes[2 * i]) << 16) | (static_cast<std::uint32_t>(bytes[2 * i + 1]) << 24);
    std::memcpy(&out[i], &bits, sizeof bits);
  }
  return out;
}

std::vector<float> orthonormal_basis(const GradientLayout& layout, const std::vector<float>& p) {
  if (static_cast<std::int64_t>(p.size()) < layout.p_size()) require_size(p, layout.p_size(), "P");
  std::vector<float> basis(p.begin(), p.begin() + layout.p_size());
  std::int64_t at = 0;
  for (const auto& m : layout.matrices) {
    orthonormalize(basis.data() + at, m.rows, m.rank);
    at += m.rows * m.rank;
  }
  round_bf16(basis);
  return basis;
}

std::vector<float> reconstruct(const GradientLayout& layout, const std::vector<float>& basis,
                               const std::vector<float>& q, const std::vector<float>& raw) {
  require_size(basis, layout.p_size(), "the basis");
  require_size(q, layout.q_size(), "Q");
  require_size(raw, layout.raw_size(), "the raw values");
  std::vector<float> out(static_cast<std::size_t>(layout.size), 0.0f);
  std::int64_t p_at = 0, q_at = 0, raw_at = 0;
  for (const auto& m : layout.matrices) {
    for (std::int64_t i = 0; i < m.rows; ++i)
      for (std::int64_t j = 0; j < m.cols; ++j) {
        double sum = 0;
        for (std::int64_t k = 0; k < m.rank; ++k)
          sum += static_cast<double>(basis[static_cast<std::size_t>(p_at + i * m.rank + k)]) *
                 q[static_cast<std::size_t>(q_at + j * m.rank + k)];
        out[static_cast<std::size_t>(m.offset + i * m.cols + j)] = static_cast<float>(sum);
      }
    p_at += m.rows * m.rank;
    q_at += m.cols * m.rank;
  }
  for (const auto& s : layout.raw) {
    std::copy(raw.begin() + raw_at, raw.begin() + raw_at + s.size, out.begin() + s.offset);
    raw_at += s.size;
  }
  return out;
}

void add_into(std::vector<float>& a, const std::vector<float>& b) {
  require_size(b, static_cast<std::int64_t>(a.size()), "a part");
  for (std::size_t i = 0; i < a.size(); ++i) a[i] += b[i];
}

}  // namespace power_sgd

PowerSgdReplica::PowerSgdReplica(GradientLayout layout, std::uint64_t seed)
    : layout_(std::move(layout)), error_(static_cast<std::size_t>(layout_.size), 0.0f) {
  q_.resize(static_cast<std::size_t>(layout_.q_size()));
  std::uint64_t state = seed;
  for (auto& value : q_) value = random_unit(state);
}

void PowerSgdReplica::begin(const std::vector<float>& gradient) {
  require_size(gradient, layout_.size, "the gradient");
  m_ = gradient;
  power_sgd::add_into(m_, error_);
  p_part_.assign(static_cast<std::size_t>(layout_.p_size() + layout_.raw_size()), 0.0f);
  std::int64_t p_at = 0, q_at = 0;
  for (const auto& m : layout_.matrices) {
    multiply(m_.data() + m.offset, q_.data() + q_at, p_part_.data() + p_at, m.rows, m.cols, m.rank);
    p_at += m.rows * m.rank;
    q_at += m.cols * m.rank;
  }
  for (const auto& s : layout_.raw) {
    std::copy(m_.begin() + s.offset, m_.begin() + s.offset + s.size, p_part_.begin() + p_at);
    p_at += s.size;
  }
  power_sgd::round_bf16(p_part_);
  active_ = true;
}

const std::vector<float>& PowerSgdReplica::first_part() const {
  if (!active_) throw std::logic_error("powersgd: no round begun");
  return p_part_;
}

std::vector<float> PowerSgdReplica::second_part(const std::vector<float>& basis) const {
  if (!active_) throw std::logic_error("powersgd: no round begun");
  require_size(basis, layout_.p_size(), "the basis");
  std::vector<float> q(static_cast<std::size_t>(layout_.q_size()));
  std::int64_t p_at = 0, q_at = 0;
  for (const auto& m : layout_.matrices) {
    multiply_transposed(m_.data() + m.offset, basis.data() + p_at, q.data() + q_at, m.rows, m.cols, m.rank);
    p_at += m.rows * m.rank;
    q_at += m.cols * m.rank;
  }
  power_sgd::round_bf16(q);
  return q;
}

void PowerSgdReplica::finish(const std::vector<float>& basis, const std::vector<float>& own_second,
                             const std::vector<float>& q_sum) {
  const auto q_size = static_cast<std::size_t>(layout_.q_size());
  const bool contributed = active_ && own_second.size() == q_size && basis.size() == static_cast<std::size_t>(layout_.p_size());
  if (contributed) {
    const auto mine = power_sgd::reconstruct(layout_, basis, own_second, std::vector<float>(layout_.raw_size(), 0.0f));
    error_ = std::move(m_);
    for (const auto& m : layout_.matrices)
      for (std::int64_t x = m.offset; x < m.offset + m.rows * m.cols; ++x)
        error_[static_cast<std::size_t>(x)] -= mine[static_cast<std::size_t>(x)];
    for (const auto& s : layout_.raw)  // sent as is, but rounded to bfloat16
      for (std::int64_t x = s.offset; x < s.offset + s.size; ++x) {
        auto& e = error_[static_cast<std::size_t>(x)];
        e -= power_sgd::round_bf16(e);
      }
  }
  if (q_sum.size() == q_size) take_warm_start(q_sum);
  discard();
}

// Each matrix's Q column scaled to unit length: the basis does not depend on Q's scale, and a
// Q that peers made huge cannot overflow M·Q later.
void PowerSgdReplica::take_warm_start(const std::vector<float>& q_sum) {
  std::int64_t at = 0;
  for (const auto& m : layout_.matrices) {
    for (std::int64_t k = 0; k < m.rank; ++k) {
      double norm = 0;
      for (std::int64_t j = 0; j < m.cols; ++j) {
        const double v = q_sum[static_cast<std::size_t>(at + j * m.rank + k)];
        norm += v * v;
      }
      if (!std::isfinite(norm) || !(norm > 0)) continue;  // keeps the old column
      const double scale = 1.0 / std::sqrt(norm);
      for (std::int64_t j = 0; j < m.cols; ++j) {
        const auto x = static_cast<std::size_t>(at + j * m.rank + k);
        q_[x] = static_cast<float>(q_sum[x] * scale);
      }
    }
    at += m.cols * m.rank;
  }
}

void PowerSgdReplica::reset() {
  discard();
  std::fill(error_.begin(), error_.end(), 0.0f);
}

void PowerSgdReplica::discard() {
  m_.clear();
  p_part_.clear();
  active_ = false;
}

}  // namespace tessera::model
