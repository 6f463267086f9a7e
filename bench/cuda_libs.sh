# Sourced by the scripts that link bench/*.cpp against a build's static engine library.
#   source bench/cuda_libs.sh; set_cuda_libs BUILD_DIR; g++ ... "${cuda_libs[@]}"
# Sets the array cuda_libs to the CUDA runtime's link flags when that build's engine has the
# CUDA backend compiled in (its archive holds .cu objects), and to nothing otherwise.
set_cuda_libs() {
  cuda_libs=()
  if ar t "$1/engine/libswinscope_engine.a" | grep -q '\.cu\.o$'; then
    cuda_libs=(-L/usr/local/cuda/lib64 -lcudart -Wl,-rpath,/usr/local/cuda/lib64)
  fi
}
