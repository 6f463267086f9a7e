#pragma once
// A small, strict argument parser: every subcommand declares its options (with help text)
// so `--help` is generated from the same table that parsing uses, and an unknown or
// malformed option is an error naming it (exit code 2).
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace swinscope::cli {

struct OptionSpec {
  std::string name;         // "--model"
  std::string value_name;   // "FILE"; empty for a flag
  std::string help;
  std::string default_value;  // shown in --help; empty: none
};

class Args {
 public:
  Args(std::string command, std::string summary, std::vector<OptionSpec> options, std::string positional_help = {},
       std::string epilog = {});
  // Throws UsageError. Returns false when --help was printed.
  bool parse(const std::vector<std::string>& argv);
  std::string help() const;

  bool flag(const std::string& name) const;
  std::optional<std::string> get(const std::string& name) const;  // the last value of a repeated option
  std::vector<std::string> get_all(const std::string& name) const;  // every value, in order (`--model A --model B`)
  std::string get_or(const std::string& name, const std::string& fallback) const;
  std::string require(const std::string& name) const;
  int get_int(const std::string& name, int fallback, int min_value, int max_value) const;
  long get_long(const std::string& name, long fallback, long min_value, long max_value) const;
  double get_double(const std::string& name, double fallback) const;
  const std::vector<std::string>& positional() const { return m_positional; }

 private:
  const OptionSpec* find(const std::string& name) const;
  std::string m_command, m_summary, m_positional_help, m_epilog;
  std::vector<OptionSpec> m_options;
  std::map<std::string, std::string> m_values;
  std::map<std::string, std::vector<std::string>> m_all;
  std::vector<std::string> m_positional;
};

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace swinscope::cli
