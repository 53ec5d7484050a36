#pragma once
// One scratch folder per test process, removed when the process ends (tests/main.cpp).
#include <unistd.h>

#include <filesystem>
#include <string>

namespace attnzoo::testing {

inline std::filesystem::path scratch_dir() {
  const auto dir =
      std::filesystem::temp_directory_path() / ("attnzoo_tests_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace attnzoo::testing
