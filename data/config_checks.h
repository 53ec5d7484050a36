#pragma once
// Range checks of config values where a model or reader takes them, so that a
// value a user can set never reaches LibTorch as an "internal error": one line
// naming the key and the allowed range.
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "data/error.h"

namespace attnzoo {

// Each of `keys` present in `section` (the config's `where`: "model") must be
// a number of at least `min`.
inline void require_at_least(const nlohmann::json& section, const std::string& where,
                             const std::vector<std::string>& keys, double min) {
  for (const auto& key : keys) {
    if (!section.contains(key) || !section[key].is_number()) continue;
    const double v = section[key].get<double>();
    if (!(v >= min))
      throw UserError("config: {}.{} must be at least {} (got {})", where, key, min,
                      section[key].dump());
  }
}

// `key` of `section`, where present, must lie in [lo, hi) (or [lo, hi] where
// `hi_inclusive`).
inline void require_between(const nlohmann::json& section, const std::string& where,
                            const std::string& key, double lo, double hi,
                            bool hi_inclusive = false) {
  if (!section.contains(key) || !section[key].is_number()) return;
  const double v = section[key].get<double>();
  if (!(v >= lo) || !(hi_inclusive ? v <= hi : v < hi))
    throw UserError("config: {}.{} must be in [{}, {}{} (got {})", where, key, lo, hi,
                    hi_inclusive ? "]" : ")", section[key].dump());
}

}  // namespace attnzoo
