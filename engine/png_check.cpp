#include "engine/png_check.h"

#include <array>
#include <cstdint>
#include <cstring>

#ifdef SWINSCOPE_HAVE_ZLIB
#include <zlib.h>
#endif

namespace swinscope {

namespace {

constexpr unsigned char kSignature[8] = {137, 80, 78, 71, 13, 10, 26, 10};

std::uint32_t be32(const unsigned char* p) {
  return static_cast<std::uint32_t>(p[0]) << 24 | static_cast<std::uint32_t>(p[1]) << 16 |
         static_cast<std::uint32_t>(p[2]) << 8 | p[3];
}

void put_be32(std::vector<unsigned char>& out, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<unsigned char>(v >> s));
}

}  // namespace

// The CRC-32 of PNG (ISO 3309), table-driven; kept here so the chunk checks need no zlib.
std::uint32_t png_crc32(const unsigned char* p, std::size_t n) {
  static const auto table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  std::uint32_t c = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < n; ++i) c = table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

namespace {

void put_chunk(std::vector<unsigned char>& out, const char* type, const unsigned char* data, std::size_t len) {
  put_be32(out, static_cast<std::uint32_t>(len));
  const std::size_t at = out.size();
  out.insert(out.end(), type, type + 4);
  if (len) out.insert(out.end(), data, data + len);
  put_be32(out, png_crc32(out.data() + at, len + 4));
}

std::string chunk_name(const unsigned char* t) {
  std::string s;
  for (int i = 0; i < 4; ++i) {
    const unsigned char c = t[i];
    s += (c >= 0x20 && c < 0x7F) ? static_cast<char>(c) : '?';
  }
  return s;
}

// The filtered rows libpng expects after inflating: per pass (7 for Adam7), `rows` rows
// of one filter-type byte plus `bytes` bytes.
struct RowLayout {
  struct Pass {
    std::uint64_t rows = 0, bytes = 0;
  };
  std::vector<Pass> passes;
  std::uint64_t total() const {
    std::uint64_t t = 0;
    for (const auto& p : passes) t += p.rows * (p.bytes + 1);
    return t;
  }
};

RowLayout row_layout(std::uint32_t w, std::uint32_t h, unsigned bits_per_pixel, bool interlaced) {
  RowLayout l;
  const auto row_bytes = [&](std::uint64_t width) { return (width * bits_per_pixel + 7) / 8; };
  if (!interlaced) {
    l.passes.push_back({h, row_bytes(w)});
    return l;
  }
  static constexpr unsigned xs[7] = {0, 4, 0, 2, 0, 1, 0}, xd[7] = {8, 8, 4, 4, 2, 2, 1};
  static constexpr unsigned ys[7] = {0, 0, 4, 0, 2, 0, 1}, yd[7] = {8, 8, 8, 4, 4, 2, 2};
  for (int p = 0; p < 7; ++p) {
    const std::uint64_t pw = w > xs[p] ? (w - xs[p] + xd[p] - 1) / xd[p] : 0;
    const std::uint64_t ph = h > ys[p] ? (h - ys[p] + yd[p] - 1) / yd[p] : 0;
    if (pw && ph) l.passes.push_back({ph, row_bytes(pw)});  // empty passes have no rows
  }
  return l;
}

#ifdef SWINSCOPE_HAVE_ZLIB
// Inflates the concatenated IDAT data without keeping it, checking the zlib stream, its
// length against `layout` and every row's filter-type byte (0..4). Bytes after the end of
// the zlib stream are cut from `idat` (libpng would warn "Extra compressed data"; PIL
// ignores them).
std::string check_image_data(std::vector<std::pair<const unsigned char*, std::size_t>>& idat,
                             const RowLayout& layout, std::uint32_t w, std::uint32_t h) {
  z_stream z{};
  if (inflateInit(&z) != Z_OK) return "cannot check PNG: zlib failed to initialise";
  struct Guard {
    z_stream* z;
    ~Guard() { inflateEnd(z); }
  } guard{&z};
  const std::uint64_t expected = layout.total();
  std::uint64_t produced = 0;
  std::size_t pass = 0;
  std::uint64_t row = 0, in_row = 0;  // position in the layout
  std::array<unsigned char, 1 << 15> buf;
  bool ended = false;
  for (std::size_t c = 0; c < idat.size() && !ended; ++c) {
    z.next_in = const_cast<unsigned char*>(idat[c].first);
    z.avail_in = static_cast<uInt>(idat[c].second);
    while (z.avail_in > 0 && !ended) {
      z.next_out = buf.data();
      z.avail_out = static_cast<uInt>(buf.size());
      const int rc = inflate(&z, Z_NO_FLUSH);
      if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
        return std::string("corrupt PNG: compressed image data is invalid (zlib: ") + (z.msg ? z.msg : "error") + ")";
      const std::size_t got = buf.size() - z.avail_out;
      if (produced + got > expected)
        return "corrupt PNG: too much image data for " + std::to_string(w) + "x" + std::to_string(h);
      produced += got;
      for (std::size_t i = 0; i < got;) {
        const auto& p = layout.passes[pass];
        if (in_row == 0 && buf[i] > 4)
          return "corrupt PNG: row " + std::to_string(row) + " has filter type " + std::to_string(buf[i]) +
                 " (0 to 4 expected)";
        const std::uint64_t step = std::min<std::uint64_t>(p.bytes + 1 - in_row, got - i);
        i += static_cast<std::size_t>(step);
        in_row += step;
        if (in_row == p.bytes + 1) {
          in_row = 0;
          if (++row == p.rows) row = 0, ++pass;
        }
      }
      if (rc == Z_STREAM_END) ended = true;
      if (rc == Z_BUF_ERROR && got == 0) break;  // needs more input
    }
    if (ended) {
      idat[c].second -= z.avail_in;
      idat.resize(c + 1);
    }
  }
  if (!ended || produced < expected)
    return "truncated PNG: the compressed image data ends after " + std::to_string(produced) + " of " +
           std::to_string(expected) + " bytes for " + std::to_string(w) + "x" + std::to_string(h);
  return "";
}
#endif

}  // namespace

bool is_png(const unsigned char* d, std::size_t n) { return n >= 8 && std::memcmp(d, kSignature, 8) == 0; }

std::string check_png(const unsigned char* d, std::size_t n, std::vector<unsigned char>& clean) {
  clean.clear();
  if (!is_png(d, n)) return "not a PNG file (no PNG signature)";
  std::uint32_t w = 0, h = 0;
  int depth = 0, color = -1;
  bool interlaced = false;
  const unsigned char* ihdr = nullptr;
  std::vector<unsigned char> palette;
  const unsigned char* exif = nullptr;
  std::size_t exif_len = 0;
  std::vector<std::pair<const unsigned char*, std::size_t>> idat;
  bool iend = false;
  std::size_t i = 8;
  while (!iend) {
    if (i == n) return "truncated PNG: the file ends after " + std::to_string(n) + " bytes without an IEND chunk";
    if (n - i < 12) return "truncated PNG: chunk header at byte " + std::to_string(i) + " is cut off";
    const std::uint32_t len = be32(d + i);
    const unsigned char* type = d + i + 4;
    const std::string name = chunk_name(type);
    if (len > 0x7FFFFFFFu) return "corrupt PNG: chunk '" + name + "' at byte " + std::to_string(i) + " claims " + std::to_string(len) + " bytes";
    for (int k = 0; k < 4; ++k)
      if (!((type[k] >= 'A' && type[k] <= 'Z') || (type[k] >= 'a' && type[k] <= 'z')))
        return "corrupt PNG: invalid chunk type '" + name + "' at byte " + std::to_string(i);
    if (n - i - 12 < len)
      return "truncated PNG: chunk '" + name + "' at byte " + std::to_string(i) + " needs " + std::to_string(len) +
             " bytes, the file ends after " + std::to_string(n - i - 8);
    const unsigned char* data = d + i + 8;
    if (png_crc32(type, len + 4) != be32(data + len))
      return "corrupt PNG: CRC mismatch in chunk '" + name + "' at byte " + std::to_string(i);
    const bool first = i == 8;
    i += 12 + static_cast<std::size_t>(len);
    if (first && name != "IHDR") return "corrupt PNG: the first chunk is '" + name + "', not IHDR";
    if (name == "IHDR") {
      if (!first) return "corrupt PNG: a second IHDR chunk";
      if (len != 13) return "corrupt PNG: IHDR has " + std::to_string(len) + " bytes, not 13";
      ihdr = data;
      w = be32(data);
      h = be32(data + 4);
      depth = data[8];
      color = data[9];
      if (w == 0 || h == 0 || w > 0x7FFFFFFFu || h > 0x7FFFFFFFu)
        return "corrupt PNG: invalid image size " + std::to_string(w) + "x" + std::to_string(h);
      // libpng's default user limit (PNG_USER_WIDTH_MAX / PNG_USER_HEIGHT_MAX).
      if (w > 1000000 || h > 1000000)
        return "unsupported PNG: " + std::to_string(w) + "x" + std::to_string(h) + " exceeds libpng's limit of 1000000 pixels per side";
      const bool ok_depth = (color == 0 && (depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16)) ||
                            (color == 3 && (depth == 1 || depth == 2 || depth == 4 || depth == 8)) ||
                            ((color == 2 || color == 4 || color == 6) && (depth == 8 || depth == 16));
      if (!ok_depth)
        return "corrupt PNG: invalid colour type " + std::to_string(color) + " with bit depth " + std::to_string(depth);
      if (data[10] != 0 || data[11] != 0) return "corrupt PNG: unknown compression or filter method in IHDR";
      if (data[12] > 1) return "corrupt PNG: unknown interlace method " + std::to_string(data[12]);
      interlaced = data[12] == 1;
    } else if (name == "PLTE") {
      if (!idat.empty()) return "corrupt PNG: PLTE after the image data";
      if (!palette.empty()) return "corrupt PNG: a second PLTE chunk";
      if (color == 0 || color == 4) return "corrupt PNG: a palette in a grayscale image";
      if (len == 0 || len % 3 != 0 || len > 768)
        return "corrupt PNG: PLTE of " + std::to_string(len) + " bytes (1 to 256 RGB entries expected)";
      if (color == 3) {
        // libpng drops entries past 2^depth and shows an index past the palette as black.
        const std::size_t entries = std::size_t{1} << depth;
        palette.assign(data, data + std::min<std::size_t>(len, 3 * entries));
        palette.resize(3 * entries, 0);
      }
    } else if (name == "IDAT") {
      if (len) idat.emplace_back(data, len);
      else if (idat.empty()) idat.emplace_back(data, 0);  // marks that the image data began
    } else if (name == "IEND") {
      iend = true;
    } else if (name == "eXIf") {
      // libpng keeps only the first, and refuses one that is not TIFF data ("II" or "MM").
      if (!exif && len >= 2 && len <= 65535 && ((data[0] == 'I' && data[1] == 'I') || (data[0] == 'M' && data[1] == 'M'))) {
        exif = data;
        exif_len = len;
      }
    } else if (type[0] & 0x20) {
      // Ancillary (lowercase first letter): OpenCV applies none of them (tRNS only adds an
      // alpha channel, which is dropped), so they are left out.
    } else {
      return "unsupported PNG: unknown critical chunk '" + name + "'";
    }
  }
  if (color == 3 && palette.empty()) return "corrupt PNG: a palette image without a PLTE chunk";
  std::size_t idat_bytes = 0;
  for (const auto& c : idat) idat_bytes += c.second;
  if (idat_bytes == 0) return "corrupt PNG: no image data (IDAT)";
  const unsigned channels = color == 0 || color == 3 ? 1 : color == 2 ? 3 : color == 4 ? 2 : 4;
  const RowLayout layout = row_layout(w, h, channels * static_cast<unsigned>(depth), interlaced);
#ifdef SWINSCOPE_HAVE_ZLIB
  if (std::string why = check_image_data(idat, layout, w, h); !why.empty()) return why;
#else
  (void)layout;
#endif

  clean.reserve(n);
  clean.insert(clean.end(), kSignature, kSignature + 8);
  put_chunk(clean, "IHDR", ihdr, 13);
  if (!palette.empty()) put_chunk(clean, "PLTE", palette.data(), palette.size());
  if (exif) put_chunk(clean, "eXIf", exif, exif_len);
  // One IDAT per original chunk keeps each within libpng's chunk size limit.
  for (const auto& c : idat)
    if (c.second) put_chunk(clean, "IDAT", c.first, c.second);
  put_chunk(clean, "IEND", nullptr, 0);
  return "";
}

}  // namespace swinscope
