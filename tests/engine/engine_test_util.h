// Small models and helpers shared by the engine suites (public API only, no libtorch).
#pragma once

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/model/data.h"
#include "core/engine/pipeline.h"

namespace tessera::engine::testing {

// One torch thread per test: ctest runs two suites at once on a 2-core machine.
constexpr int test_threads = 1;

inline ModelConfig tiny_model(int layers = 4) {
  ModelConfig model;
  model.layers = layers;
  model.width = 64;
  model.heads = 4;
  model.context = 32;
  model.vocab = 256;
  model.seed = 7;
  return model;
}

inline TrainConfig tiny_train() {
  TrainConfig train;
  train.lr = 3e-3;
  train.min_lr = 3e-4;
  train.warmup_steps = 5;
  train.total_steps = 40;
  train.micro_batch_size = 4;
  train.micro_batches = 2;
  train.clip_norm = 0.5;  // low enough that clipping really happens early on
  return train;
}

inline std::vector<std::vector<std::int32_t>> step_batches(const model::DataSource& data, const TrainConfig& train,
                                                           std::int64_t step) {
  std::vector<std::vector<std::int32_t>> batches;
  for (int m = 0; m < train.micro_batches; ++m)
    batches.push_back(data.micro_batch(step, m, train.micro_batches, train.micro_batch_size));
  return batches;
}

using Named = std::vector<std::pair<std::string, std::vector<float>>>;

inline std::map<std::string, std::vector<float>> by_name(const Named& named) {
  return {named.begin(), named.end()};
}

// Largest |a - b| / max(|b|, 1e-3·scale) over all entries, where scale is max |b| of the tensor.
inline double max_relative_difference(const std::vector<float>& a, const std::vector<float>& b) {
  double scale = 0.0, worst = 0.0;
  for (float v : b) scale = std::max(scale, static_cast<double>(std::abs(v)));
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
    const double denominator = std::max(static_cast<double>(std::abs(b[i])), 1e-3 * scale + 1e-12);
    worst = std::max(worst, std::abs(static_cast<double>(a[i]) - b[i]) / denominator);
  }
  return worst;
}

inline double relative(double a, double b) { return std::abs(a - b) / std::max(std::abs(b), 1e-12); }

}  // namespace tessera::engine::testing
