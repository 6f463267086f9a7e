#pragma once
// Image file → normalized CHW float, as timm / torchvision evaluate SWIN:
// decode (OpenCV), shorter-side resize with PIL's antialiased filter, center crop,
// scale to [0,1], normalize by mean/std.
#include <array>
#include <filesystem>
#include <string>
#include <vector>

namespace swinscope {

struct PreprocessConfig {
  int resize = 248;                 // shorter side after resize (timm: 224 / crop_pct 0.9)
  int crop = 224;                   // square center crop
  std::string interpolation = "bicubic";  // bicubic | bilinear | nearest (PIL semantics)
  std::array<float, 3> mean{0.485f, 0.456f, 0.406f};
  std::array<float, 3> std{0.229f, 0.224f, 0.225f};
  int channels = 3;                 // 3: RGB; 1: grayscale (uses mean[0], std[0])

  std::string to_json() const;
  static PreprocessConfig from_json(const std::string& json);  // throws swinscope::Error
};

// An 8-bit image as PIL would hold it after convert("RGB") / convert("L"):
// interleaved HWC, `channels` 1 or 3.
struct Image8 {
  int width = 0;
  int height = 0;
  int channels = 0;
  std::vector<unsigned char> pixels;  // (height, width, channels)
};

// Decodes any format OpenCV reads; applies EXIF orientation; 16-bit → 8-bit as PIL's
// convert does; alpha dropped (composited on nothing, as PIL's convert("RGB")); gray →
// RGB when `channels` is 3 and RGB → luma (ITU-R 601-2, PIL's formula) when 1.
// Throws swinscope::Error naming the file and the reason (missing, empty, not an image,
// truncated).
Image8 load_image(const std::filesystem::path& path, int channels);
// load_image's decoding of a file's bytes already in memory; `path` names it in errors.
Image8 decode_image(const unsigned char* data, std::size_t size, const std::filesystem::path& path, int channels);

// PIL.Image.resize semantics (separable, antialiased support scaled by the downscale
// factor, 8-bit intermediate with PIL's fixed-point rounding) so results match
// torchvision's PIL pipeline to the last bit where possible.
Image8 resize_like_pil(const Image8& src, int out_w, int out_h, const std::string& interpolation);

// Full pipeline: writes channels*crop*crop floats (CHW) to `out`.
void preprocess(const Image8& img, const PreprocessConfig& cfg, float* out);
void preprocess_file(const std::filesystem::path& path, const PreprocessConfig& cfg, float* out);

}  // namespace swinscope
