#include "distill_cli/args.h"

#include <iostream>
#include <sstream>

namespace swinscope::cli {

Args::Args(std::string command, std::string summary, std::vector<OptionSpec> options, std::string positional_help,
           std::string epilog)
    : m_command(std::move(command)),
      m_summary(std::move(summary)),
      m_positional_help(std::move(positional_help)),
      m_epilog(std::move(epilog)),
      m_options(std::move(options)) {
  m_options.push_back({"--help", "", "show this help and exit", ""});
}

const OptionSpec* Args::find(const std::string& name) const {
  for (const auto& o : m_options)
    if (o.name == name) return &o;
  return nullptr;
}

bool Args::parse(const std::vector<std::string>& argv) {
  for (std::size_t i = 0; i < argv.size(); ++i) {
    std::string a = argv[i];
    if (a == "--") {
      m_positional.insert(m_positional.end(), argv.begin() + static_cast<long>(i) + 1, argv.end());
      break;
    }
    if (a.rfind("--", 0) != 0 || a.size() == 2) {
      m_positional.push_back(a);
      continue;
    }
    std::optional<std::string> inline_value;
    if (auto eq = a.find('='); eq != std::string::npos) {
      inline_value = a.substr(eq + 1);
      a.erase(eq);
    }
    const auto* spec = find(a);
    if (!spec) throw UsageError("swinscope-cli " + m_command + ": unknown option " + a + " (see --help)");
    if (spec->name == "--help") {
      std::cout << help();
      return false;
    }
    if (spec->value_name.empty()) {
      if (inline_value) throw UsageError("swinscope-cli " + m_command + ": option " + a + " takes no value");
      m_values[a] = "1";
    } else if (inline_value) {
      m_values[a] = *inline_value;
      m_all[a].push_back(*inline_value);
    } else {
      if (i + 1 >= argv.size())
        throw UsageError("swinscope-cli " + m_command + ": option " + a + " needs a value (" + spec->value_name + ")");
      m_values[a] = argv[++i];
      m_all[a].push_back(m_values[a]);
    }
  }
  return true;
}

std::string Args::help() const {
  std::ostringstream o;
  o << "usage: swinscope-cli " << m_command << " [options]";
  if (!m_positional_help.empty()) o << " " << m_positional_help;
  o << "\n\n"
    << m_summary << "\n\noptions:\n";
  for (const auto& opt : m_options) {
    std::string left = "  ";
    left.append(opt.name);
    if (!opt.value_name.empty()) left.append(" ").append(opt.value_name);
    if (left.size() < 28) left.resize(28, ' ');
    else left.append("\n").append(28, ' ');
    o << left << opt.help;
    if (!opt.default_value.empty()) o << " (default: " << opt.default_value << ")";
    o << "\n";
  }
  if (!m_epilog.empty()) o << "\n" << m_epilog << "\n";
  return o.str();
}

bool Args::flag(const std::string& name) const { return m_values.count(name) > 0; }

std::optional<std::string> Args::get(const std::string& name) const {
  auto it = m_values.find(name);
  if (it == m_values.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> Args::get_all(const std::string& name) const {
  auto it = m_all.find(name);
  return it == m_all.end() ? std::vector<std::string>{} : it->second;
}

std::string Args::get_or(const std::string& name, const std::string& fallback) const {
  return get(name).value_or(fallback);
}

std::string Args::require(const std::string& name) const {
  if (auto v = get(name)) return *v;
  throw UsageError("swinscope-cli " + m_command + ": " + name + " is required (see --help)");
}

long Args::get_long(const std::string& name, long fallback, long min_value, long max_value) const {
  auto v = get(name);
  if (!v) return fallback;
  std::size_t pos = 0;
  long n = 0;
  try {
    n = std::stol(*v, &pos);
  } catch (const std::exception&) {
    pos = 0;
  }
  if (pos != v->size() || v->empty())
    throw UsageError("swinscope-cli " + m_command + ": " + name + " expects a whole number, found '" + *v + "'");
  if (n < min_value || n > max_value)
    throw UsageError("swinscope-cli " + m_command + ": " + name + " must be in " + std::to_string(min_value) + ".." +
                     std::to_string(max_value) + ", found " + *v);
  return n;
}

int Args::get_int(const std::string& name, int fallback, int min_value, int max_value) const {
  return static_cast<int>(get_long(name, fallback, min_value, max_value));
}

double Args::get_double(const std::string& name, double fallback) const {
  auto v = get(name);
  if (!v) return fallback;
  std::size_t pos = 0;
  double d = 0;
  try {
    d = std::stod(*v, &pos);
  } catch (const std::exception&) {
    pos = 0;
  }
  if (pos != v->size() || v->empty())
    throw UsageError("swinscope-cli " + m_command + ": " + name + " expects a number, found '" + *v + "'");
  return d;
}

}  // namespace swinscope::cli
