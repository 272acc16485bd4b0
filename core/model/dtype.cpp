// Element type names and sizes.
#include "core/model/dtype.h"

namespace tessera::model {

std::string dtype_name(DType dtype) {
  switch (dtype) {
    case DType::u8: return "u8";
    case DType::int8: return "int8";
    case DType::float16: return "float16";
    case DType::bfloat16: return "bfloat16";
    case DType::float32: return "float32";
    case DType::int32: return "int32";
    case DType::int64: return "int64";
  }
  return "unknown";
}

std::size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::u8:
    case DType::int8: return 1;
    case DType::float16:
    case DType::bfloat16: return 2;
    case DType::float32:
    case DType::int32: return 4;
    case DType::int64: return 8;
  }
  return 0;
}

}  // namespace tessera::model
