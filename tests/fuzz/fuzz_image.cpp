// libFuzzer target for what classify and eval do with an image file's bytes: decode
// (engine/preprocess.cpp: the JPEG and PNG checks, then OpenCV) and preprocess with the
// three interpolations, a crop inside and one larger than the resized image, to 3 and to 1
// channel. Any byte string must either give finite floats or be refused with
// swinscope::Error; a crash, a sanitizer report or another exception is a bug. OpenCV and
// its codecs are not instrumented; our code and every buffer it hands them are.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include <opencv2/core/utils/logger.hpp>

#include "engine/error.h"
#include "engine/preprocess.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
  return 0;
}

namespace {

void run(const swinscope::Image8& img, int resize, int crop, const char* interpolation, int channels) {
  swinscope::PreprocessConfig cfg;
  cfg.resize = resize;
  cfg.crop = crop;
  cfg.interpolation = interpolation;
  cfg.channels = channels;
  std::vector<float> out(static_cast<std::size_t>(channels) * crop * crop);
  swinscope::preprocess(img, cfg, out.data());
  for (float v : out)
    if (!std::isfinite(v)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const swinscope::Image8 img = swinscope::decode_image(data, size, "fuzz-input", 3);
    if (img.width <= 0 || img.height <= 0 || img.channels != 3 ||
        img.pixels.size() != static_cast<std::size_t>(img.width) * img.height * 3)
      std::abort();
    // Resizing a huge decoded image costs seconds and finds nothing new; the decode was checked.
    if (static_cast<long long>(img.width) * img.height > 4096LL * 4096) return 0;
    run(img, 9, 7, "bicubic", 3);
    run(img, 5, 8, "bilinear", 1);  // crop larger than the resized image: padded
    run(img, 4, 3, "nearest", 3);
  } catch (const swinscope::Error&) {
    // Refusing a corrupt or unsupported image is the expected outcome.
  }
  return 0;
}
