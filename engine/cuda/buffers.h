#pragma once
// RAII device and pinned-host buffers for the CUDA backend (real or emulated).
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "engine/cuda/platform.cuh"

namespace swinscope::SWS_CUDA_NS {

struct DeviceFree {
  void operator()(void* p) const noexcept { cudaFree(p); }
};
struct HostFree {
  void operator()(void* p) const noexcept { cudaFreeHost(p); }
};

// Counts what a plan allocates, so an out-of-memory error can give the bytes needed and free.
class DeviceArena {
 public:
  template <typename T>
  T* alloc(std::size_t count, const std::string& what) {
    void* p = nullptr;
    const std::size_t bytes = (count ? count : 1) * sizeof(T);
    if (cudaMalloc(&p, bytes) != cudaSuccess) {
      (void)cudaGetLastError();
      std::size_t free_b = 0, total_b = 0;
      cudaMemGetInfo(&free_b, &total_b);
      throw_oom(what, bytes, free_b, total_b);
    }
    m_blocks.emplace_back(p);
    m_bytes += bytes;
    return static_cast<T*>(p);
  }
  // Uploads host data (synchronously, at plan build).
  template <typename T>
  T* upload(const T* host, std::size_t count, const std::string& what) {
    T* d = alloc<T>(count, what);
    SWS_CUDA_CHECK(cudaMemcpy(d, host, count * sizeof(T), cudaMemcpyHostToDevice));
    return d;
  }
  template <typename T>
  T* upload(const std::vector<T>& host, const std::string& what) {
    return upload(host.data(), host.size(), what);
  }
  std::size_t bytes() const { return m_bytes; }

 private:
  [[noreturn]] void throw_oom(const std::string& what, std::size_t bytes, std::size_t free_b, std::size_t total_b) const;
  std::vector<std::unique_ptr<void, DeviceFree>> m_blocks;
  std::size_t m_bytes = 0;
};

}  // namespace swinscope::SWS_CUDA_NS
