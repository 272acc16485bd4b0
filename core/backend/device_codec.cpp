// The boundary codecs as tensor operations (device_codec.h). Each step mirrors
// core/model/codec_formats.cpp in float32 so that the bytes are the same: IEEE division, lround
// as truncation plus a step away from zero at a fraction of one half, and the splitmix64 dither in
// int64 arithmetic (which wraps like the host's uint64; shifts are made logical by masking).
#include "core/backend/torch_pch.h"

#include "core/backend/device_codec.h"

#include <cstring>
#include <stdexcept>
#include <string>

#if TESSERA_BACKEND_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <ATen/cuda/CUDAEvent.h>
#include <c10/cuda/CUDAGuard.h>
#endif

namespace tessera::engine {

namespace {

std::int64_t as_signed(std::uint64_t value) {
  std::int64_t result;
  std::memcpy(&result, &value, sizeof result);
  return result;
}

torch::Tensor shift_right_logical(const torch::Tensor& x, int bits) {
  return torch::bitwise_and(torch::bitwise_right_shift(x, bits), (std::int64_t(1) << (64 - bits)) - 1);
}

// formats.cpp's dither(value, position) for every value of a flat float32 tensor.
torch::Tensor dither(const torch::Tensor& flat) {
  const auto bits = flat.view(torch::kInt32).to(torch::kInt64).bitwise_and(std::int64_t(0xffffffff));
  const auto position = torch::arange(flat.numel(), flat.options().dtype(torch::kInt64));
  auto x = torch::bitwise_xor(torch::bitwise_left_shift(bits, 32), position) + as_signed(0x9e3779b97f4a7c15ULL);
  x = torch::bitwise_xor(x, shift_right_logical(x, 30)) * as_signed(0xbf58476d1ce4e5b9ULL);
  x = torch::bitwise_xor(x, shift_right_logical(x, 27)) * as_signed(0x94d049bb133111ebULL);
  x = torch::bitwise_xor(x, shift_right_logical(x, 31));
  return shift_right_logical(x, 40).to(torch::kFloat32) * (1.0 / 16777216.0);
}

// One float32 scale per token, then one int8 level per value, as bytes.
torch::Tensor scaled_int8(const torch::Tensor& values, Rounding rounding) {
  const auto rows = values.reshape({-1, values.size(-1)});
  const auto largest = rows.abs().amax(-1, /*keepdim=*/true);
  // A tensor divisor: CUDA divides by a scalar as a multiplication by its reciprocal, which can
  // differ from the host's largest / 127.0f in the last bit.
  const auto scale = torch::where(largest > 0, largest / torch::full_like(largest, 127.0f), torch::ones_like(largest));
  const auto level = rows / scale;
  torch::Tensor rounded;
  if (rounding == Rounding::stochastic) {
    rounded = torch::floor(level + dither(rows.reshape({-1})).view_as(level));
  } else {
    const auto truncated = torch::trunc(level);
    rounded = torch::where((level - truncated).abs() >= 0.5, truncated + torch::sign(level), truncated);
  }
  const auto q = rounded.clamp(-127, 127).to(torch::kInt8);
  return torch::cat({scale.reshape({-1}).view(torch::kUInt8), q.reshape({-1}).view(torch::kUInt8)});
}

torch::Tensor encoded_bytes(CodecKind codec, const torch::Tensor& values, Rounding rounding) {
  switch (codec) {
    case CodecKind::none: return values.reshape({-1}).view(torch::kUInt8);
    case CodecKind::fp16: return values.to(torch::kHalf).reshape({-1}).view(torch::kUInt8);
    case CodecKind::int8:
    case CodecKind::subspace: return scaled_int8(values, rounding);
  }
  throw std::invalid_argument("unknown codec id " + std::to_string(static_cast<int>(codec)));
}

// Device bytes to host memory. On CUDA: into a pinned buffer, copied on a side stream that waits
// only for the encode, so the compute stream goes on with what is queued behind it.
std::vector<std::uint8_t> to_host(const torch::Tensor& bytes) {
  std::vector<std::uint8_t> out(static_cast<std::size_t>(bytes.numel()));
  if (out.empty()) return out;
#if TESSERA_BACKEND_CUDA
  if (bytes.is_cuda()) {
    auto pinned = torch::empty({bytes.numel()}, torch::TensorOptions().dtype(torch::kUInt8).pinned_memory(true));
    const auto compute = at::cuda::getCurrentCUDAStream(bytes.device().index());
    auto side = at::cuda::getStreamFromPool(/*isHighPriority=*/true, bytes.device().index());
    at::cuda::CUDAEvent encoded;
    encoded.record(compute);
    encoded.block(side);
    {
      c10::cuda::CUDAStreamGuard guard(side);
      pinned.copy_(bytes, /*non_blocking=*/true);
      bytes.record_stream(side);  // the allocator must not hand out `bytes` before the copy is done
    }
    side.synchronize();
    std::memcpy(out.data(), pinned.data_ptr<std::uint8_t>(), out.size());
    return out;
  }
#endif
  const auto host = bytes.to(torch::kCPU).contiguous();
  std::memcpy(out.data(), host.data_ptr<std::uint8_t>(), out.size());
  return out;
}

// Payload bytes onto the device: through a pinned buffer on CUDA, copied asynchronously on the
// compute stream (the decode that follows runs after it on the same stream).
torch::Tensor to_device(const std::vector<std::uint8_t>& bytes, const torch::Device& device) {
  const auto count = static_cast<std::int64_t>(bytes.size());
  auto host = torch::empty({count}, torch::TensorOptions().dtype(torch::kUInt8).pinned_memory(device.is_cuda()));
  if (count > 0) std::memcpy(host.data_ptr<std::uint8_t>(), bytes.data(), bytes.size());
  return device.is_cuda() ? host.to(device, /*non_blocking=*/true) : host;
}

[[noreturn]] void reject(const std::string& what) { throw std::invalid_argument("boundary input rejected: " + what); }

}  // namespace

Payload encode_on_device(CodecKind codec, const torch::Tensor& tensor, Rounding rounding) {
  torch::NoGradGuard no_grad;
  const auto values = tensor.detach().to(torch::kFloat32).contiguous();
  if (values.dim() == 0) throw std::invalid_argument("codec " + codec_name(codec) + ": tensor has no dimensions");
  Payload payload;
  payload.codec = codec;
  payload.shape.assign(values.sizes().begin(), values.sizes().end());
  if (values.numel() == 0) return payload;
  // Whether every value is finite travels as one more byte with the encoded ones: one copy to the
  // host and one wait, not a wait for the check and another for the bytes.
  const auto finite = torch::isfinite(values).all().to(torch::kUInt8).reshape({1});
  payload.bytes = to_host(torch::cat({encoded_bytes(codec, values, rounding), finite}));
  const bool all_finite = payload.bytes.back() != 0;
  payload.bytes.pop_back();
  if (!all_finite) throw std::invalid_argument("codec " + codec_name(codec) + ": tensor holds NaN or Inf");
  return payload;
}

torch::Tensor decode_on_device(const Payload& payload, CodecKind codec, const std::vector<std::int64_t>& shape,
                               const torch::Device& device) {
  const auto count = static_cast<std::int64_t>(model::check_payload(payload, codec, shape));
  torch::NoGradGuard no_grad;
  const auto bytes = to_device(payload.bytes, device);
  torch::Tensor values;
  if (count == 0) return torch::zeros(shape, torch::TensorOptions().dtype(torch::kFloat32).device(device));
  switch (codec) {
    case CodecKind::none: values = bytes.view(torch::kFloat32); break;
    case CodecKind::fp16: values = bytes.view(torch::kHalf).to(torch::kFloat32); break;
    case CodecKind::int8:
    case CodecKind::subspace: {
      const std::int64_t width = shape.back(), tokens = count / width;
      const auto scales = bytes.slice(0, 0, 4 * tokens).view(torch::kFloat32).reshape({tokens, 1});
      if (!(torch::isfinite(scales).all().item<bool>() && (scales >= 0).all().item<bool>()))
        reject("an int8 scale is not finite");
      values = scales * bytes.slice(0, 4 * tokens).view(torch::kInt8).reshape({tokens, width}).to(torch::kFloat32);
      break;
    }
  }
  values = values.reshape(shape);
  if (!torch::isfinite(values).all().item<bool>()) reject("a decoded value is NaN or Inf");
  return values;
}

}  // namespace tessera::engine
