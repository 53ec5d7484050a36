#include "data/glimpse_data.h"

#include <algorithm>

#include "data/error.h"
#include "data/fashion_mnist.h"

namespace attnzoo {

CanvasOptions canvas_options(const nlohmann::json& d) {
  CanvasOptions o;
  o.canvas = d.at("canvas");
  o.clutter = d.at("clutter");
  o.clutter_size = d.at("clutter_size");
  return o;
}

GlimpseSplits load_glimpse_data(const nlohmann::json& d, const std::vector<std::string>& splits) {
  const auto options = canvas_options(d);
  const std::string dir = d.at("fashion_mnist");
  const uint64_t seed = d.at("seed");
  const int64_t valid_size = d.at("valid_size");
  auto wanted = [&](const std::string& s) {
    return std::find(splits.begin(), splits.end(), s) != splits.end();
  };
  auto capped = [&](int64_t n, const std::string& split) {
    const int64_t limit = d.at("limit").at(split);
    return limit > 0 ? std::min(n, limit) : n;
  };
  GlimpseSplits s;
  if (wanted("train") || wanted("valid")) {
    const auto source = load_fashion_mnist(dir, "train");
    const int64_t n = source.images.size(0);
    if (valid_size < 1 || valid_size >= n)
      throw UserError("config: data.valid_size {} is not in [1, {})", valid_size, n);
    const int64_t n_train = n - valid_size;
    // Different streams per split, so no two splits share a placement pattern.
    if (wanted("train"))
      s.train = make_canvas_set(source, seed, 0, capped(n_train, "train"), options);
    if (wanted("valid"))
      s.valid = make_canvas_set(source, seed + 1, n_train, capped(valid_size, "valid"), options);
  }
  if (wanted("test")) {
    const auto source = load_fashion_mnist(dir, "test");
    s.test = make_canvas_set(source, seed + 2, 0, capped(source.images.size(0), "test"), options);
  }
  return s;
}

}  // namespace attnzoo
