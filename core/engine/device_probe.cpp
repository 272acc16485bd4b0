// The probes and measurements, each a call to the loaded backend (device_probe.h).
#include "core/engine/device_probe.h"

#include "core/engine/backend_loader.h"

namespace tessera::engine {

TorchInfo probe_torch() { return backend().probe(); }
void set_torch_threads(int n) { backend().set_threads(n); }
int blas_threads() { return backend().blas_threads(); }
bool set_blas_threads(int n) { return backend().set_blas_threads(n); }

MatmulRate measure_matmul(const DeviceChoice& device, double seconds, int size, MatmulPrecision precision) {
  return backend().measure_matmul(device, seconds, size, precision);
}

CodecRate measure_codec(const DeviceChoice& device, model::CodecKind codec, const std::vector<std::int64_t>& shape,
                        double seconds) {
  return backend().measure_codec(device, codec, shape, seconds);
}

}  // namespace tessera::engine
