#include "engine/cuda/platform.cuh"

#include "engine/error.h"

namespace swinscope::SWS_CUDA_NS {

void check_cuda(cudaError_t err, const char* what, const char* file, int line) {
  if (err == cudaSuccess) return;
  throw Error(std::string(kEmulated ? "CUDA (device emulation) " : "CUDA ") + cudaGetErrorName(err) + " (" +
                  cudaGetErrorString(err) + ") in " + what + " at " + file + ":" + std::to_string(line),
              Error::Kind::Runtime);
}

}  // namespace swinscope::SWS_CUDA_NS
