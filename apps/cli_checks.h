#pragma once
// CLI11 validators for numeric flags: a value out of range, or not a finite
// number (CLI11's own Range lets NaN through), is one line naming the flag.
#include <CLI/CLI.hpp>

#include <cmath>
#include <string>

namespace attnzoo {

// A finite number of at least `min` (above `min` where `strict`).
inline CLI::Validator at_least(double min, bool strict = false) {
  const std::string range = (strict ? "> " : ">= ") + CLI::detail::to_string(min);
  return CLI::Validator(
      [min, strict, range](std::string& text) -> std::string {
        double v = 0;
        if (!CLI::detail::lexical_cast(text, v) || !std::isfinite(v) || v < min ||
            (strict && v == min))
          return "must be a number " + range + ", not " + text;
        return "";
      },
      "NUMBER " + range);
}

inline CLI::Validator above(double min) { return at_least(min, /*strict=*/true); }

// A finite number from `lo` to `hi` (CLI11's Range passes NaN: every
// comparison with it is false).
inline CLI::Validator between(double lo, double hi) {
  const std::string range = CLI::detail::to_string(lo) + " to " + CLI::detail::to_string(hi);
  return CLI::Validator(
      [lo, hi, range](std::string& text) -> std::string {
        double v = 0;
        if (!CLI::detail::lexical_cast(text, v) || !std::isfinite(v) || v < lo || v > hi)
          return "must be a number from " + range + ", not " + text;
        return "";
      },
      "NUMBER " + range);
}

}  // namespace attnzoo
