#include "engine/cuda/platform.cuh"

#include <mutex>

#include "engine/cuda/buffers.h"
#include "engine/error.h"

namespace swinscope::SWS_CUDA_NS {

void check_cuda(cudaError_t err, const char* what, const char* file, int line) {
  if (err == cudaSuccess) return;
  throw Error(std::string(kEmulated ? "CUDA (device emulation) " : "CUDA ") + cudaGetErrorName(err) + " (" +
                  cudaGetErrorString(err) + ") in " + what + " at " + file + ":" + std::to_string(line),
              Error::Kind::Runtime);
}

int device_cc_major() {
#ifdef SWINSCOPE_CUDA_EMU
  return 8;
#else
  static std::once_flag once;
  static int major = 0;
  std::call_once(once, [] {
    int dev = 0;
    if (cudaGetDevice(&dev) != cudaSuccess || cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev) != cudaSuccess)
      major = 0;
    (void)cudaGetLastError();
  });
  return major;
#endif
}

void DeviceArena::throw_oom(const std::string& what, std::size_t bytes, std::size_t free_b, std::size_t total_b) const {
  auto mib = [](std::size_t b) { return std::to_string((b + (1u << 20) - 1) >> 20) + " MiB"; };
  throw Error("CUDA out of memory at plan build: " + what + " needs " + mib(bytes) + " (" + mib(m_bytes) +
                  " already allocated by this plan); the device has " + mib(free_b) + " free of " + mib(total_b) +
                  ": use a smaller --batch",
              Error::Kind::Runtime);
}

}  // namespace swinscope::SWS_CUDA_NS
