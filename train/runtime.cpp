#include "train/runtime.h"

#include <dlfcn.h>
#include <malloc.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "data/error.h"

namespace attnzoo {
namespace {

// OpenBLAS's extension symbols, looked up at run time so that any libblas.so.3
// (the reference BLAS too) still links and runs.
template <typename Fn>
Fn openblas_symbol(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, name));
}

void keep_freed_memory() {
  static const bool once = [] {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);  // the largest glibc accepts
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    return true;
  }();
  (void)once;
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

int default_threads() {
  // OMP_NUM_THREADS, where set, is the user's choice (as in PyTorch).
  if (const char* omp = std::getenv("OMP_NUM_THREADS")) {
    const int n = std::atoi(omp);
    if (n > 0) return n;
  }
  if (blas_threading() != "openmp") return 1;
  return std::max(1u, std::thread::hardware_concurrency());
}

void set_threads(int aten, int blas) {
  keep_freed_memory();
  torch::set_num_threads(aten > 0 ? aten : default_threads());
  if (blas > 0) {
    if (const auto set = openblas_symbol<void (*)(int)>("openblas_set_num_threads")) set(blas);
  }
}

c10::ScalarType parse_precision(const std::string& name) {
  if (name == "fp32") return torch::kFloat32;
  if (name != "bf16")
    throw UserError("config: train.precision \"{}\" is not one of fp32, bf16", name);
  static const bool warned = [] {
    if (!__builtin_cpu_supports("avx512bf16"))
      std::fprintf(
          stderr,
          "warning: this CPU has no AVX512-BF16; train.precision bf16 will be slower than fp32\n");
    return true;
  }();
  (void)warned;
  return torch::kBFloat16;
}

void seed_everything(uint64_t seed) { torch::manual_seed(seed); }

}  // namespace attnzoo
