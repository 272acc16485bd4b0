// The evidence's byte format: a writer and a reader that checks each count before it allocates.
#include "core/net/check_evidence.h"

#include <cstring>
#include <stdexcept>
#include <string>

namespace tessera::net {
namespace {

constexpr std::uint8_t kMagic[4] = {'T', 'S', 'E', 'V'};
constexpr std::uint8_t kVersion = 1;
constexpr std::size_t kMaxRank = 8;

class Writer {
 public:
  template <typename T>
  void number(T value) {
    std::uint8_t raw[sizeof(T)];
    std::memcpy(raw, &value, sizeof(T));  // little-endian hosts only (the wire format assumes it too)
    out.insert(out.end(), raw, raw + sizeof(T));
  }
  template <typename T>
  void numbers(const std::vector<T>& values) {
    number<std::uint64_t>(values.size());
    const auto* raw = reinterpret_cast<const std::uint8_t*>(values.data());
    out.insert(out.end(), raw, raw + values.size() * sizeof(T));
  }
  void payload(const model::Payload& p) {
    number<std::uint8_t>(static_cast<std::uint8_t>(p.codec));
    number<std::uint8_t>(static_cast<std::uint8_t>(p.shape.size()));
    for (auto d : p.shape) number<std::uint64_t>(static_cast<std::uint64_t>(d));
    numbers(p.bytes);
  }
  std::vector<std::uint8_t> out;
};

class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> bytes) : in_(bytes) {}
  template <typename T>
  T number(const char* what) {
    need(sizeof(T), what);
    T value;
    std::memcpy(&value, in_.data() + at_, sizeof(T));
    at_ += sizeof(T);
    return value;
  }
  template <typename T>
  std::vector<T> numbers(const char* what) {
    const auto count = number<std::uint64_t>(what);
    if (count > (in_.size() - at_) / sizeof(T)) throw std::invalid_argument(std::string("evidence: ") + what + " runs past the end");
    std::vector<T> values(static_cast<std::size_t>(count));
    if (!values.empty()) std::memcpy(values.data(), in_.data() + at_, values.size() * sizeof(T));
    at_ += values.size() * sizeof(T);
    return values;
  }
  model::Payload payload(const char* what) {
    model::Payload p;
    const auto codec = number<std::uint8_t>(what);
    if (codec > static_cast<std::uint8_t>(model::CodecKind::subspace))
      throw std::invalid_argument(std::string("evidence: ") + what + " has an unknown codec");
    p.codec = static_cast<model::CodecKind>(codec);
    const auto rank = number<std::uint8_t>(what);
    if (rank > kMaxRank) throw std::invalid_argument(std::string("evidence: ") + what + " has too many dimensions");
    for (std::uint8_t i = 0; i < rank; ++i) {
      const auto d = number<std::uint64_t>(what);
      if (d > (1ull << 31)) throw std::invalid_argument(std::string("evidence: ") + what + " has a dimension too large");
      p.shape.push_back(static_cast<std::int64_t>(d));
    }
    p.bytes = numbers<std::uint8_t>(what);
    return p;
  }
  bool done() const { return at_ == in_.size(); }

 private:
  void need(std::size_t n, const char* what) const {
    if (in_.size() - at_ < n) throw std::invalid_argument(std::string("evidence: ") + what + " runs past the end");
  }
  std::span<const std::uint8_t> in_;
  std::size_t at_ = 0;
};

}  // namespace

std::vector<std::uint8_t> CheckEvidence::encode() const {
  Writer w;
  w.out.assign(kMagic, kMagic + 4);
  w.number(kVersion);
  w.number(step);
  w.number(micro_batch);
  w.number(stage);
  w.number(batch);
  w.number(sequence);
  w.numbers(tokens);
  w.numbers(parameters);
  w.number<std::uint8_t>((forward ? 1 : 0) | (backward ? 2 : 0));
  if (forward) w.payload(*forward);
  if (backward) w.payload(*backward);
  return std::move(w.out);
}

CheckEvidence CheckEvidence::decode(std::span<const std::uint8_t> bytes) {
  if (bytes.size() > kMaxEvidenceBytes) throw std::invalid_argument("evidence: too large");
  if (bytes.size() < 5 || std::memcmp(bytes.data(), kMagic, 4) != 0) throw std::invalid_argument("evidence: not evidence");
  Reader r(bytes.subspan(4));
  if (r.number<std::uint8_t>("version") != kVersion) throw std::invalid_argument("evidence: unknown version");
  CheckEvidence out;
  out.step = r.number<std::uint64_t>("step");
  out.micro_batch = r.number<std::uint32_t>("micro-batch");
  out.stage = r.number<std::uint16_t>("stage");
  out.batch = r.number<std::int32_t>("batch");
  out.sequence = r.number<std::int32_t>("sequence");
  out.tokens = r.numbers<std::int32_t>("token ids");
  out.parameters = r.numbers<float>("parameters");
  const auto present = r.number<std::uint8_t>("present");
  if (present > 3) throw std::invalid_argument("evidence: unknown parts");
  if (present & 1) out.forward = r.payload("forward");
  if (present & 2) out.backward = r.payload("backward");
  if (!r.done()) throw std::invalid_argument("evidence: trailing bytes");
  return out;
}

}  // namespace tessera::net
