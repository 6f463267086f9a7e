#pragma once
#include <memory>

#include "engine/plan.h"

namespace swinscope::cpu {

std::unique_ptr<Plan> make_fp32_plan(const Model& model, int max_batch);

}  // namespace swinscope::cpu
