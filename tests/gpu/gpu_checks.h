// The gpu-labelled checks (tessera-engine-check gpu): CUDA fp32 against the CPU, bf16 training
// against fp32, the device codecs against the host ones, the allocator limit. Prints one JSON
// object; returns 0 when every check passed, 1 when one failed, 77 (skipped) without a CUDA device.
#pragma once

namespace tessera::engine {

int run_gpu_checks();

}  // namespace tessera::engine
