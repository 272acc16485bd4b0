// The precision names (stage_types.h).
#include "core/engine/stage_types.h"

#include <stdexcept>

namespace tessera::engine {

std::string precision_name(Precision precision) {
  switch (precision) {
    case Precision::automatic: return "auto";
    case Precision::fp32: return "fp32";
    case Precision::bf16: return "bf16";
  }
  return "auto";
}

Precision parse_precision(const std::string& text) {
  for (const auto p : {Precision::automatic, Precision::fp32, Precision::bf16})
    if (text == precision_name(p)) return p;
  throw std::invalid_argument("unknown precision '" + text + "': use auto, fp32 or bf16");
}

}  // namespace tessera::engine
