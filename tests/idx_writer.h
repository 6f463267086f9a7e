#pragma once
// Writes small IDX image/label sets for tests: `classes` classes of size×size gray images,
// class c a bright shape (c % 4: horizontal bar, vertical bar, diagonal, hollow square) at a
// random place, plus noise. Shapes rather than places: SWIN (no absolute position
// embedding, mean pooling) is nearly translation invariant.
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

inline void write_be32(std::ofstream& f, std::uint32_t v) {
  const char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
  f.write(b, 4);
}

// Writes <dir>/<set>-images-idx3-ubyte and <dir>/<set>-labels-idx1-ubyte.
inline void write_idx_set(const std::string& dir, const std::string& set, int count, int size, int classes, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> noise(0, 60);
  std::ofstream im(dir + "/" + set + "-images-idx3-ubyte", std::ios::binary);
  std::ofstream lb(dir + "/" + set + "-labels-idx1-ubyte", std::ios::binary);
  write_be32(im, 0x803);
  write_be32(im, static_cast<std::uint32_t>(count));
  write_be32(im, static_cast<std::uint32_t>(size));
  write_be32(im, static_cast<std::uint32_t>(size));
  write_be32(lb, 0x801);
  write_be32(lb, static_cast<std::uint32_t>(count));
  const int len = size / 2;
  std::uniform_int_distribution<int> at(0, size - len - 1);
  std::vector<unsigned char> img(static_cast<std::size_t>(size) * size);
  for (int i = 0; i < count; ++i) {
    const int c = i % classes;
    for (auto& p : img) p = static_cast<unsigned char>(noise(rng));
    const int oy = at(rng), ox = at(rng);
    auto on = [&](int y, int x) { img[static_cast<std::size_t>(y) * size + x] = static_cast<unsigned char>(180 + noise(rng)); };
    for (int k = 0; k < len; ++k) {
      switch (c % 4) {
        case 0: on(oy + len / 2, ox + k); on(oy + len / 2 + 1, ox + k); break;
        case 1: on(oy + k, ox + len / 2); on(oy + k, ox + len / 2 + 1); break;
        case 2: on(oy + k, ox + k); on(oy + k, std::min(ox + k + 1, size - 1)); break;
        default: on(oy, ox + k); on(oy + len - 1, ox + k); on(oy + k, ox); on(oy + k, ox + len - 1); break;
      }
    }
    im.write(reinterpret_cast<const char*>(img.data()), static_cast<std::streamsize>(img.size()));
    lb.put(static_cast<char>(c));
  }
}

// The fixture the train / distill tests share (test_distill, test_dist): in `dir`, a training
// set "train" (256 images of 16 × 16, 4 classes), a validation folder "val" holding a "t10k" set
// (64 images), and "tiny.json", a two-stage SWIN for them.
inline constexpr const char* kTinyTrainConfig =
    R"({"name": "test_tiny", "img_size": 16, "patch_size": 2, "in_chans": 1, "num_classes": 4, "embed_dim": 16,
        "depths": [2, 2], "num_heads": [2, 4], "window_size": 4, "mlp_ratio": 2.0})";
struct TinyTrainFiles {
  std::string train_images, val_dir, config;
};
inline TinyTrainFiles write_tiny_train_fixture(const std::string& dir) {
  write_idx_set(dir, "train", 256, 16, 4, 1);
  const std::string val = dir + "/val";
  std::filesystem::create_directories(val);
  write_idx_set(val, "t10k", 64, 16, 4, 2);
  std::ofstream(dir + "/tiny.json") << kTinyTrainConfig;
  return {dir + "/train-images-idx3-ubyte", val, dir + "/tiny.json"};
}
