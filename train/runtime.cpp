#include "train/runtime.h"

#include <malloc.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "data/error.h"

namespace attnzoo {
namespace {

void keep_freed_memory() {
  static const bool once = [] {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);  // the largest glibc accepts
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    return true;
  }();
  (void)once;
}

}  // namespace

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
  use_best_blas_kernels();
  keep_freed_memory();
  torch::set_num_threads(aten > 0 ? aten : default_threads());
  if (blas > 0) set_blas_threads(blas);
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

namespace attnzoo {

int64_t steps_cap_from_env() {
  const char* text = std::getenv("ATTNZOO_MAX_STEPS");
  if (text == nullptr || *text == '\0') return 0;
  char* end = nullptr;
  const long long cap = std::strtoll(text, &end, 10);
  if (*end != '\0' || cap < 1)
    throw UserError("ATTNZOO_MAX_STEPS={}: expected a whole number of steps above 0", text);
  return cap;
}

int64_t capped_steps(int64_t steps) {
  const int64_t cap = steps_cap_from_env();
  if (cap == 0) return steps;
  return steps > 0 ? std::min(steps, cap) : cap;
}

}  // namespace attnzoo
