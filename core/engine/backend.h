// The engine's narrow interface to a backend: a shared library, loaded at run time, that does the
// tensor work with its own libtorch. Two are built from the same sources (core/backend): "cpu"
// against Debian's libtorch 1.13, "cuda" against PyTorch's libtorch 2.x with CUDA (which also runs
// on the CPU). tessera-node links neither; backend_loader.h chooses and loads one per process.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "core/engine/device_probe.h"
#include "core/engine/reference_trainer.h"
#include "core/engine/stage_core.h"
#include "core/engine/stage_types.h"

namespace tessera::engine {

class Backend {
 public:
  virtual ~Backend() = default;
  virtual TorchInfo probe() const = 0;
  virtual void set_threads(int n) = 0;
  virtual int blas_threads() const = 0;
  virtual bool set_blas_threads(int n) = 0;
  virtual MatmulRate measure_matmul(const DeviceChoice& device, double seconds, int size,
                                    MatmulPrecision precision) = 0;
  virtual CodecRate measure_codec(const DeviceChoice& device, model::CodecKind codec,
                                  const std::vector<std::int64_t>& shape, double seconds) = 0;
  // The device codecs (core/backend/device_codec.h) on `device`, for checks: they run as tensor
  // operations there, on the CPU too (where stages use the host codecs). Throw like model::encode
  // and model::decode.
  virtual Payload device_encode(const DeviceChoice& device, model::CodecKind codec, const model::HostTensor& values,
                                model::Rounding rounding) = 0;
  virtual model::HostTensor device_decode(const DeviceChoice& device, const Payload& payload, model::CodecKind codec,
                                          const std::vector<std::int64_t>& shape) = 0;
  virtual std::unique_ptr<StageCore> make_stage(const StageOptions& options) = 0;
  virtual std::unique_ptr<TrainerCore> make_trainer(const TrainerOptions& options) = 0;
};

// What a backend library and the program loading it must agree on: this interface's version and
// the sizes of the structs passed by reference. A library built from other sources is refused.
struct BackendAbi {
  int interface_version = 0;
  std::size_t stage_options = 0, trainer_options = 0, forward_message = 0, payload = 0, torch_info = 0;
  bool operator==(const BackendAbi&) const = default;
};
inline constexpr int kBackendInterfaceVersion = 1;
inline BackendAbi this_backend_abi() {
  return {kBackendInterfaceVersion, sizeof(StageOptions), sizeof(TrainerOptions), sizeof(ForwardMessage),
          sizeof(Payload), sizeof(TorchInfo)};
}

// What the library's one exported symbol returns.
struct BackendEntry {
  BackendAbi abi;
  const char* name;            // "cpu" or "cuda"
  Backend* (*create)();        // the process's backend, created once, never freed
};

}  // namespace tessera::engine

// The symbol every backend library exports (C linkage, the only one it exports).
#define TESSERA_BACKEND_ENTRY_SYMBOL "tessera_backend_entry_v1"
extern "C" {
using TesseraBackendEntryFunction = const tessera::engine::BackendEntry* (*)();
}
