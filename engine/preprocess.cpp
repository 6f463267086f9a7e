#include "engine/preprocess.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iostream>
#include <limits>
#include <nlohmann/json.hpp>
#ifdef SWINSCOPE_HAVE_OPENCV
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#endif
#include <system_error>

#include "engine/error.h"
#include "engine/png_check.h"

// Bit-exactness with Pillow rests on evaluating the filter and coefficient arithmetic in
// the same order, in IEEE double, without contraction into FMA. The project builds with
// -std=c++20 (no GNU extensions), for which GCC defaults to -ffp-contract=off; do not
// build this file with -ffast-math.

namespace swinscope {

// ============================================================================
// PreprocessConfig JSON
// ============================================================================

namespace {

using nlohmann::json;

// Floats go into JSON as their shortest round-tripping decimal (0.485, not
// 0.48500001430511475) so model-file metadata stays readable and reloads to the same float.
double float_for_json(float v) {
  char buf[32];
  const auto fr = std::to_chars(buf, buf + sizeof buf, v);
  double d = 0.0;
  std::from_chars(buf, fr.ptr, d);
  return d;
}

[[noreturn]] void config_error(const std::string& what) { throw Error("preprocess config: " + what); }

std::string json_type(const json& v) { return v.type_name(); }

int config_int(const json& obj, const char* key, int current) {
  if (!obj.contains(key)) return current;
  const json& v = obj.at(key);
  if (!v.is_number_integer())
    config_error(std::string("key '") + key + "' must be an integer, found " + json_type(v) + " " + v.dump());
  const auto x = v.get<long long>();
  if (x < INT32_MIN || x > INT32_MAX) config_error(std::string("key '") + key + "' is out of range: " + v.dump());
  return static_cast<int>(x);
}

std::array<float, 3> config_triplet(const json& obj, const char* key, std::array<float, 3> current) {
  if (!obj.contains(key)) return current;
  const json& v = obj.at(key);
  // One value is accepted for 1-channel models (torchvision's Normalize([m], [s])).
  if (!v.is_array() || (v.size() != 3 && v.size() != 1))
    config_error(std::string("key '") + key + "' must be an array of 3 (or 1) numbers, found " + json_type(v) +
                 " " + v.dump());
  std::array<float, 3> out{};
  for (std::size_t i = 0; i < 3; ++i) {
    const json& e = v.at(v.size() == 1 ? 0 : i);
    if (!e.is_number())
      config_error(std::string("key '") + key + "' element " + std::to_string(i) + " must be a number, found " +
                   json_type(e) + " " + e.dump());
    out[i] = static_cast<float>(e.get<double>());
  }
  return out;
}

}  // namespace

std::string PreprocessConfig::to_json() const {
  json j;
  j["resize"] = resize;
  j["crop"] = crop;
  j["interpolation"] = interpolation;
  j["mean"] = {float_for_json(mean[0]), float_for_json(mean[1]), float_for_json(mean[2])};
  j["std"] = {float_for_json(std[0]), float_for_json(std[1]), float_for_json(std[2])};
  j["channels"] = channels;
  return j.dump();
}

PreprocessConfig PreprocessConfig::from_json(const std::string& text) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    config_error(std::string("not valid JSON: ") + e.what());
  }
  if (!j.is_object()) config_error("expected a JSON object, found " + json_type(j));
  PreprocessConfig c;
  c.resize = config_int(j, "resize", c.resize);
  c.crop = config_int(j, "crop", c.crop);
  c.channels = config_int(j, "channels", c.channels);
  if (j.contains("interpolation")) {
    const json& v = j.at("interpolation");
    if (!v.is_string()) config_error("key 'interpolation' must be a string, found " + json_type(v) + " " + v.dump());
    c.interpolation = v.get<std::string>();
  }
  c.mean = config_triplet(j, "mean", c.mean);
  c.std = config_triplet(j, "std", c.std);

  if (c.resize <= 0) config_error("resize must be positive, found " + std::to_string(c.resize));
  if (c.crop <= 0) config_error("crop must be positive, found " + std::to_string(c.crop));
  if (c.channels != 1 && c.channels != 3) config_error("channels must be 1 or 3, found " + std::to_string(c.channels));
  if (c.interpolation != "bicubic" && c.interpolation != "bilinear" && c.interpolation != "nearest")
    config_error("interpolation must be bicubic, bilinear or nearest, found '" + c.interpolation + "'");
  for (int i = 0; i < 3; ++i) {
    if (!std::isfinite(c.mean[i])) config_error("mean[" + std::to_string(i) + "] is not finite");
    if (!std::isfinite(c.std[i]) || c.std[i] == 0.0f)
      config_error("std[" + std::to_string(i) + "] must be finite and non-zero, found " + std::to_string(c.std[i]));
  }
  return c;
}

// ============================================================================
// Decoding
// ============================================================================

namespace {

[[noreturn]] void image_error(const std::filesystem::path& path, const std::string& why) {
  throw Error(path.string() + ": " + why);
}

std::vector<unsigned char> read_whole_file(const std::filesystem::path& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) image_error(path, "cannot read image: " + ec.message());
  if (ec || !std::filesystem::exists(status)) {
    std::error_code le;
    if (std::filesystem::is_symlink(std::filesystem::symlink_status(path, le)))
      image_error(path, "cannot read image: dangling symlink (its target " + std::filesystem::read_symlink(path, le).string() +
                            " does not exist)");
    image_error(path, "cannot read image: file does not exist");
  }
  if (std::filesystem::is_directory(status)) image_error(path, "cannot read image: is a directory");
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) image_error(path, "cannot read image: cannot open file (" + std::string(std::strerror(errno)) + ")");
  const std::streamoff size = f.tellg();
  if (size < 0) image_error(path, "cannot read image: cannot determine file size");
  if (size == 0) image_error(path, "cannot read image: file is empty (0 bytes)");
  // cv::imdecode takes the encoded bytes as a Mat with an int column count.
  if (size > std::numeric_limits<int>::max())
    image_error(path, "cannot read image: file of " + std::to_string(size) + " bytes is larger than 2 GiB");
  std::vector<unsigned char> bytes(static_cast<std::size_t>(size));
  f.seekg(0);
  if (!f.read(reinterpret_cast<char*>(bytes.data()), size))
    image_error(path, "cannot read image: read failed after " + std::to_string(f.gcount()) + " of " +
                          std::to_string(size) + " bytes");
  return bytes;
}

// libjpeg decodes a truncated JPEG with only a warning ("Premature end of JPEG file") and
// fills the missing rows with grey, and OpenCV hands that image back as a success. PIL
// refuses such a file ("image file is truncated"), so we do too: walk the marker segments
// and the entropy-coded data after each SOS, and require an EOI marker before the bytes
// run out. Data after EOI (camera trailers, MPO images) is allowed, as libjpeg allows it.
bool jpeg_reaches_eoi(const unsigned char* d, std::size_t n) {
  std::size_t i = 2;  // after SOI
  while (i < n) {
    if (d[i] != 0xFF) {  // stray bytes between segments: libjpeg skips them with a warning
      ++i;
      continue;
    }
    while (i < n && d[i] == 0xFF) ++i;  // fill bytes
    if (i >= n) return false;
    const unsigned char marker = d[i++];
    if (marker == 0xD9) return true;
    if (marker == 0x00 || marker == 0x01 || marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7)) continue;
    if (i + 2 > n) return false;
    const std::size_t len = (static_cast<std::size_t>(d[i]) << 8) | d[i + 1];
    if (len < 2) return false;
    i += len;
    if (i > n) return false;
    if (marker == 0xDA) {
      // Entropy-coded data: 0xFF is followed by 0x00 (stuffing) or a restart marker
      // inside the scan; any other byte ends the scan.
      for (;;) {
        const void* ff = std::memchr(d + i, 0xFF, n - i);
        if (!ff) return false;
        i = static_cast<std::size_t>(static_cast<const unsigned char*>(ff) - d);
        if (i + 1 >= n) return false;
        const unsigned char next = d[i + 1];
        if (next == 0x00 || (next >= 0xD0 && next <= 0xD7) || next == 0xFF) {
          i += (next == 0xFF) ? 1 : 2;
          continue;
        }
        break;
      }
    }
  }
  return false;
}

#ifdef SWINSCOPE_HAVE_OPENCV
const char* depth_name(int depth) {
  switch (depth) {
    case CV_8S: return "8-bit signed";
    case CV_16S: return "16-bit signed";
    case CV_32S: return "32-bit integer";
    case CV_32F: return "32-bit float";
    case CV_64F: return "64-bit float";
    default: return "unknown";
  }
}

// OpenCV 4.6's imdecode catches a decoder's exception itself, prints it to std::cerr
// ("imdecode_(''): can't read header: OpenCV(4.6.0) ./modules/imgcodecs/src/grfmt_pxm.cpp:82:
// error: (-2:Unspecified error) PXM: Unexpected code in ReadNumber(): 0xff (255) in function
// 'ReadNumber'") and returns an empty Mat. std::cerr therefore gets a buffer, installed before
// main and removed at exit, that keeps what a thread writes while it decodes as that image's
// skip reason and passes everything else on unchanged. It has no buffer of its own, so
// threads share no state in it.
class DecoderMessages : public std::streambuf {
 public:
  DecoderMessages() : m_next(std::cerr.rdbuf(this)) {}
  ~DecoderMessages() override { std::cerr.rdbuf(m_next); }

  // Collects on this thread while alive.
  class Scope {
   public:
    Scope() {
      t_text.clear();
      t_active = true;
    }
    ~Scope() { t_active = false; }
    const std::string& text() const { return t_text; }
  };

 protected:
  int_type overflow(int_type ch) override {
    if (traits_type::eq_int_type(ch, traits_type::eof())) return traits_type::not_eof(ch);
    if (t_active) {
      t_text += traits_type::to_char_type(ch);
      return ch;
    }
    return m_next->sputc(traits_type::to_char_type(ch));
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    if (t_active) {
      t_text.append(s, static_cast<std::size_t>(n));
      return n;
    }
    return m_next->sputn(s, n);
  }
  int sync() override { return t_active ? 0 : m_next->pubsync(); }

 private:
  std::streambuf* m_next;
  static thread_local bool t_active;
  static thread_local std::string t_text;
};
thread_local bool DecoderMessages::t_active = false;
thread_local std::string DecoderMessages::t_text;
DecoderMessages g_decoder_messages;

std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  const auto b = s.find_first_not_of(' ');
  const auto e = s.find_last_not_of(' ');
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

// The decoder's own words from an "OpenCV(4.6.0) file:line: error: (-2:Unspecified error)
// WHAT in function 'F'" message: WHAT, or "" when it says nothing.
std::string opencv_message(const std::string& text) {
  std::string s = one_line(text);
  if (const auto e = s.find("error: ("); e != std::string::npos) {
    const auto close = s.find(") ", e);
    s = close == std::string::npos ? std::string() : s.substr(close + 2);
  }
  if (const auto f = s.rfind(" in function '"); f != std::string::npos) s.erase(f);
  if (s.rfind("in function '", 0) == 0) s.clear();
  return one_line(s);
}

// cv::Exception::what() is several lines ("OpenCV(4.6.0) /path/loadsave.cpp:77: error:
// (-215:Assertion failed) pixels <= CV_IO_MAX_IMAGE_PIXELS in function
// 'validateInputImageSize'\n"); a skip reason is one line saying what is wrong.
std::string opencv_reason(const cv::Exception& e) {
  const std::string what = one_line(e.err.empty() ? std::string(e.what()) : e.err);
  if (e.func == "validateInputImageSize") return "image size exceeds OpenCV's decoder limit (" + what + ")";
  return "OpenCV refused it (" + what + (e.func.empty() ? "" : " in " + e.func) + ")";
}
#endif

// PIL's convert("L"): ITU-R 601-2 luma in 16.16 fixed point, rounded (Pillow's
// Convert.c L24 macro); checked bit for bit against PIL 9.4 by the golden tests.
inline unsigned char luma(unsigned r, unsigned g, unsigned b) {
  return static_cast<unsigned char>((r * 19595u + g * 38470u + b * 7471u + 0x8000u) >> 16);
}

// Converts between 1 and 3 channels the way PIL's convert does.
void convert_channels(const unsigned char* src, int src_channels, std::size_t pixels, int channels,
                      unsigned char* dst) {
  if (src_channels == channels) {
    std::memcpy(dst, src, pixels * static_cast<std::size_t>(channels));
  } else if (src_channels == 1) {
    for (std::size_t i = 0; i < pixels; ++i) dst[3 * i] = dst[3 * i + 1] = dst[3 * i + 2] = src[i];
  } else {
    for (std::size_t i = 0; i < pixels; ++i) dst[i] = luma(src[3 * i], src[3 * i + 1], src[3 * i + 2]);
  }
}

}  // namespace

Image8 load_image(const std::filesystem::path& path, int channels) {
  if (channels != 1 && channels != 3)
    throw Error(path.string() + ": load_image: channels must be 1 or 3, found " + std::to_string(channels));
  const std::vector<unsigned char> bytes = read_whole_file(path);
  return decode_image(bytes.data(), bytes.size(), path, channels);
}

Image8 decode_image(const unsigned char* data, std::size_t size, const std::filesystem::path& path, int channels) {
  if (channels != 1 && channels != 3)
    throw Error(path.string() + ": decode_image: channels must be 1 or 3, found " + std::to_string(channels));
  if (size == 0) image_error(path, "cannot read image: file is empty (0 bytes)");
  if (size > static_cast<std::size_t>(std::numeric_limits<int>::max()))
    image_error(path, "cannot read image: " + std::to_string(size) + " bytes is larger than 2 GiB");
  if (size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF && !jpeg_reaches_eoi(data, size))
    image_error(path, "truncated JPEG: no end-of-image marker in " + std::to_string(size) + " bytes");
  std::vector<unsigned char> png;  // the checked copy OpenCV decodes instead (engine/png_check.h)
  if (is_png(data, size)) {
    if (std::string why = check_png(data, size, png); !why.empty()) image_error(path, why);
    data = png.data();
    size = png.size();
  }

  // IMREAD_UNCHANGED would keep 16-bit samples and alpha but OpenCV then skips the EXIF
  // orientation (imgcodecs loadsave.cpp applies it only when flags != IMREAD_UNCHANGED).
  // ANYDEPTH keeps 16-bit samples, ANYCOLOR keeps gray as gray and colour as 3 channels
  // with alpha stripped -- exactly what PIL's convert("RGB") does with alpha -- and the
  // orientation is applied. Verified by the exif6.jpg golden case.
  // Known, unfixable here: CMYK JPEGs. OpenCV converts CMYK to BGR inside its decoder with
  // k - ((255 - c) * k >> 8) and exposes no raw CMYK; PIL rounds a division by 255, so
  // such images come out up to one level brighter (the cmyk golden case bounds it).
#ifdef SWINSCOPE_HAVE_OPENCV
  cv::Mat m;
  std::string decoder_text;
  try {
    const cv::Mat raw(1, static_cast<int>(size), CV_8UC1, const_cast<unsigned char*>(data));
    const DecoderMessages::Scope collect;
    m = cv::imdecode(raw, cv::IMREAD_ANYDEPTH | cv::IMREAD_ANYCOLOR);
    decoder_text = collect.text();
  } catch (const cv::Exception& e) {
    image_error(path, "cannot decode image: " + opencv_reason(e));
  }
  if (m.empty()) {
    const std::string said = opencv_message(decoder_text);
    if (decoder_text.find("can't read data") != std::string::npos)
      image_error(path, "corrupt image data" + (said.empty() ? std::string() : " (" + said + ")"));
    image_error(path, "not an image OpenCV can decode (" + (said.empty() ? std::string("unknown format or corrupt data") : said) + ")");
  }

  const int depth = m.depth();
  if (depth != CV_8U && depth != CV_16U)
    image_error(path, std::string("unsupported sample type ") + depth_name(depth) + "; expected 8- or 16-bit");
  const int cn = m.channels();
  if (cn < 1 || cn > 4) image_error(path, "unsupported channel count " + std::to_string(cn));

  // 16-bit samples keep their high byte: PIL 9.4 does that for 16-bit RGB/RGBA PNGs (raw
  // mode "RGB;16B"). For 16-bit grayscale PIL opens mode "I" and convert() saturates at
  // 255, whitening almost every real image; we keep the high byte there too, and the
  // gray16 golden case documents the difference. (convertTo(CV_8U, 1/256.) would round.)
  const int w = m.cols, h = m.rows;
  if (depth == CV_16U) {
    cv::Mat m8(h, w, CV_8UC(cn));
    for (int y = 0; y < h; ++y) {
      const std::uint16_t* in = m.ptr<std::uint16_t>(y);
      unsigned char* out = m8.ptr<unsigned char>(y);
      for (int x = 0; x < w * cn; ++x) out[x] = static_cast<unsigned char>(in[x] >> 8);
    }
    m = m8;
  }
  if (cn == 2) {  // gray + alpha; ANYCOLOR normally strips the alpha already
    cv::Mat g;
    cv::extractChannel(m, g, 0);
    m = g;
  }

  Image8 img;
  img.width = w;
  img.height = h;
  img.channels = channels;
  img.pixels.resize(static_cast<std::size_t>(w) * h * channels);
  cv::Mat dst(h, w, CV_8UC(channels), img.pixels.data());
  if (channels == 3) {
    // OpenCV holds BGR(A); alpha is dropped as PIL's convert("RGB") drops it.
    const int code = m.channels() == 1   ? cv::COLOR_GRAY2RGB
                     : m.channels() == 3 ? cv::COLOR_BGR2RGB
                                         : cv::COLOR_BGRA2RGB;
    cv::cvtColor(m, dst, code);
  } else if (m.channels() == 1) {
    m.copyTo(dst);
  } else {
    // OpenCV's own BGR2GRAY rounds differently from PIL; use PIL's formula.
    const int step = m.channels();
    for (int y = 0; y < h; ++y) {
      const unsigned char* in = m.ptr<unsigned char>(y);
      unsigned char* out = img.pixels.data() + static_cast<std::size_t>(y) * w;
      for (int x = 0; x < w; ++x, in += step) out[x] = luma(in[2], in[1], in[0]);
    }
  }
  // cvtColor / copyTo write into the caller's buffer only when it already has the right
  // size and type; anything else would silently leave the image empty.
  if (dst.data != img.pixels.data()) image_error(path, "internal error: OpenCV reallocated the output buffer");
  return img;
#else
  image_error(path, "this build has no image decoder (configured with -DSWINSCOPE_OPENCV=OFF)");
#endif
}

// ============================================================================
// PIL resampling (Pillow libImaging/Resample.c and, for NEAREST, Geometry.c)
// ============================================================================

namespace {

enum class Filter { Nearest, Bilinear, Bicubic };

Filter parse_filter(const std::string& name) {
  if (name == "bicubic") return Filter::Bicubic;
  if (name == "bilinear") return Filter::Bilinear;
  if (name == "nearest") return Filter::Nearest;
  throw Error("preprocess: unknown interpolation '" + name + "' (expected bicubic, bilinear or nearest)");
}

double bilinear_weight(double x) {
  x = std::fabs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

// Keys' cubic convolution with a = -0.5, written in the same operation order as Pillow.
double bicubic_weight(double x) {
  constexpr double a = -0.5;
  if (x < 0.0) x = -x;
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

// 8 bits of result, 2 bits of headroom because bicubic's negative lobes let a partial
// sum go below 0 or above 1.
constexpr int kPrecisionBits = 32 - 8 - 2;

inline unsigned char clip8(std::int32_t acc) {
  const std::int32_t v = acc >> kPrecisionBits;  // arithmetic shift: floor, as Pillow's table lookup
  return static_cast<unsigned char>(v < 0 ? 0 : (v > 255 ? 255 : v));
}

// Fixed-point weights of one axis for output indices [out_first, out_first + out_count).
struct AxisWeights {
  int ksize = 0;
  std::vector<int> first;          // (out_count,) first input index
  std::vector<int> count;          // (out_count,) taps used
  std::vector<std::int32_t> k;     // (out_count, ksize)
  std::vector<double> scratch;     // (ksize,) float weights of one output
};

// Pillow's precompute_coeffs + normalize_coeffs_8bpc. The support widens with the
// downscale factor (antialiasing); the weights of each output are normalised to sum 1
// in double, then rounded half away from zero to PRECISION_BITS fixed point.
void compute_axis(int in_size, int out_size, Filter f, int out_first, int out_count, AxisWeights& w) {
  const double filter_support = f == Filter::Bicubic ? 2.0 : 1.0;
  double (*filter)(double) = f == Filter::Bicubic ? bicubic_weight : bilinear_weight;
  // Pillow computes (double)(in1 - in0) / outSize with the float box (0, in_size).
  const double scale = static_cast<double>(static_cast<float>(in_size) - 0.0f) / out_size;
  const double filterscale = scale < 1.0 ? 1.0 : scale;
  const double support = filter_support * filterscale;
  const int ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  const double ss = 1.0 / filterscale;

  w.ksize = ksize;
  w.first.resize(static_cast<std::size_t>(out_count));
  w.count.resize(static_cast<std::size_t>(out_count));
  w.k.assign(static_cast<std::size_t>(out_count) * ksize, 0);
  w.scratch.resize(static_cast<std::size_t>(ksize));
  for (int i = 0; i < out_count; ++i) {
    const int xx = out_first + i;
    const double center = 0.0 + (xx + 0.5) * scale;
    int xmin = static_cast<int>(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double ww = 0.0;
    for (int x = 0; x < xmax; ++x) {
      const double v = filter((x + xmin - center + 0.5) * ss);
      w.scratch[static_cast<std::size_t>(x)] = v;
      ww += v;
    }
    std::int32_t* k = w.k.data() + static_cast<std::size_t>(i) * ksize;
    for (int x = 0; x < xmax; ++x) {
      double v = w.scratch[static_cast<std::size_t>(x)];
      if (ww != 0.0) v /= ww;
      k[x] = v < 0 ? static_cast<std::int32_t>(-0.5 + v * (1 << kPrecisionBits))
                   : static_cast<std::int32_t>(0.5 + v * (1 << kPrecisionBits));
    }
    w.first[static_cast<std::size_t>(i)] = xmin;
    w.count[static_cast<std::size_t>(i)] = xmax;
  }
}

// Horizontal pass over `rows` source rows: dst (rows, out_w, C) from src rows with
// `src_stride` bytes between them.
template <int C>
void horizontal_pass(const unsigned char* src, std::size_t src_stride, int rows, const AxisWeights& w,
                     unsigned char* dst) {
  const int out_w = static_cast<int>(w.first.size());
  for (int y = 0; y < rows; ++y) {
    const unsigned char* in = src + static_cast<std::size_t>(y) * src_stride;
    unsigned char* out = dst + static_cast<std::size_t>(y) * out_w * C;
    for (int i = 0; i < out_w; ++i) {
      const std::int32_t* k = w.k.data() + static_cast<std::size_t>(i) * w.ksize;
      const unsigned char* p = in + static_cast<std::size_t>(w.first[static_cast<std::size_t>(i)]) * C;
      const int n = w.count[static_cast<std::size_t>(i)];
      std::int32_t acc[C];
      for (int c = 0; c < C; ++c) acc[c] = 1 << (kPrecisionBits - 1);
      for (int t = 0; t < n; ++t)
        for (int c = 0; c < C; ++c) acc[c] += static_cast<std::int32_t>(p[t * C + c]) * k[t];
      for (int c = 0; c < C; ++c) out[i * C + c] = clip8(acc[c]);
    }
  }
}

// Vertical pass: each output row is a weighted sum of source rows. Summing whole rows
// into an int32 row (instead of Pillow's per-pixel loop) gives identical integers --
// no partial sum overflows -- and vectorizes.
void vertical_pass(const unsigned char* src, std::size_t src_stride, int row_offset, int row_bytes,
                   const AxisWeights& w, unsigned char* dst, std::vector<std::int32_t>& acc) {
  acc.resize(static_cast<std::size_t>(row_bytes));
  const int out_h = static_cast<int>(w.first.size());
  for (int j = 0; j < out_h; ++j) {
    std::fill(acc.begin(), acc.end(), 1 << (kPrecisionBits - 1));
    const std::int32_t* k = w.k.data() + static_cast<std::size_t>(j) * w.ksize;
    const int first = w.first[static_cast<std::size_t>(j)] - row_offset;
    const int n = w.count[static_cast<std::size_t>(j)];
    std::int32_t* a = acc.data();
    for (int t = 0; t < n; ++t) {
      const unsigned char* row = src + static_cast<std::size_t>(first + t) * src_stride;
      const std::int32_t kt = k[t];
      for (int x = 0; x < row_bytes; ++x) a[x] += static_cast<std::int32_t>(row[x]) * kt;
    }
    unsigned char* out = dst + static_cast<std::size_t>(j) * row_bytes;
    for (int x = 0; x < row_bytes; ++x) out[x] = clip8(a[x]);
  }
}

// Pillow's NEAREST resize is an affine scale (ImagingScaleAffine): the source coordinate
// starts at half a step and is accumulated in double, truncated toward zero. The sum is
// walked from 0 so rounding accumulates exactly as in Pillow; only the window is stored.
void nearest_table(int in_size, int out_size, int out_first, int out_count, std::vector<int>& table) {
  const double step = static_cast<double>(static_cast<float>(in_size) - 0.0f) / out_size;
  table.resize(static_cast<std::size_t>(out_count));
  double pos = 0.0 + step * 0.5;
  for (int i = 0; i < out_first + out_count; ++i) {
    if (i >= out_first) {
      const int v = pos < 0.0 ? -1 : static_cast<int>(pos);
      table[static_cast<std::size_t>(i - out_first)] = (v >= 0 && v < in_size) ? v : -1;  // -1: Pillow fills 0
    }
    pos += step;
  }
}

struct ResizeScratch {
  AxisWeights horiz, vert;
  std::vector<unsigned char> temp;  // horizontally resampled rows
  std::vector<std::int32_t> acc;
  std::vector<int> xtab, ytab;
  std::vector<unsigned char> window;  // resized crop window for preprocess()
  std::vector<unsigned char> converted;
};

ResizeScratch& scratch() {
  // Per thread so eval workers preprocess in parallel without locking; buffers only grow,
  // so steady-state preprocessing does not allocate.
  thread_local ResizeScratch s;
  return s;
}

// Writes the window [x0, x0 + wn) x [y0, y0 + hn) of PIL's resize of `src` to
// (out_w, out_h) into dst (hn, wn, C). Every output pixel depends only on its own
// coordinates, so a window equals the same region of the full resize, bit for bit.
void resize_window(const unsigned char* src, int src_w, int src_h, int c, int out_w, int out_h, Filter f,
                   int x0, int y0, int wn, int hn, unsigned char* dst, ResizeScratch& s) {
  const std::size_t src_stride = static_cast<std::size_t>(src_w) * c;
  if (wn <= 0 || hn <= 0) return;
  if (f == Filter::Nearest) {
    if (out_w == src_w && out_h == src_h) {  // Pillow copies
      for (int y = 0; y < hn; ++y)
        std::memcpy(dst + static_cast<std::size_t>(y) * wn * c,
                    src + static_cast<std::size_t>(y0 + y) * src_stride + static_cast<std::size_t>(x0) * c,
                    static_cast<std::size_t>(wn) * c);
      return;
    }
    nearest_table(src_w, out_w, x0, wn, s.xtab);
    nearest_table(src_h, out_h, y0, hn, s.ytab);
    for (int y = 0; y < hn; ++y) {
      unsigned char* out = dst + static_cast<std::size_t>(y) * wn * c;
      const int sy = s.ytab[static_cast<std::size_t>(y)];
      for (int x = 0; x < wn; ++x) {
        const int sx = s.xtab[static_cast<std::size_t>(x)];
        for (int ch = 0; ch < c; ++ch)
          out[x * c + ch] = (sy < 0 || sx < 0) ? 0 : src[static_cast<std::size_t>(sy) * src_stride +
                                                         static_cast<std::size_t>(sx) * c + ch];
      }
    }
    return;
  }

  // Pillow resamples horizontally first, then vertically, and skips a pass whose size
  // does not change (ImagingResampleInner).
  const bool need_h = out_w != src_w;
  const bool need_v = out_h != src_h;

  int row_begin = y0, row_end = y0 + hn;  // source rows the vertical pass reads
  if (need_v) {
    compute_axis(src_h, out_h, f, y0, hn, s.vert);
    row_begin = src_h;
    row_end = 0;
    for (std::size_t j = 0; j < static_cast<std::size_t>(hn); ++j) {
      row_begin = std::min(row_begin, s.vert.first[j]);
      row_end = std::max(row_end, s.vert.first[j] + s.vert.count[j]);
    }
  }

  const unsigned char* mid = nullptr;  // rows [row_begin, row_end), wn pixels each
  std::size_t mid_stride = 0;
  if (need_h) {
    compute_axis(src_w, out_w, f, x0, wn, s.horiz);
    s.temp.resize(static_cast<std::size_t>(row_end - row_begin) * wn * c);
    const unsigned char* rows = src + static_cast<std::size_t>(row_begin) * src_stride;
    if (c == 3)
      horizontal_pass<3>(rows, src_stride, row_end - row_begin, s.horiz, s.temp.data());
    else
      horizontal_pass<1>(rows, src_stride, row_end - row_begin, s.horiz, s.temp.data());
    mid = s.temp.data();
    mid_stride = static_cast<std::size_t>(wn) * c;
  } else {
    mid = src + static_cast<std::size_t>(row_begin) * src_stride + static_cast<std::size_t>(x0) * c;
    mid_stride = src_stride;
  }

  if (need_v) {
    vertical_pass(mid, mid_stride, row_begin, wn * c, s.vert, dst, s.acc);
  } else {
    for (int y = 0; y < hn; ++y)
      std::memcpy(dst + static_cast<std::size_t>(y) * wn * c, mid + static_cast<std::size_t>(y) * mid_stride,
                  static_cast<std::size_t>(wn) * c);
  }
}

void check_image(const Image8& img, const char* who) {
  if (img.channels != 1 && img.channels != 3)
    throw Error(std::string(who) + ": image must have 1 or 3 channels, found " + std::to_string(img.channels));
  if (img.width <= 0 || img.height <= 0)
    throw Error(std::string(who) + ": image is empty (" + std::to_string(img.width) + "x" +
                std::to_string(img.height) + ")");
  const std::size_t want = static_cast<std::size_t>(img.width) * img.height * img.channels;
  if (img.pixels.size() != want)
    throw Error(std::string(who) + ": pixel buffer holds " + std::to_string(img.pixels.size()) + " bytes, expected " +
                std::to_string(want) + " for " + std::to_string(img.width) + "x" + std::to_string(img.height) + "x" +
                std::to_string(img.channels));
}

// Python's round() on a multiple of 0.5: ties go to the even integer.
int round_half_even_div2(int d) { return static_cast<int>(std::nearbyint(d / 2.0)); }

}  // namespace

Image8 resize_like_pil(const Image8& src, int out_w, int out_h, const std::string& interpolation) {
  check_image(src, "resize_like_pil");
  if (out_w <= 0 || out_h <= 0)
    throw Error("resize_like_pil: output size must be positive, found " + std::to_string(out_w) + "x" +
                std::to_string(out_h));
  const Filter f = parse_filter(interpolation);
  Image8 out;
  out.width = out_w;
  out.height = out_h;
  out.channels = src.channels;
  out.pixels.resize(static_cast<std::size_t>(out_w) * out_h * src.channels);
  resize_window(src.pixels.data(), src.width, src.height, src.channels, out_w, out_h, f, 0, 0, out_w, out_h,
                out.pixels.data(), scratch());
  return out;
}

void preprocess(const Image8& img, const PreprocessConfig& cfg, float* out) {
  check_image(img, "preprocess");
  if (cfg.resize <= 0 || cfg.crop <= 0)
    throw Error("preprocess: resize and crop must be positive, found resize " + std::to_string(cfg.resize) +
                " crop " + std::to_string(cfg.crop));
  if (cfg.channels != 1 && cfg.channels != 3)
    throw Error("preprocess: channels must be 1 or 3, found " + std::to_string(cfg.channels));
  const Filter f = parse_filter(cfg.interpolation);
  ResizeScratch& s = scratch();
  const int c = cfg.channels;

  const unsigned char* pixels = img.pixels.data();
  if (img.channels != c) {
    s.converted.resize(static_cast<std::size_t>(img.width) * img.height * c);
    convert_channels(pixels, img.channels, static_cast<std::size_t>(img.width) * img.height, c, s.converted.data());
    pixels = s.converted.data();
  }

  // torchvision Resize(int): the shorter side becomes `resize`, the longer one
  // int(resize * long / short) -- truncated, computed in double as Python does.
  const int w = img.width, h = img.height;
  const int shorter = std::min(w, h), longer = std::max(w, h);
  const int new_long = static_cast<int>(static_cast<double>(static_cast<long long>(cfg.resize) * longer) / shorter);
  const int rw = w <= h ? cfg.resize : new_long;
  const int rh = w <= h ? new_long : cfg.resize;

  // CenterCrop: offsets into the resized image; negative when the crop is larger and
  // torchvision pads with zeros (left/top get the floor half of the padding).
  const int crop = cfg.crop;
  const int off_x = crop > rw ? -((crop - rw) / 2) : round_half_even_div2(rw - crop);
  const int off_y = crop > rh ? -((crop - rh) / 2) : round_half_even_div2(rh - crop);
  const int x0 = std::max(0, off_x), x1 = std::min(rw, off_x + crop);
  const int y0 = std::max(0, off_y), y1 = std::min(rh, off_y + crop);
  const int wn = x1 - x0, hn = y1 - y0;
  s.window.resize(static_cast<std::size_t>(wn) * hn * c);
  resize_window(pixels, w, h, c, rw, rh, f, x0, y0, wn, hn, s.window.data(), s);

  // ToTensor divides by 255 and Normalize subtracts then divides, each in float32; a
  // per-channel table of the 256 possible results reproduces them exactly.
  float lut[3][256];
  for (int ch = 0; ch < c; ++ch)
    for (int v = 0; v < 256; ++v) lut[ch][v] = (static_cast<float>(v) / 255.0f - cfg.mean[ch]) / cfg.std[ch];

  const std::size_t plane = static_cast<std::size_t>(crop) * crop;
  for (int ch = 0; ch < c; ++ch) {
    float* o = out + ch * plane;
    const float pad = lut[ch][0];
    for (int y = 0; y < crop; ++y) {
      float* orow = o + static_cast<std::size_t>(y) * crop;
      const int sy = y + off_y - y0;
      if (sy < 0 || sy >= hn) {
        std::fill(orow, orow + crop, pad);
        continue;
      }
      const unsigned char* wrow = s.window.data() + static_cast<std::size_t>(sy) * wn * c + ch;
      const int lead = x0 - off_x;  // padded columns on the left
      std::fill(orow, orow + lead, pad);
      for (int x = 0; x < wn; ++x) orow[lead + x] = lut[ch][wrow[x * c]];
      std::fill(orow + lead + wn, orow + crop, pad);
    }
  }
}

void preprocess_file(const std::filesystem::path& path, const PreprocessConfig& cfg, float* out) {
  const Image8 img = load_image(path, cfg.channels);
  try {
    preprocess(img, cfg, out);
  } catch (const Error& e) {
    throw Error(path.string() + ": " + e.what(), e.kind());
  }
}

}  // namespace swinscope
