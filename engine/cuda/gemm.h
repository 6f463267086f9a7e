#pragma once
// Every GEMM of the CUDA backend is one GemmDesc. The real build turns it into a cuBLASLt
// matmul; the emulation build (SWINSCOPE_CUDA_EMU) runs plain loops that read memory with
// exactly the descriptor's op / ld / stride semantics and refuses what cuBLASLt refuses, so a
// wrong stride or transpose fails in CI on the CPU the same way it would on the GPU.
//
// cuBLAS conventions: column-major, D (m×n) = epilogue(alpha · op(A)(m×k) · op(B)(k×n)).
// Row-major Y (M×N) = X (M×K) · Wᵀ with W (N×K) row-major is the TN GEMM
//   m=N, n=M, k=K, trans_a=true, A=W lda=K, B=X ldb=K, D=Y ldd=N.
//
// validate() applies cuBLASLt's documented restrictions in both builds (list and doc sections
// in gemm.cu): int8 is TN only with m, k, lda, ldb, ldd multiples of 4 and no epilogue; per-row
// alpha is for int8 inputs only. run() requires A, B, D (and alpha_rows) kGemmAlignment-byte
// aligned: the algorithm is chosen at add() for that alignment (cudaMalloc gives 256).
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "engine/cuda/platform.cuh"

namespace swinscope::SWS_CUDA_NS {

enum class GemmType { S8, S32, F16, F32 };
enum class GemmScale { Scalar, PerRow };  // alpha: GemmDesc::alpha, or a device vector of m floats (one per row of D)
enum class GemmEpilogue { None, Relu };

inline constexpr std::size_t kGemmAlignment = 16;

struct GemmDesc {
  int m = 0, n = 0, k = 0;
  bool trans_a = false, trans_b = false;
  long long lda = 0, ldb = 0, ldd = 0;
  int batch = 1;  // strided batched when > 1
  long long stride_a = 0, stride_b = 0, stride_d = 0;  // elements; ignored when batch == 1
  GemmType a = GemmType::S8, b = GemmType::S8, d = GemmType::S8;
  GemmScale scale = GemmScale::Scalar;
  // Scalar mode: fixed when the plan is built (add() copies it), so a captured CUDA graph and
  // a later direct run() agree. Must be exactly 1 for S32 output. Ignored for PerRow.
  float alpha = 1.f;
  GemmEpilogue epilogue = GemmEpilogue::None;
  bool tf32 = false;  // F32 inputs: allow TF32 tensor cores (the emulation stays strict FP32)
  std::string label;  // e.g. "qkv_gemm stage 0", for messages

  // "label: int8 TN m=.. n=.. k=.. lda=.. ldb=.. ldd=.. batch=.. -> s8, alpha per row, epilogue none"
  std::string describe() const;
  // Throws Error (Runtime) naming the label and the offending field.
  void validate() const;
};

class GemmRunner {  // one per plan: one cuBLASLt handle, one workspace, one algorithm per descriptor
 public:
  explicit GemmRunner(std::size_t workspace_bytes = std::size_t{32} << 20);
  ~GemmRunner();
  GemmRunner(const GemmRunner&) = delete;
  GemmRunner& operator=(const GemmRunner&) = delete;

  // Validates, builds the matmul and layout descriptors, asks the heuristic for one algorithm
  // and keeps it. Throws Error("no cuBLASLt algorithm for <describe()>: <status>") when none.
  int add(const GemmDesc& desc);
  // add() without keeping or throwing; `why` gets add()'s message when false.
  bool supported(const GemmDesc& desc, std::string* why = nullptr);
  // Enqueues GEMM `id` on `stream`; allocates nothing, so it can be captured into a CUDA graph.
  // alpha_rows: device pointer to m floats for GemmScale::PerRow (read when the GEMM executes,
  // also on graph replay; one vector for all batch entries), nullptr for Scalar. All GEMMs of
  // one runner share its workspace, so they must be ordered on one stream.
  void run(int id, const void* A, const void* B, void* D, cudaStream_t stream, const float* alpha_rows = nullptr);
  const GemmDesc& desc(int id) const;
  std::string algo_description(int id) const;  // cuBLASLt algo id / tile / stages, or "emulated cuBLASLt (plain loops)"
  std::size_t workspace_bytes() const { return m_workspace_bytes; }
  int size() const { return static_cast<int>(m_entries.size()); }

 private:
  struct Handle;
  struct Entry;
  std::unique_ptr<Entry> make_entry(const GemmDesc& desc);
  const Entry& entry(int id) const;

  std::size_t m_workspace_bytes = 0;
  std::unique_ptr<Handle> m_handle;  // cuBLASLt handle + workspace (real build)
  std::vector<std::unique_ptr<Entry>> m_entries;
};

}  // namespace swinscope::SWS_CUDA_NS
