#pragma once
// Element types as safetensors names them ("F32", "I8", ...).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace swinscope {

enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL };

std::size_t dtype_size(DType t);
std::string_view dtype_name(DType t);
std::optional<DType> dtype_from_name(std::string_view name);

// IEEE half / bfloat16 → float, used when a checkpoint ships reduced-precision weights.
float half_to_float(std::uint16_t h);
float bf16_to_float(std::uint16_t b);

}  // namespace swinscope
