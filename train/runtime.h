#pragma once
// Process-wide settings every app applies first: threads, allocator, seeds.
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <string>

#include "data/blas.h"

namespace attnzoo {

// The ATen thread count used when a config or flag says 0 (auto): OMP_NUM_THREADS where it is
// set to a positive number, else every core
// when OpenBLAS is the OpenMP build (ATen and OpenBLAS then share libgomp's
// pool), else 1, because OpenBLAS's own pthreads already use every core for
// GEMM and more ATen threads oversubscribe them (bench/: 2 ATen threads beside
// pthread OpenBLAS trained at half the speed).
int default_threads();

// ATen's intra-op threads (`aten`; 0 or less: default_threads()) and
// OpenBLAS's GEMM threads (`blas`; 0 leaves OpenBLAS's default, every core),
// on the best kernels OpenBLAS has for this CPU (use_best_blas_kernels).
// Also keeps freed memory up to 32 MiB blocks in glibc's heap instead of
// returning it to the kernel, so the same activation sizes allocated every
// step do not page-fault again.
void set_threads(int aten, int blas);

// train.precision: "fp32" -> kFloat32, "bf16" -> kBFloat16 (mixed precision
// for the big GEMMs; fast where the CPU has AVX512-BF16, and a warning where
// it does not). Anything else is a UserError naming the key.
c10::ScalarType parse_precision(const std::string& name);

// Seeds torch's generator (dropout, sampling).
void seed_everything(uint64_t seed);

// ATTNZOO_MAX_STEPS, where set to a whole number above 0, caps the steps of
// every training (the loop's and encoder pretraining's): the docs' runnable
// blocks run on small budgets with it. 0 where unset; UserError when malformed.
int64_t steps_cap_from_env();
// `steps` (0: no limit) under that cap.
int64_t capped_steps(int64_t steps);

}  // namespace attnzoo
