// libFuzzer target for the safetensors reader: any byte string must either parse into
// views that lie inside the buffer, or be refused with swinscope::Error. Anything else —
// a crash, a sanitizer report, another exception type escaping — is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "engine/error.h"
#include "engine/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const auto file = swinscope::SafetensorsFile::from_bytes(
        std::span<const std::byte>(reinterpret_cast<const std::byte*>(data), size), "fuzz-input");
    // Touch every accepted byte so ASan checks that each view stays inside the copy.
    unsigned sum = 0;
    for (const swinscope::TensorView& t : file.tensors()) {
      if (file.find(t.name) != &t) std::abort();
      if (static_cast<std::uint64_t>(t.numel()) * swinscope::dtype_size(t.dtype) != t.nbytes) std::abort();
      for (std::size_t i = 0; i < t.nbytes; ++i) sum += std::to_integer<unsigned>(t.data[i]);
    }
    for (const auto& [key, value] : file.metadata()) sum += static_cast<unsigned>(key.size() + value.size());
    volatile unsigned sink = sum;
    (void)sink;
  } catch (const swinscope::Error&) {
    // Refusing malformed input is the expected outcome.
  }
  return 0;
}
