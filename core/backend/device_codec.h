// The boundary codecs as tensor operations, so that a CUDA stage encodes and decodes on the GPU and
// only the compressed bytes cross to the host. They give the same bytes as core/model/codec.h for
// every codec and rounding (test_engine_device_codec checks it on the CPU, the gpu suite on CUDA),
// and keep its checks: non-finite values are refused on both sides.
#pragma once
#ifndef TORCH_VERSION_MAJOR
#error "core/backend/device_codec.h is for the backend's torch translation units: include core/backend/torch_pch.h first"
#endif

#include <cstdint>
#include <vector>

#include "core/engine/model_types.h"

namespace tessera::engine {

// Encodes a float32 tensor on its own device; the bytes reach host memory through a pinned buffer,
// copied on a side stream on CUDA. Throws std::invalid_argument like model::encode.
Payload encode_on_device(CodecKind codec, const torch::Tensor& tensor, Rounding rounding);
// Checks the payload (model::check_payload), copies its bytes to `device` and decodes them there.
// Throws std::invalid_argument ("boundary input rejected: …") like model::decode.
torch::Tensor decode_on_device(const Payload& payload, CodecKind codec, const std::vector<std::int64_t>& shape,
                               const torch::Device& device);

}  // namespace tessera::engine
