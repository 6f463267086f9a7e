#include "engine/dtype.h"

#include <array>
#include <bit>

namespace swinscope {

namespace {

struct DTypeInfo {
  DType type;
  std::string_view name;
  std::size_t size;
};

// Names exactly as the safetensors header spells them.
constexpr std::array<DTypeInfo, 10> kDTypes{{
    {DType::F64, "F64", 8},
    {DType::F32, "F32", 4},
    {DType::F16, "F16", 2},
    {DType::BF16, "BF16", 2},
    {DType::I64, "I64", 8},
    {DType::I32, "I32", 4},
    {DType::I16, "I16", 2},
    {DType::I8, "I8", 1},
    {DType::U8, "U8", 1},
    {DType::BOOL, "BOOL", 1},
}};

const DTypeInfo& info(DType t) {
  for (const DTypeInfo& i : kDTypes) {
    if (i.type == t) return i;
  }
  // Only reachable through a cast of an out-of-range integer to DType.
  return kDTypes[1];
}

}  // namespace

std::size_t dtype_size(DType t) { return info(t).size; }

std::string_view dtype_name(DType t) { return info(t).name; }

std::optional<DType> dtype_from_name(std::string_view name) {
  for (const DTypeInfo& i : kDTypes) {
    if (i.name == name) return i.type;
  }
  return std::nullopt;
}

// Bit-exact conversion (no FPU rounding involved): every half value, subnormals
// included, is exactly representable as a float.
float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  std::uint32_t exponent = (h >> 10) & 0x1Fu;
  std::uint32_t mantissa = h & 0x3FFu;
  std::uint32_t bits = 0;
  if (exponent == 0x1Fu) {
    // Inf stays inf; NaN keeps its payload (shifted into the float mantissa) so a
    // signalling/quiet distinction survives the round trip through float.
    bits = sign | 0x7F800000u | (mantissa << 13);
  } else if (exponent != 0) {
    // Rebias the exponent from 15 to 127.
    bits = sign | ((exponent + 112u) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    bits = sign;  // ±0
  } else {
    // Subnormal half (mantissa × 2^-24) is a normal float: shift the leading one into
    // the implicit-bit position and lower the exponent by one per shift.
    int e = 1;
    while ((mantissa & 0x400u) == 0) {
      mantissa <<= 1;
      --e;
    }
    mantissa &= 0x3FFu;
    exponent = static_cast<std::uint32_t>(e + 112);
    bits = sign | (exponent << 23) | (mantissa << 13);
  }
  return std::bit_cast<float>(bits);
}

// bfloat16 is the upper half of an IEEE float, so widening is a shift.
float bf16_to_float(std::uint16_t b) { return std::bit_cast<float>(static_cast<std::uint32_t>(b) << 16); }

}  // namespace swinscope
