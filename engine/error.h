#pragma once
// Errors are values the caller can show: what (file, tensor), expected vs found.
// `kind` decides the CLI exit code: BadInput → 2, Runtime → 1.
#include <stdexcept>
#include <string>

namespace swinscope {

class Error : public std::runtime_error {
 public:
  enum class Kind { BadInput, Runtime };
  explicit Error(std::string message, Kind kind = Kind::BadInput)
      : std::runtime_error(std::move(message)), m_kind(kind) {}
  Kind kind() const { return m_kind; }

 private:
  Kind m_kind = Kind::BadInput;
};

}  // namespace swinscope
