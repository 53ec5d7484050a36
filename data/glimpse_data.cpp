#include "data/glimpse_data.h"

#include <algorithm>

#include "data/cifar10.h"
#include "data/error.h"
#include "data/fashion_mnist.h"

namespace attnzoo {
namespace {

bool is_cifar10(const nlohmann::json& d) {
  const std::string source = d.at("source");
  if (source == "fashion-mnist") return false;
  if (source != "cifar10")
    throw UserError("config: data.source \"{}\" is not one of fashion-mnist, cifar10", source);
  const int64_t canvas = d.at("canvas"), clutter = d.at("clutter");
  if (canvas != kCifarSide)
    throw UserError("config: data.canvas is {}, and CIFAR-10's images are {}x{}: set it to {}",
                    canvas, kCifarSide, kCifarSide, kCifarSide);
  if (clutter != 0) throw UserError("config: data.clutter is {}: CIFAR-10 takes none", clutter);
  return true;
}

}  // namespace

int64_t glimpse_channels(const nlohmann::json& d) { return is_cifar10(d) ? 3 : 1; }

const std::vector<std::string>& glimpse_classes(const nlohmann::json& d) {
  return is_cifar10(d) ? cifar10_classes() : fashion_mnist_classes();
}

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
  const bool cifar = is_cifar10(d);
  auto load = [&](const std::string& split) {
    return cifar ? load_cifar10(d.at("cifar10"), split) : load_fashion_mnist(dir, split);
  };
  // CIFAR-10's images as they are: a 32x32 canvas without clutter places each whole.
  auto images = [&](const FashionMnist& source, uint64_t stream, int64_t first, int64_t count) {
    if (!cifar) return make_canvas_set(source, stream, first, count, options);
    CanvasSet set;
    set.images = source.images.narrow(0, first, count).clone();
    set.labels = source.labels.narrow(0, first, count).clone();
    return set;
  };
  GlimpseSplits s;
  if (wanted("train") || wanted("valid")) {
    const auto source = load("train");
    const int64_t n = source.images.size(0);
    if (valid_size < 1 || valid_size >= n)
      throw UserError("config: data.valid_size {} is not in [1, {})", valid_size, n);
    const int64_t n_train = n - valid_size;
    // Different streams per split, so no two splits share a placement pattern.
    if (wanted("train")) s.train = images(source, seed, 0, capped(n_train, "train"));
    if (wanted("valid")) s.valid = images(source, seed + 1, n_train, capped(valid_size, "valid"));
  }
  if (wanted("test")) {
    const auto source = load("test");
    s.test = images(source, seed + 2, 0, capped(source.images.size(0), "test"));
  }
  return s;
}

}  // namespace attnzoo
