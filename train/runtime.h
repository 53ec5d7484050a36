#pragma once
// Process-wide settings every app applies first: threads and seeds.
#include <cstdint>

namespace attnzoo {

// ATen's intra-op threads (`aten`, at least 1) and OpenBLAS's GEMM threads
// (`blas`; 0 leaves OpenBLAS's default, which uses every core). On the 2-core
// machines this project targets, aten=1 with OpenBLAS on both cores measured
// best (see bench/); more ATen threads oversubscribe the cores.
void set_threads(int aten, int blas);

// Seeds torch's generator (dropout, sampling).
void seed_everything(uint64_t seed);

}  // namespace attnzoo
