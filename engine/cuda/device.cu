#include "engine/cuda/device.h"

#include <cuda_runtime_api.h>

namespace swinscope::cuda {

DeviceQuery query_devices() {
  DeviceQuery q;
  const cudaError_t err = cudaGetDeviceCount(&q.count);
  if (err != cudaSuccess) {
    q.count = 0;
    q.error = std::string(cudaGetErrorName(err)) + ": " + cudaGetErrorString(err);
    return q;
  }
  if (q.count > 0) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, 0) == cudaSuccess) q.name = prop.name;
  }
  return q;
}

}  // namespace swinscope::cuda
