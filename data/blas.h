#pragma once
// The BLAS under LibTorch (libblas.so.3, OpenBLAS where Debian's setup put it):
// which build of it this process loaded, and which of its CPU kernels it runs.
#include <optional>
#include <string>

namespace attnzoo {

// Which build of OpenBLAS libblas.so.3 resolved to in this process: "openmp",
// "pthread", "sequential", or "other" (not OpenBLAS).
std::string blas_threading();

// OpenBLAS's GEMM threads (nothing where the BLAS is not OpenBLAS).
void set_blas_threads(int n);

// The CPU kernels OpenBLAS runs ("SkylakeX", "Haswell", "Prescott", ...), or
// "" where the BLAS is not OpenBLAS.
std::string blas_core();

// What the CPU can run, for choosing kernels.
struct CpuFeatures {
  bool avx2_fma = false;  // AVX2 and FMA3, enabled by the OS
  bool avx512 = false;    // AVX-512 F, BW, DQ and VL, enabled by the OS
};
CpuFeatures cpu_features();

// The kernels to run instead of `detected`, or nothing to keep them. An
// OpenBLAS that does not know a CPU falls back to its oldest x86-64 kernels:
// Debian 12's 0.3.21 takes a 5th-generation Xeon (Emerald Rapids, model 207)
// for a Prescott and multiplies 512x512 matrices 5-7x slower than with the
// AVX-512 kernels the CPU can run. So kernels below AVX2 on a CPU that has it
// give way to SkylakeX (AVX-512) or Haswell (AVX2). `user_choice`
// (OPENBLAS_CORETYPE) always wins, and a detection at AVX2 or above (Haswell,
// Zen, SkylakeX, ...) is kept: OpenBLAS chose it knowing the CPU.
std::optional<std::string> better_blas_core(const std::string& detected, const char* user_choice,
                                            const CpuFeatures& cpu);

// Applies better_blas_core to this process, once: switches OpenBLAS's kernels
// (before the first GEMM, or between two) and sets OPENBLAS_CORETYPE so that
// child processes run the same ones. Returns the kernels OpenBLAS runs after.
// Every app calls it first (set_threads does).
std::string use_best_blas_kernels();

}  // namespace attnzoo
