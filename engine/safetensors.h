#pragma once
// safetensors: 8-byte little-endian header length N, N bytes of JSON header, raw
// little-endian tensor data. Read memory-mapped and validated before any tensor is
// handed out; written to a temporary file that is renamed into place.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/dtype.h"

namespace swinscope {

// A tensor inside a mapped file; `data` stays valid while the SafetensorsFile lives.
struct TensorView {
  std::string name;
  DType dtype = DType::F32;
  std::vector<std::int64_t> shape;
  const std::byte* data = nullptr;
  std::size_t nbytes = 0;

  std::int64_t numel() const;
};

class SafetensorsFile {
 public:
  // Upper bound on the JSON header; larger headers are refused before being read.
  static constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;

  // Memory-maps and validates `path`. Throws swinscope::Error naming the file, the
  // tensor (where there is one) and what is wrong.
  static SafetensorsFile open(const std::filesystem::path& path);
  // Validates a buffer already in memory (copied); `label` stands in for the file name
  // in error messages. Used by the fuzz target and by tests.
  static SafetensorsFile from_bytes(std::span<const std::byte> bytes, std::string label);

  SafetensorsFile(SafetensorsFile&&) noexcept;
  SafetensorsFile& operator=(SafetensorsFile&&) noexcept;
  ~SafetensorsFile();

  const std::string& label() const;                          // file path or label
  const std::map<std::string, std::string>& metadata() const;  // "__metadata__"
  const std::vector<TensorView>& tensors() const;             // in data-offset order
  const TensorView* find(std::string_view name) const;       // nullptr when absent
  std::uint64_t file_size() const;

 private:
  struct Impl;
  explicit SafetensorsFile(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

// A tensor to write; `data` must hold exactly numel * dtype_size bytes.
struct TensorToWrite {
  std::string name;
  DType dtype = DType::F32;
  std::vector<std::int64_t> shape;
  std::span<const std::byte> data;
};

// Writes tensors and metadata to `path` via `path.tmp.<pid>` + fsync + rename, so a
// failed write never leaves a half-written model behind. The header lists entries sorted
// by name and is space-padded so the data area starts 8-aligned; the data area holds
// the tensors back to back (the format forbids holes, and other readers refuse them),
// widest dtype first then by name, so every tensor starts aligned to its element size.
// Throws swinscope::Error on invalid input or I/O failure.
void write_safetensors(const std::filesystem::path& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata);

}  // namespace swinscope
