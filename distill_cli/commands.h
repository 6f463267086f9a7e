#pragma once
#include <string>
#include <vector>

namespace swinscope::cli {

// Each returns the process exit code; errors propagate as exceptions to main().
int cmd_info(const std::vector<std::string>& argv);
int cmd_init(const std::vector<std::string>& argv);
int cmd_average(const std::vector<std::string>& argv);
int cmd_classify(const std::vector<std::string>& argv);
int cmd_eval(const std::vector<std::string>& argv);
int cmd_compare(const std::vector<std::string>& argv);
int cmd_numerics(const std::vector<std::string>& argv);
int cmd_bench(const std::vector<std::string>& argv);
int cmd_quantize(const std::vector<std::string>& argv);
int cmd_profile(const std::vector<std::string>& argv);
int cmd_profile_diff(const std::vector<std::string>& argv);
int cmd_train(const std::vector<std::string>& argv);
int cmd_distill(const std::vector<std::string>& argv);
int cmd_launch(const std::vector<std::string>& argv);
int cmd_selftest(const std::vector<std::string>& argv);

}  // namespace swinscope::cli
