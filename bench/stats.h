#pragma once
// What the benchmarks report: medians of repeated timings.
#include <algorithm>
#include <vector>

namespace attnzoo::bench {

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n == 0 ? 0.0 : (n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]));
}

}  // namespace attnzoo::bench
