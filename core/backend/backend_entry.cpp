// The backend library's one export: engine::Backend on this libtorch (engine/backend.h).
#include "core/backend/torch_pch.h"

#include <chrono>
#include <cstring>
#include <stdexcept>

#include "core/backend/device.h"
#include "core/backend/device_codec.h"
#include "core/backend/torch_probe.h"
#include "core/backend/torch_stage.h"
#include "core/backend/torch_trainer.h"
#include "core/engine/backend.h"

namespace tessera::engine {

namespace {

torch::Tensor to_tensor(const model::HostTensor& values, const torch::Device& device) {
  auto tensor = torch::empty(values.shape, torch::kFloat32);
  if (values.dtype != model::DType::float32 || values.bytes.size() != static_cast<std::size_t>(tensor.numel()) * 4)
    throw std::invalid_argument("device codec check: expects float32 values matching their shape");
  if (!values.bytes.empty()) std::memcpy(tensor.data_ptr<float>(), values.bytes.data(), values.bytes.size());
  return tensor.to(device);
}

model::HostTensor to_host_tensor(const torch::Tensor& tensor) {
  const auto cpu = tensor.to(torch::kCPU, torch::kFloat32).contiguous();
  model::HostTensor out;
  out.shape = cpu.sizes().vec();
  out.bytes.resize(static_cast<std::size_t>(cpu.numel()) * 4);
  if (!out.bytes.empty()) std::memcpy(out.bytes.data(), cpu.data_ptr<float>(), out.bytes.size());
  return out;
}

// Times `work` for about `seconds` after one warm-up call: calls per second.
template <typename Work>
std::pair<double, int> rate(double seconds, const torch::Device& device, Work&& work) {
  using clock = std::chrono::steady_clock;
  work();
  synchronize(device);
  int calls = 0;
  const auto start = clock::now();
  double elapsed = 0.0;
  do {
    work();
    ++calls;
    synchronize(device);
    elapsed = std::chrono::duration<double>(clock::now() - start).count();
  } while (elapsed < seconds);
  return {calls / elapsed, calls};
}

class TorchBackend final : public Backend {
 public:
  TorchInfo probe() const override { return torch_probe(); }
  void set_threads(int n) override { torch_set_threads(n); }
  int blas_threads() const override { return torch_blas_threads(); }
  bool set_blas_threads(int n) override { return torch_set_blas_threads(n); }

  MatmulRate measure_matmul(const DeviceChoice& device, double seconds, int size, MatmulPrecision precision) override {
    return torch_measure_matmul(device, seconds, size, precision);
  }

  // What a stage does with a boundary tensor on this device: the tensor codecs on CUDA, the host
  // ones (from the tensor's buffer) on the CPU.
  CodecRate measure_codec(const DeviceChoice& choice, model::CodecKind codec, const std::vector<std::int64_t>& shape,
                          double seconds) override {
    torch::NoGradGuard no_grad;
    const auto device = torch_device(choice);
    const auto values = torch::randn(shape, torch::TensorOptions().dtype(torch::kFloat32).device(device));
    const auto encode_once = [&] {
      if (device.is_cuda()) return encode_on_device(codec, values, Rounding::nearest);
      return model::encode(codec, shape, values.data_ptr<float>(), Rounding::nearest);
    };
    const Payload payload = encode_once();
    auto decoded = torch::empty(shape, torch::kFloat32);
    const auto decode_once = [&] {
      if (device.is_cuda()) return decode_on_device(payload, codec, shape, device);
      model::decode(payload, codec, shape, decoded.data_ptr<float>());
      return decoded;
    };
    CodecRate result;
    result.values = values.numel();
    const double gigabytes = static_cast<double>(result.values) * 4 / 1e9;
    const auto [encodes, encode_calls] = rate(seconds / 2, device, encode_once);
    const auto [decodes, decode_calls] = rate(seconds / 2, device, decode_once);
    result.encode_gb_per_s = encodes * gigabytes;
    result.decode_gb_per_s = decodes * gigabytes;
    result.iterations = encode_calls + decode_calls;
    return result;
  }

  Payload device_encode(const DeviceChoice& device, model::CodecKind codec, const model::HostTensor& values,
                        model::Rounding rounding) override {
    return encode_on_device(codec, to_tensor(values, torch_device(device)), rounding);
  }

  model::HostTensor device_decode(const DeviceChoice& device, const Payload& payload, model::CodecKind codec,
                                  const std::vector<std::int64_t>& shape) override {
    return to_host_tensor(decode_on_device(payload, codec, shape, torch_device(device)));
  }

  std::unique_ptr<StageCore> make_stage(const StageOptions& options) override {
    return std::make_unique<TorchStage>(options);
  }
  std::unique_ptr<TrainerCore> make_trainer(const TrainerOptions& options) override {
    return make_torch_trainer(options);
  }
};

Backend* create_backend() {
  static TorchBackend instance;
  return &instance;
}

const BackendEntry kEntry{this_backend_abi(), TESSERA_BACKEND_NAME, &create_backend};

}  // namespace

}  // namespace tessera::engine

extern "C" __attribute__((visibility("default"))) const tessera::engine::BackendEntry* tessera_backend_entry_v1() {
  return &tessera::engine::kEntry;
}
