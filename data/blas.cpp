#include "data/blas.h"

#include <dlfcn.h>
#include <strings.h>

#include <array>
#include <cstdlib>

namespace attnzoo {
namespace {

// OpenBLAS's extension symbols, looked up at run time so that any libblas.so.3
// (the reference BLAS too) still links and runs.
template <typename Fn>
Fn openblas_symbol(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, name));
}

// OpenBLAS's x86-64 kernel sets older than AVX2 (the names its
// gotoblas_corename gives).
bool below_avx2(const std::string& core) {
  static constexpr std::array<const char*, 20> kOld = {
      "Katmai", "Coppermine",  "Northwood",     "Prescott",   "Banias",
      "Atom",   "Core2",       "Penryn",        "Dunnington", "Nehalem",
      "Athlon", "Opteron",     "Opteron(SSE3)", "Barcelona",  "Nano",
      "Bobcat", "Sandybridge", "Bulldozer",     "Piledriver", "Steamroller"};
  for (const char* old : kOld)
    if (strcasecmp(core.c_str(), old) == 0) return true;
  return false;
}

}  // namespace

std::string blas_threading() {
  const auto get_parallel = openblas_symbol<int (*)()>("openblas_get_parallel");
  if (!get_parallel) return "other";
  switch (get_parallel()) {
    case 0:
      return "sequential";
    case 1:
      return "pthread";
    case 2:
      return "openmp";
    default:
      return "other";
  }
}

void set_blas_threads(int n) {
  if (const auto set = openblas_symbol<void (*)(int)>("openblas_set_num_threads")) set(n);
}

std::string blas_core() {
  const auto get_corename = openblas_symbol<const char* (*)()>("openblas_get_corename");
  const char* name = get_corename ? get_corename() : nullptr;
  return name ? name : "";
}

CpuFeatures cpu_features() {
  // GCC's checks include the OS's (XGETBV): a feature the kernel does not save
  // across context switches reads as absent.
  CpuFeatures f;
  f.avx2_fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  f.avx512 = f.avx2_fma && __builtin_cpu_supports("avx512f") &&
             __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
             __builtin_cpu_supports("avx512vl");
  return f;
}

std::optional<std::string> better_blas_core(const std::string& detected, const char* user_choice,
                                            const CpuFeatures& cpu) {
  if (user_choice && *user_choice) return std::nullopt;
  if (!below_avx2(detected) || !cpu.avx2_fma) return std::nullopt;
  return std::string(cpu.avx512 ? "SkylakeX" : "Haswell");
}

std::string use_best_blas_kernels() {
  static const std::string core = [] {
    const auto quit = openblas_symbol<void (*)()>("gotoblas_dynamic_quit");
    const auto init = openblas_symbol<void (*)()>("gotoblas_dynamic_init");
    const std::string detected = blas_core();
    // Only OpenBLAS's DYNAMIC_ARCH builds (Debian's) can change kernels.
    if (!quit || !init) return detected;
    const auto better =
        better_blas_core(detected, std::getenv("OPENBLAS_CORETYPE"), cpu_features());
    if (!better) return detected;
    // gotoblas_dynamic_init reads OPENBLAS_CORETYPE (a name it lacks leaves
    // its own detection); its buffers are sized for every kernel set.
    setenv("OPENBLAS_CORETYPE", better->c_str(), 1);
    quit();
    init();
    return blas_core();
  }();
  return core;
}

}  // namespace attnzoo
