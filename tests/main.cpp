// Catch2's runner, then the process's scratch folder is removed.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <system_error>

#include "data/blas.h"
#include "tests/temp_dir.h"

// make sanitize must test an instrumented build, not quietly a plain one.
#if defined(ATTNZOO_SANITIZE) && !defined(__SANITIZE_ADDRESS__)
#error "ATTNZOO_SANITIZE is set but AddressSanitizer is not on"
#endif

int main(int argc, char* argv[]) {
  attnzoo::use_best_blas_kernels();  // the kernels the apps run
  const int result = Catch::Session().run(argc, argv);
  std::error_code ec;
  std::filesystem::remove_all(attnzoo::testing::scratch_dir(), ec);
  return result;
}
