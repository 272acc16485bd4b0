// A float32 HostTensor of normal values (mean 0, standard deviation `spread`) from a seed: the
// codec suites' test input.
#pragma once

#include <cstdint>
#include <random>
#include <utility>
#include <vector>

#include "core/model/codec.h"

namespace tessera::test {

inline model::HostTensor random_tensor(std::vector<std::int64_t> shape, std::uint64_t seed, float spread = 3.0f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, spread);
  std::int64_t n = 1;
  for (auto e : shape) n *= e;
  std::vector<float> values(static_cast<std::size_t>(n));
  for (auto& v : values) v = normal(rng);
  return model::HostTensor::from_floats(std::move(shape), values);
}

}  // namespace tessera::test
