#pragma once
// UserError: a mistake the user can fix (a bad path, a malformed file, a wrong
// config value). Apps print its message on one line and exit non-zero; it is
// never a crash or a stack trace.
#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace attnzoo {

class UserError : public std::runtime_error {
 public:
  explicit UserError(const std::string& what) : std::runtime_error(what) {}
  template <typename... Args>
  explicit UserError(fmt::format_string<Args...> f, Args&&... args)
      : std::runtime_error(fmt::format(f, std::forward<Args>(args)...)) {}
};

}  // namespace attnzoo
