#include "engine/idx.h"

#include <algorithm>
#include <cerrno>
#include <system_error>
#include <fstream>
#include <memory>

#ifdef SWINSCOPE_HAVE_ZLIB
#include <zlib.h>
#endif

#include "engine/error.h"

namespace swinscope {

namespace fs = std::filesystem;

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string strip_gz(std::string n) { return ends_with(n, ".gz") ? n.substr(0, n.size() - 3) : n; }

// Reads a file whole, gunzipping when it is compressed (zlib's gzread passes plain files
// through unchanged).
std::string read_whole(const fs::path& path) {
  std::string data;
#ifdef SWINSCOPE_HAVE_ZLIB
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw Error(path.string() + ": cannot open (" + std::generic_category().message(errno) + ")");
  std::unique_ptr<gzFile_s, int (*)(gzFile)> guard(f, gzclose);
  std::vector<char> buf(1 << 16);
  for (;;) {
    const int n = gzread(f, buf.data(), static_cast<unsigned>(buf.size()));
    if (n < 0) {
      int err = 0;
      throw Error(path.string() + ": cannot decompress (" + gzerror(f, &err) + ")");
    }
    if (n == 0) break;
    data.append(buf.data(), static_cast<std::size_t>(n));
  }
#else
  if (ends_with(path.string(), ".gz"))
    throw Error(path.string() + ": compressed IDX needs zlib, which this build lacks; gunzip it first");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string() + ": cannot open (" + std::generic_category().message(errno) + ")");
  data.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
#endif
  return data;
}

std::uint32_t big_endian32(const std::string& d, std::size_t at) {
  const auto b = [&](std::size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(d[at + i])); };
  return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

std::string labels_name_for(const std::string& images_name) {
  std::string l = images_name;
  const auto a = l.find("-images");
  if (a != std::string::npos) l.replace(a, 7, "-labels");
  const auto b = l.find("idx3");
  if (b != std::string::npos) l.replace(b, 4, "idx1");
  return l;
}

}  // namespace

bool is_idx_images_file(const fs::path& p) {
  const std::string n = strip_gz(p.filename().string());
  return ends_with(n, "-images-idx3-ubyte") || ends_with(n, "-images.idx3-ubyte");
}

IdxSet idx_set_for_images_file(const fs::path& images) {
  std::error_code ec;
  if (!fs::is_regular_file(images, ec)) throw Error(images.string() + ": no such IDX images file");
  IdxSet s;
  s.images = images;
  s.labels = images.parent_path() / labels_name_for(images.filename().string());
  if (!fs::is_regular_file(s.labels, ec))
    throw Error(images.string() + ": its labels file " + s.labels.string() + " is missing");
  const std::string n = images.filename().string();
  s.name = n.substr(0, n.find("-images"));
  return s;
}

std::vector<IdxSet> find_idx_sets(const fs::path& dir) {
  std::vector<IdxSet> out;
  std::error_code ec;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_regular_file() && is_idx_images_file(e.path())) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    if (!fs::is_regular_file(f.parent_path() / labels_name_for(f.filename().string()), ec)) continue;
    IdxSet s = idx_set_for_images_file(f);
    // gzipped and plain copies of one set: keep one
    if (std::any_of(out.begin(), out.end(), [&](const IdxSet& o) { return o.name == s.name; })) continue;
    out.push_back(s);
  }
  std::stable_sort(out.begin(), out.end(), [](const IdxSet& a, const IdxSet& b) {
    const auto test = [](const IdxSet& s) { return s.name == "t10k" || s.name == "test"; };
    return test(a) && !test(b);
  });
  return out;
}

IdxData read_idx(const IdxSet& set) { return parse_idx(read_whole(set.images), read_whole(set.labels), set); }

IdxData parse_idx(const std::string& img, const std::string& lab, const IdxSet& set) {
  if (img.size() < 16 || big_endian32(img, 0) != 0x00000803)
    throw Error(set.images.string() + ": not an IDX image file (expected magic 0x00000803: unsigned bytes, 3 dimensions)");
  if (lab.size() < 8 || big_endian32(lab, 0) != 0x00000801)
    throw Error(set.labels.string() + ": not an IDX label file (expected magic 0x00000801: unsigned bytes, 1 dimension)");
  IdxData d;
  d.count = static_cast<long>(big_endian32(img, 4));
  d.rows = static_cast<int>(big_endian32(img, 8));
  d.cols = static_cast<int>(big_endian32(img, 12));
  const long nl = static_cast<long>(big_endian32(lab, 4));
  if (d.count != nl)
    throw Error(set.labels.string() + ": " + std::to_string(nl) + " labels, but " + set.images.string() + " holds " +
                std::to_string(d.count) + " images");
  if (d.rows <= 0 || d.cols <= 0 || d.rows > 4096 || d.cols > 4096)
    throw Error(set.images.string() + ": implausible image size " + std::to_string(d.rows) + "x" + std::to_string(d.cols));
  const std::size_t per = static_cast<std::size_t>(d.rows) * static_cast<std::size_t>(d.cols);
  const std::size_t need = 16 + per * static_cast<std::size_t>(d.count);
  if (img.size() < need)
    throw Error(set.images.string() + ": truncated: " + std::to_string(d.count) + " images of " + std::to_string(d.rows) + "x" +
                std::to_string(d.cols) + " need " + std::to_string(need) + " bytes, found " + std::to_string(img.size()));
  if (lab.size() < 8 + static_cast<std::size_t>(d.count))
    throw Error(set.labels.string() + ": truncated: " + std::to_string(d.count) + " labels need " +
                std::to_string(8 + d.count) + " bytes, found " + std::to_string(lab.size()));
  d.pixels.assign(img.begin() + 16, img.begin() + static_cast<long>(need));
  d.labels.assign(lab.begin() + 8, lab.begin() + 8 + d.count);
  return d;
}

}  // namespace swinscope
