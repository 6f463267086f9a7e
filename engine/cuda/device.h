#pragma once
// CUDA device discovery, compiled only when the CUDA toolkit is found.
#include <string>

namespace swinscope::cuda {

struct DeviceQuery {
  int count = 0;
  std::string name;   // device 0
  std::string error;  // cudaGetDeviceCount's error string when it fails
};
DeviceQuery query_devices();

}  // namespace swinscope::cuda
