#pragma once
// IDX files (MNIST, Fashion-MNIST; Debian's dataset-fashion-mnist installs them under
// /usr/share/datasets/fashion-mnist): 8-bit grayscale images and their labels, read whole,
// gunzipped when compressed.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace swinscope {

struct IdxSet {
  std::filesystem::path images;  // <set>-images-idx3-ubyte[.gz]
  std::filesystem::path labels;  // <set>-labels-idx1-ubyte[.gz]
  std::string name;              // "t10k", "train", ...
};

// The image/label pairs in `dir`, the test set (t10k/test) first, then by name.
std::vector<IdxSet> find_idx_sets(const std::filesystem::path& dir);

// True when `p` names an IDX images file (by its name), e.g. train-images-idx3-ubyte.gz.
bool is_idx_images_file(const std::filesystem::path& p);

// The set an images file belongs to (its labels file beside it); throws swinscope::Error
// when the labels file is missing.
IdxSet idx_set_for_images_file(const std::filesystem::path& images);

struct IdxData {
  long count = 0;
  int rows = 0;
  int cols = 0;
  std::vector<std::uint8_t> pixels;  // count × rows × cols, row-major
  std::vector<std::uint8_t> labels;  // count
  const std::uint8_t* image(long i) const { return pixels.data() + static_cast<std::size_t>(i) * rows * cols; }
};

// Reads and checks a set. Throws swinscope::Error naming the file: wrong magic number,
// image and label counts that differ, truncated data, implausible sizes, or (in a build
// without zlib) a compressed file.
IdxData read_idx(const IdxSet& set);
// read_idx's checks on the (decompressed) contents of the two files; `set` names them in errors.
IdxData parse_idx(const std::string& images_bytes, const std::string& labels_bytes, const IdxSet& set);

}  // namespace swinscope
