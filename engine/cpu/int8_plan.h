#pragma once
// The int8 SWIN plan on the CPU: the twelve stages of engine/stages.h per block, with
// oneDNN int8 GEMMs (engine/cpu/int8_gemm.h) and the fused ops of engine/cpu/int8_ops.h.
// Per block the block's activation decides: a GELU block runs fc1_gemm → s8 and the fused
// fc1_bias_gelu_quant; a GELU-less (ReLU) block runs ReLU inside fc1_gemm (oneDNN post-op,
// u8 out) and has no stage 10. The patch embedding and the head stay float (oneDNN f32),
// as in FasterTransformer; the residual stream, LayerNorms, softmax and biases are float.
#include <memory>

#include "engine/plan.h"

namespace swinscope::cpu {

// `variant` is Int8Gelu (every block GELU: the FasterTransformer baseline) or Int8Relu
// (GELU-less blocks; a half-distilled model's remaining GELU blocks keep stage 10). A
// model that does not match is refused with the reason (see default_variant in plan.h).
std::unique_ptr<Plan> make_int8_plan(const Model& model, Variant variant, int max_batch);

// Throws Error (naming the file and the first block that does not fit) unless `model` is an
// int8 model that can run as `variant`; the CUDA plans check with it too.
void check_int8_variant(const Model& model, Variant variant);

}  // namespace swinscope::cpu
