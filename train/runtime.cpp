#include "train/runtime.h"

#include <dlfcn.h>
#include <torch/torch.h>

#include <algorithm>

namespace attnzoo {

void set_threads(int aten, int blas) {
  torch::set_num_threads(std::max(1, aten));
  if (blas > 0) {
    // libblas.so.3 is OpenBLAS where scripts/setup installed it; look the
    // setter up at run time so the reference BLAS still links.
    using SetThreads = void (*)(int);
    if (auto fn = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
      fn(blas);
  }
}

void seed_everything(uint64_t seed) { torch::manual_seed(seed); }

}  // namespace attnzoo
