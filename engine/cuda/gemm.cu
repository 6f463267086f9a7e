#include "engine/cuda/gemm.h"

#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>

#include "engine/error.h"
#include "engine/numerics.h"

#ifndef SWINSCOPE_CUDA_EMU
#include <cublasLt.h>
#endif

// Facts from the cuBLAS 13 documentation this file relies on (section names in brackets):
// [cublasLtMatmul(), datatypes table] s8·s8 → s32: COMPUTE_32I, scale CUDA_R_32I; → s8: COMPUTE_32I,
//   scale CUDA_R_32F; → f32: COMPUTE_32F, scale CUDA_R_32F; every CUDA_R_8I row: "Epilogue is not supported".
// [cublasLtMatmul(), datatypes table] f16·f16 → f16 or f32 and f32·f32 → f32: COMPUTE_32F, scale CUDA_R_32F;
//   f32 also under COMPUTE_32F_FAST_TF32.
// [cublasLtMatmul(), "To use IMMA kernels", regular data ordering] only TN; m, k and the leading
//   dimensions of A, B, C multiples of 4; pointers 4-byte aligned (16 better); pointer modes HOST,
//   DEVICE or ALPHA_DEVICE_VECTOR_BETA_HOST (not ..._BETA_ZERO, which is listed for COL32 only).
// [cublasLtPointerMode_t / CUBLASLT_MATMUL_DESC_POINTER_MODE] a device alpha vector has one entry per row of D.
// [cublasLtMatmulPreferenceAttributes_t] MIN_ALIGNMENT_*_BYTES defaults to 256: lowered to kGemmAlignment here.
// [CUDA Graphs Support] HOST-mode coefficients are baked into a captured graph; device pointers are
//   read at replay. Hence GemmDesc::alpha is fixed at add().
// [cublasSetWorkspace()] 32 MiB workspace recommended on Hopper (the default size).
// Not documented: how the s8 output is rounded. Saturation is what users observe and NVIDIA's
// reply accepts (NVIDIA/CUDALibrarySamples issue #41); round half to even (cvt.rni.sat) is what
// the emulation and the CPU backend assume (numerics::q_gemm_s8): to be confirmed on a GPU.

namespace swinscope::SWS_CUDA_NS {
namespace {

const char* type_name(GemmType t) { return std::array<const char*, 4>{"s8", "s32", "f16", "f32"}[static_cast<int>(t)]; }

std::size_t type_size(GemmType t) { return t == GemmType::S8 ? 1 : (t == GemmType::F16 ? 2 : 4); }

std::string num(long long v) { return std::to_string(v); }

[[noreturn]] void refuse(const GemmDesc& g, const std::string& what) {
  throw Error("GEMM '" + (g.label.empty() ? std::string("unlabelled") : g.label) + "': " + what, Error::Kind::Runtime);
}

// Both builds check run()'s pointers alike, so a misaligned view fails in CI as on the GPU.
void check_run(const GemmDesc& g, const void* A, const void* B, const void* D, const float* alpha_rows) {
  const bool per_row = g.scale == GemmScale::PerRow;
  if (!per_row && alpha_rows) refuse(g, "alpha_rows given for a scalar-alpha GEMM (alpha is fixed at add())");
  const std::array<std::pair<const char*, const void*>, 4> ptrs{{{"A", A}, {"B", B}, {"D", D}, {"alpha_rows", alpha_rows}}};
  for (std::size_t i = 0; i < (per_row ? 4u : 3u); ++i) {
    if (ptrs[i].second == nullptr) refuse(g, std::string(ptrs[i].first) + " is null");
    if (reinterpret_cast<std::uintptr_t>(ptrs[i].second) % kGemmAlignment != 0)
      refuse(g, std::string(ptrs[i].first) + " is not " + num(kGemmAlignment) + "-byte aligned (the algorithm was chosen for that)");
  }
}

}  // namespace

std::string GemmDesc::describe() const {
  std::string s = label.empty() ? "" : label + ": ";
  s += a == GemmType::S8 ? "int8" : (a == GemmType::F16 ? "f16" : (tf32 ? "tf32" : "f32"));
  s += std::string(" ") + (trans_a ? 'T' : 'N') + (trans_b ? 'T' : 'N');
  s += " m=" + num(m) + " n=" + num(n) + " k=" + num(k) + " lda=" + num(lda) + " ldb=" + num(ldb) + " ldd=" + num(ldd);
  s += " batch=" + num(batch);
  if (batch > 1) s += " strides=" + num(stride_a) + "/" + num(stride_b) + "/" + num(stride_d);
  s += std::string(" -> ") + type_name(d);
  if (d != GemmType::S32) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", static_cast<double>(alpha));
    s += scale == GemmScale::PerRow ? ", alpha per row" : std::string(", alpha ") + buf;
  }
  s += epilogue == GemmEpilogue::Relu ? ", epilogue relu" : ", epilogue none";
  return s;
}

void GemmDesc::validate() const {
  if (m <= 0 || n <= 0 || k <= 0) refuse(*this, "sizes must be positive (m=" + num(m) + " n=" + num(n) + " k=" + num(k) + ")");
  if (batch < 1) refuse(*this, "batch=" + num(batch) + " must be at least 1");
  const bool int8 = a == GemmType::S8 && b == GemmType::S8 &&
                    (d == GemmType::S8 || d == GemmType::S32 || d == GemmType::F32);
  const bool f16 = a == GemmType::F16 && b == GemmType::F16 && (d == GemmType::F16 || d == GemmType::F32);
  const bool f32 = a == GemmType::F32 && b == GemmType::F32 && d == GemmType::F32;
  if (!int8 && !f16 && !f32)
    refuse(*this, std::string("type combination a=") + type_name(a) + " b=" + type_name(b) + " d=" + type_name(d) +
                      " is not supported (s8·s8→s8|s32|f32, f16·f16→f16|f32, f32·f32→f32)");
  if (tf32 && !f32) refuse(*this, "tf32 applies to f32 inputs only");
  const long long rows_a = trans_a ? k : m, rows_b = trans_b ? n : k;
  if (lda < rows_a) refuse(*this, "lda=" + num(lda) + " < " + num(rows_a) + ", the rows of A as stored");
  if (ldb < rows_b) refuse(*this, "ldb=" + num(ldb) + " < " + num(rows_b) + ", the rows of B as stored");
  if (ldd < m) refuse(*this, "ldd=" + num(ldd) + " < m=" + num(m));
  if (batch > 1) {
    if (stride_a < 0 || stride_b < 0) refuse(*this, "negative batch stride (stride_a=" + num(stride_a) + " stride_b=" + num(stride_b) + ")");
    if (stride_d < ldd * n) refuse(*this, "stride_d=" + num(stride_d) + " < ldd·n=" + num(ldd * n) + ": batch entries of D overlap");
  }
  if (!std::isfinite(alpha)) refuse(*this, "alpha is not finite");
  if (int8) {
    // cublasLtMatmul(), "To use IMMA kernels", regular ordering: only TN.
    if (!trans_a || trans_b) refuse(*this, "int8 GEMMs must be TN (trans_a=true, trans_b=false): cuBLASLt's IMMA kernels support only TN in column order");
    // Same list: m and k multiples of 4.
    if (m % 4 != 0 || k % 4 != 0) refuse(*this, "int8 GEMMs need m and k multiples of 4 (m=" + num(m) + " k=" + num(k) + ")");
    // Same list: leading dimensions of A, B, C (= D here) multiples of 4.
    if (lda % 4 != 0 || ldb % 4 != 0 || ldd % 4 != 0)
      refuse(*this, "int8 GEMMs need lda, ldb, ldd multiples of 4 (lda=" + num(lda) + " ldb=" + num(ldb) + " ldd=" + num(ldd) + ")");
    // Same list: 4-byte aligned pointers, which each batch entry's pointer must be as well.
    if (batch > 1 && (stride_a % 4 != 0 || stride_b % 4 != 0 || (stride_d * static_cast<long long>(type_size(d))) % 4 != 0))
      refuse(*this, "int8 GEMMs need batch strides that keep every entry 4-byte aligned (" + num(stride_a) + "/" +
                        num(stride_b) + "/" + num(stride_d) + ")");
    // Datatypes table: "Epilogue is not supported" for CUDA_R_8I inputs.
    if (epilogue != GemmEpilogue::None) refuse(*this, "cuBLASLt has no epilogue (relu) for int8 inputs");
    if (d == GemmType::S32 && (scale != GemmScale::Scalar || alpha != 1.f))
      refuse(*this, "s32 output takes alpha exactly 1 (scale type CUDA_R_32I): apply scales in the consumer");
  } else if (scale == GemmScale::PerRow) {
    refuse(*this, "per-row alpha is offered for int8 inputs only");
  }
}

#ifndef SWINSCOPE_CUDA_EMU
// ---------------------------------------------------------------- real build: cuBLASLt
namespace {

void check_lt(cublasStatus_t s, const char* what, const char* file, int line) {
  if (s != CUBLAS_STATUS_SUCCESS)
    throw Error(std::string(what) + " failed: " + cublasLtGetStatusName(s) + " (" + file + ":" + std::to_string(line) + ")",
                Error::Kind::Runtime);
}
#define SWS_LT_CHECK(expr) check_lt((expr), #expr, __FILE__, __LINE__)

template <auto Destroy>
struct LtDeleter {
  template <typename P>
  void operator()(P* p) const { Destroy(p); }
};
using LtHandle = std::unique_ptr<cublasLtContext, LtDeleter<cublasLtDestroy>>;
using LtMatmul = std::unique_ptr<cublasLtMatmulDescOpaque_t, LtDeleter<cublasLtMatmulDescDestroy>>;
using LtLayout = std::unique_ptr<cublasLtMatrixLayoutOpaque_t, LtDeleter<cublasLtMatrixLayoutDestroy>>;
using LtPref = std::unique_ptr<cublasLtMatmulPreferenceOpaque_t, LtDeleter<cublasLtMatmulPreferenceDestroy>>;
struct CudaFree {
  void operator()(void* p) const { cudaFree(p); }  // no throw from a destructor
};

cudaDataType_t cuda_type(GemmType t) {
  return std::array<cudaDataType_t, 4>{CUDA_R_8I, CUDA_R_32I, CUDA_R_16F, CUDA_R_32F}[static_cast<int>(t)];
}

template <typename T>
void set_desc(cublasLtMatmulDesc_t d, cublasLtMatmulDescAttributes_t attr, T v) {
  SWS_LT_CHECK(cublasLtMatmulDescSetAttribute(d, attr, &v, sizeof v));
}

LtLayout make_layout(GemmType t, long long rows, long long cols, long long ld, int batch, long long stride) {
  cublasLtMatrixLayout_t raw = nullptr;
  SWS_LT_CHECK(cublasLtMatrixLayoutCreate(&raw, cuda_type(t), static_cast<std::uint64_t>(rows),
                                          static_cast<std::uint64_t>(cols), static_cast<std::int64_t>(ld)));
  LtLayout l(raw);
  if (batch > 1) {
    const std::int32_t count = batch;
    const std::int64_t offset = stride;
    SWS_LT_CHECK(cublasLtMatrixLayoutSetAttribute(raw, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof count));
    SWS_LT_CHECK(cublasLtMatrixLayoutSetAttribute(raw, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &offset, sizeof offset));
  }
  return l;
}

template <typename T>
T algo_attr(const cublasLtMatmulAlgo_t& algo, cublasLtMatmulAlgoConfigAttributes_t attr) {
  T v{};
  std::size_t written = 0;
  return cublasLtMatmulAlgoConfigGetAttribute(&algo, attr, &v, sizeof v, &written) == CUBLAS_STATUS_SUCCESS ? v : T{};
}

}  // namespace

struct GemmRunner::Handle {
  LtHandle lt;
  std::unique_ptr<void, CudaFree> workspace;
};

struct GemmRunner::Entry {
  GemmDesc desc;
  LtMatmul op;
  LtLayout la, lb, ld;  // C uses D's layout (beta = 0, C = D)
  cublasLtMatmulAlgo_t algo{};
  // Host-mode coefficients live here so run() passes stable pointers.
  float alpha_f = 1.f, beta_f = 0.f;
  std::int32_t alpha_i = 1, beta_i = 0;
  std::string algo_text;
};

GemmRunner::GemmRunner(std::size_t workspace_bytes) : m_workspace_bytes(workspace_bytes), m_handle(new Handle) {
  cublasLtHandle_t h = nullptr;
  SWS_LT_CHECK(cublasLtCreate(&h));
  m_handle->lt.reset(h);
  if (workspace_bytes > 0) {  // cudaMalloc's 256-byte alignment meets cublasLtMatmul's workspace requirement
    void* ws = nullptr;
    SWS_CUDA_CHECK(cudaMalloc(&ws, workspace_bytes));
    m_handle->workspace.reset(ws);
  }
}

std::unique_ptr<GemmRunner::Entry> GemmRunner::make_entry(const GemmDesc& g) {
  g.validate();
  auto e = std::make_unique<Entry>();
  e->desc = g;
  e->alpha_f = g.alpha;
  const bool int8 = g.a == GemmType::S8;
  const cublasComputeType_t compute = int8 ? (g.d == GemmType::F32 ? CUBLAS_COMPUTE_32F : CUBLAS_COMPUTE_32I)
                                           : (g.tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F);
  cublasLtMatmulDesc_t op = nullptr;
  SWS_LT_CHECK(cublasLtMatmulDescCreate(&op, compute, g.d == GemmType::S32 ? CUDA_R_32I : CUDA_R_32F));
  e->op.reset(op);
  set_desc<std::int32_t>(op, CUBLASLT_MATMUL_DESC_TRANSA, g.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N);
  set_desc<std::int32_t>(op, CUBLASLT_MATMUL_DESC_TRANSB, g.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N);
  set_desc<std::int32_t>(op, CUBLASLT_MATMUL_DESC_POINTER_MODE, g.scale == GemmScale::PerRow
                                                                     ? CUBLASLT_POINTER_MODE_ALPHA_DEVICE_VECTOR_BETA_HOST
                                                                     : CUBLASLT_POINTER_MODE_HOST);
  if (g.epilogue == GemmEpilogue::Relu) set_desc<std::uint32_t>(op, CUBLASLT_MATMUL_DESC_EPILOGUE, CUBLASLT_EPILOGUE_RELU);
  e->la = make_layout(g.a, g.trans_a ? g.k : g.m, g.trans_a ? g.m : g.k, g.lda, g.batch, g.stride_a);
  e->lb = make_layout(g.b, g.trans_b ? g.n : g.k, g.trans_b ? g.k : g.n, g.ldb, g.batch, g.stride_b);
  e->ld = make_layout(g.d, g.m, g.n, g.ldd, g.batch, g.stride_d);

  cublasLtMatmulPreference_t raw_pref = nullptr;
  SWS_LT_CHECK(cublasLtMatmulPreferenceCreate(&raw_pref));
  LtPref pref(raw_pref);
  const std::uint64_t ws = m_workspace_bytes;
  SWS_LT_CHECK(cublasLtMatmulPreferenceSetAttribute(raw_pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws));
  const std::uint32_t align = kGemmAlignment;
  for (auto attr : {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
                    CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES})
    SWS_LT_CHECK(cublasLtMatmulPreferenceSetAttribute(raw_pref, attr, &align, sizeof align));

  cublasLtMatmulHeuristicResult_t result{};
  int count = 0;
  const cublasStatus_t st = cublasLtMatmulAlgoGetHeuristic(m_handle->lt.get(), op, e->la.get(), e->lb.get(), e->ld.get(),
                                                           e->ld.get(), raw_pref, 1, &result, &count);
  if (st != CUBLAS_STATUS_SUCCESS || count < 1 || result.state != CUBLAS_STATUS_SUCCESS)
    throw Error("no cuBLASLt algorithm for " + g.describe() + ": " +
                    (st != CUBLAS_STATUS_SUCCESS ? cublasLtGetStatusName(st)
                                                 : (count < 1 ? "heuristic returned none" : cublasLtGetStatusName(result.state))),
                Error::Kind::Runtime);
  e->algo = result.algo;
  e->algo_text = "cuBLASLt algo " + num(algo_attr<std::int32_t>(e->algo, CUBLASLT_ALGO_CONFIG_ID)) + " tile " +
                 num(algo_attr<std::uint32_t>(e->algo, CUBLASLT_ALGO_CONFIG_TILE_ID)) + " stages " +
                 num(algo_attr<std::uint32_t>(e->algo, CUBLASLT_ALGO_CONFIG_STAGES_ID)) + " splitK " +
                 num(algo_attr<std::int32_t>(e->algo, CUBLASLT_ALGO_CONFIG_SPLITK_NUM)) + ", workspace " +
                 num(static_cast<long long>(result.workspaceSize)) + " B";
  return e;
}

void GemmRunner::run(int id, const void* A, const void* B, void* D, cudaStream_t stream, const float* alpha_rows) {
  const Entry& e = entry(id);
  const GemmDesc& g = e.desc;
  check_run(g, A, B, D, alpha_rows);
  const bool s32 = g.d == GemmType::S32;
  const void* alpha = g.scale == GemmScale::PerRow ? static_cast<const void*>(alpha_rows)
                                                   : (s32 ? static_cast<const void*>(&e.alpha_i) : &e.alpha_f);
  const void* beta = s32 ? static_cast<const void*>(&e.beta_i) : &e.beta_f;
  // The workspace is shared by all of this runner's GEMMs: they must run in one stream order.
  SWS_LT_CHECK(cublasLtMatmul(m_handle->lt.get(), e.op.get(), alpha, A, e.la.get(), B, e.lb.get(), beta, D, e.ld.get(), D,
                              e.ld.get(), &e.algo, m_handle->workspace.get(), m_workspace_bytes, stream));
}

#else
// ---------------------------------------------------------------- emulation: plain loops
namespace {

using numerics::half_bits_to_float;
using numerics::float_to_half_bits;

inline std::int32_t load(const std::int8_t* p, long long i) { return p[i]; }
inline float load(const float* p, long long i) { return p[i]; }
inline float load(const std::uint16_t* p, long long i) { return half_bits_to_float(p[i]); }

// D(i, j) = Σ_p op(A)(i, p) · op(B)(p, j), summed in p order, with cuBLAS's column-major
// addressing: A(r, c) = A[r + c·lda], op = transpose when trans_*.
template <typename In, typename Acc>
void emulate(const GemmDesc& g, const void* Av, const void* Bv, void* D, const float* alpha_rows) {
  const In* A = static_cast<const In*>(Av);
  const In* B = static_cast<const In*>(Bv);
  const long long sa = g.batch > 1 ? g.stride_a : 0, sb = g.batch > 1 ? g.stride_b : 0, sd = g.batch > 1 ? g.stride_d : 0;
  const long long step_a = g.trans_a ? 1 : g.lda, row_a = g.trans_a ? g.lda : 1;  // op(A)(i, p) = A[i·row_a + p·step_a]
  const long long step_b = g.trans_b ? g.ldb : 1, col_b = g.trans_b ? 1 : g.ldb;  // op(B)(p, j) = B[p·step_b + j·col_b]
#pragma omp parallel for collapse(2) schedule(static)
  for (int bt = 0; bt < g.batch; ++bt)
    for (int j = 0; j < g.n; ++j) {
      const In* b = B + bt * sb + j * col_b;
      for (int i = 0; i < g.m; ++i) {
        const In* a = A + bt * sa + i * row_a;
        Acc acc = 0;
        for (int p = 0; p < g.k; ++p) acc += static_cast<Acc>(load(a, p * step_a)) * static_cast<Acc>(load(b, p * step_b));
        const long long o = bt * sd + i + j * g.ldd;
        if (g.d == GemmType::S32) {
          static_cast<std::int32_t*>(D)[o] = static_cast<std::int32_t>(acc);
          continue;
        }
        float v = static_cast<float>(acc) * (alpha_rows ? alpha_rows[i] : g.alpha);
        if (g.epilogue == GemmEpilogue::Relu) v = v > 0.f ? v : 0.f;
        switch (g.d) {
          case GemmType::S8: static_cast<std::int8_t*>(D)[o] = static_cast<std::int8_t>(numerics::q_gemm_s8(v)); break;
          case GemmType::F16: static_cast<std::uint16_t*>(D)[o] = float_to_half_bits(v); break;
          default: static_cast<float*>(D)[o] = v; break;
        }
      }
    }
}

}  // namespace

struct GemmRunner::Handle {};

struct GemmRunner::Entry {
  GemmDesc desc;
  std::string algo_text;
};

GemmRunner::GemmRunner(std::size_t workspace_bytes) : m_workspace_bytes(workspace_bytes), m_handle(new Handle) {}

std::unique_ptr<GemmRunner::Entry> GemmRunner::make_entry(const GemmDesc& g) {
  g.validate();  // the documented cuBLASLt restrictions stand in for the heuristic
  auto e = std::make_unique<Entry>();
  e->desc = g;
  e->algo_text = "emulated cuBLASLt (plain loops)";
  return e;
}

void GemmRunner::run(int id, const void* A, const void* B, void* D, cudaStream_t stream, const float* alpha_rows) {
  const Entry* e = &entry(id);
  const GemmDesc& g = e->desc;
  check_run(g, A, B, D, alpha_rows);
  // The entry outlives a captured graph as the real build's descriptors do: the runner owns both.
  SWS_CUDA_CHECK(::sws_emu::enqueue(stream, [e, A, B, D, alpha_rows]() {
    if (e->desc.a == GemmType::S8) emulate<std::int8_t, std::int32_t>(e->desc, A, B, D, alpha_rows);
    else if (e->desc.a == GemmType::F16) emulate<std::uint16_t, float>(e->desc, A, B, D, alpha_rows);
    else emulate<float, float>(e->desc, A, B, D, alpha_rows);
  }));
}
#endif

// ---------------------------------------------------------------- shared
GemmRunner::~GemmRunner() = default;

int GemmRunner::add(const GemmDesc& desc) {
  m_entries.push_back(make_entry(desc));
  return static_cast<int>(m_entries.size()) - 1;
}

bool GemmRunner::supported(const GemmDesc& desc, std::string* why) {
  try {
    make_entry(desc);
    return true;
  } catch (const Error& e) {
    if (why) *why = e.what();
    return false;
  }
}

const GemmRunner::Entry& GemmRunner::entry(int id) const {
  if (id < 0 || id >= static_cast<int>(m_entries.size()))
    throw Error("GEMM id " + num(id) + " out of range (" + num(static_cast<long long>(m_entries.size())) + " added)",
                Error::Kind::Runtime);
  return *m_entries[static_cast<std::size_t>(id)];
}

const GemmDesc& GemmRunner::desc(int id) const { return entry(id).desc; }
std::string GemmRunner::algo_description(int id) const { return entry(id).algo_text; }

}  // namespace swinscope::SWS_CUDA_NS
