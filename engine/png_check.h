#pragma once
// A PNG checked before it reaches OpenCV. OpenCV 4.6's PngDecoder gives libpng no error or
// warning handler, so libpng's defaults print "libpng error: ..." and "libpng warning: ..."
// to stderr for corrupt files and for harmless ancillary chunks ("iCCP: known incorrect sRGB
// profile"), and all the caller learns is an empty Mat. check_png finds those problems first
// and names them, and hands back a copy holding only the chunks OpenCV's decoder uses, so
// libpng has nothing left to print.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace swinscope {

// The CRC-32 PNG puts after each chunk's type and data.
std::uint32_t png_crc32(const unsigned char* p, std::size_t n);

// True when `d` starts with the 8-byte PNG signature.
bool is_png(const unsigned char* d, std::size_t n);

// Checks the chunk layout, every CRC, IHDR, PLTE/tRNS against the colour type, and (in a build
// with zlib) inflates the image data to exactly the size IHDR implies with valid row filters.
// Returns "" and fills `clean` with the signature, IHDR, PLTE (padded to the bit depth's
// 2^depth entries with black, which is what libpng shows for an index past the palette),
// a valid tRNS, the IDAT chunks, an eXIf holding TIFF data, and IEND -- decoded exactly as the
// original, since OpenCV applies none of the dropped chunks (no gamma, ICC, background or
// sBIT transforms). Otherwise returns a one-line reason, e.g. "truncated PNG: ...".
std::string check_png(const unsigned char* d, std::size_t n, std::vector<unsigned char>& clean);

}  // namespace swinscope
