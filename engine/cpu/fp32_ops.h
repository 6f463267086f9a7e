#pragma once
// Plain CPU loops for the FP32 SWIN forward. These are the reference semantics the int8
// and CUDA paths are checked against; each is one pass over memory, parallel over rows.
// Token layout everywhere: (batch, H, W, C) row-major, i.e. (B*H*W, C) rows.

namespace swinscope::cpu {

struct WindowGeometry {
  int batch = 0;
  int H = 0;      // feature-map side (square)
  int C = 0;      // channels
  int window = 0; // window side
  int shift = 0;  // cyclic shift (0: none)
  int heads = 0;
  int windows_per_image() const { return (H / window) * (H / window); }
  int tokens_per_window() const { return window * window; }
  int head_dim() const { return C / heads; }
};

// y = LayerNorm(x) row by row; x may equal y.
void layernorm_rows(const float* x, float* y, long rows, int C, const float* gamma, const float* beta, float eps);

// Patch-embedding im2col: input (B, Cin, img, img) → (B*(img/p)^2, Cin*p*p), the column
// order of a flattened conv weight (Cin, p, p).
void patch_im2col(const float* input, float* cols, int batch, int in_chans, int img, int patch);

// Stage 1 (ln1): LayerNorm + cyclic shift by -shift + window partition.
// x: (B*H*W, C) token order → out: (B*nW*N, C) window order.
void ln_shift_partition(const float* x, float* out, const WindowGeometry& g, const float* gamma, const float* beta,
                        float eps);

// Stage 4 (qk): scores[b, win, head, i, j] = (q_i · k_j) * head_dim^-0.5.
// qkv: (B*nW*N, 3C) window order, columns [q heads | k heads | v heads] as timm packs them.
void attention_scores(const float* qkv, float* scores, const WindowGeometry& g);

// Stage 5 (softmax): adds the dense relative position bias (heads, N, N) and, for shifted
// blocks, the -100 mask between tokens of different regions (as the reference
// implementation does), then softmax over j, in place.
void softmax_bias_mask(float* scores, const float* rel_bias, const WindowGeometry& g);

// Stage 6 (av): ctx[tok, head*d + e] = Σ_j P[i, j] v[j, head*d + e]; heads merged.
void attention_av(const float* scores, const float* qkv, float* ctx, const WindowGeometry& g);

// Stage 8: window reverse + reverse shift + residual add (x += attn_out, in token order),
// then LayerNorm into ln_out (token order).
void window_reverse_residual_ln(const float* attn_out, float* x, float* ln_out, const WindowGeometry& g,
                                const float* gamma, const float* beta, float eps);

// Patch merging gather (x0=(2i,2j), x1=(2i+1,2j), x2=(2i,2j+1), x3=(2i+1,2j+1) concatenated)
// + LayerNorm(4C): x (B*H*W, C) → out (B*(H/2)*(W/2), 4C).
void merge_gather_ln(const float* x, float* out, int batch, int H, int C, const float* gamma, const float* beta,
                     float eps);

// Dense relative position bias (heads, N, N) from a timm table ((2w-1)^2, heads).
void expand_relative_position_bias(const float* table, float* dense, int window, int heads);

// Final LayerNorm (into scratch, (B*L, F)) then mean over tokens → pooled (B, F).
void ln_mean_pool(const float* x, float* scratch, float* pooled, int batch, int L, int F, const float* gamma,
                  const float* beta, float eps);

}  // namespace swinscope::cpu
