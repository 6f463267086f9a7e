#include "engine/cuda/timing.h"

#include <algorithm>
#include <vector>

namespace swinscope::SWS_CUDA_NS {

float median_ms(cudaStream_t stream, const std::function<void()>& enqueue, int warmup, int runs) {
  cudaEvent_t start = nullptr, end = nullptr;
  SWS_CUDA_CHECK(cudaEventCreate(&start));
  if (const cudaError_t e = cudaEventCreate(&end); e != cudaSuccess) {
    cudaEventDestroy(start);
    SWS_CUDA_CHECK(e);
  }
  struct Destroy {
    cudaEvent_t a, b;
    ~Destroy() {
      cudaEventDestroy(a);
      cudaEventDestroy(b);
    }
  } destroy{start, end};
  for (int i = 0; i < warmup; ++i) enqueue();
  std::vector<float> ms(static_cast<std::size_t>(std::max(runs, 1)));
  for (auto& t : ms) {
    SWS_CUDA_CHECK(cudaEventRecord(start, stream));
    enqueue();
    SWS_CUDA_CHECK(cudaEventRecord(end, stream));
    SWS_CUDA_CHECK(cudaEventSynchronize(end));
    SWS_CUDA_CHECK(cudaEventElapsedTime(&t, start, end));
  }
  std::nth_element(ms.begin(), ms.begin() + static_cast<long>(ms.size() / 2), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace swinscope::SWS_CUDA_NS
