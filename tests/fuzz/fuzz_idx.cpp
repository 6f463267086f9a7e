// libFuzzer target for the IDX reader (engine/idx.cpp): the input is an images file and a
// labels file, split where its first four bytes (little-endian, modulo the rest's length)
// say. Any pair must either load with every image and label inside the buffers, or be
// refused with swinscope::Error; a crash, a sanitizer report or another exception is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "engine/error.h"
#include "engine/idx.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 4) return 0;
  const std::uint32_t split_word = static_cast<std::uint32_t>(data[0]) | static_cast<std::uint32_t>(data[1]) << 8 |
                                   static_cast<std::uint32_t>(data[2]) << 16 | static_cast<std::uint32_t>(data[3]) << 24;
  const std::size_t rest = size - 4;
  const std::size_t split = split_word % (rest + 1);
  const char* p = reinterpret_cast<const char*>(data + 4);
  const std::string images(p, split), labels(p + split, rest - split);
  swinscope::IdxSet set{"fuzz-images-idx3-ubyte", "fuzz-labels-idx1-ubyte", "fuzz"};
  try {
    const swinscope::IdxData d = swinscope::parse_idx(images, labels, set);
    if (d.count < 0 || d.rows <= 0 || d.cols <= 0) std::abort();
    if (d.labels.size() != static_cast<std::size_t>(d.count)) std::abort();
    if (d.pixels.size() != static_cast<std::size_t>(d.count) * d.rows * d.cols) std::abort();
    // Touch the first and last pixel of every image through IdxData::image so ASan checks it.
    unsigned sum = 0;
    for (long i = 0; i < d.count; ++i) {
      const std::uint8_t* im = d.image(i);
      sum += im[0] + im[static_cast<std::size_t>(d.rows) * d.cols - 1] + d.labels[static_cast<std::size_t>(i)];
    }
    volatile unsigned sink = sum;
    (void)sink;
  } catch (const swinscope::Error&) {
    // Refusing malformed input is the expected outcome.
  }
  return 0;
}
