#include "data/scenes.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <random>
#include <set>

#include "data/error.h"

namespace attnzoo {
namespace {

double centre_x(const Box& b) { return 0.5 * static_cast<double>(b.x0 + b.x1); }
double centre_y(const Box& b) { return 0.5 * static_cast<double>(b.y0 + b.y1); }

bool overlaps(const Box& a, const Box& b, int64_t gap) {
  return a.x0 < b.x1 + gap && b.x0 < a.x1 + gap && a.y0 < b.y1 + gap && b.y0 < a.y1 + gap;
}

int64_t uniform(std::mt19937_64& rng, int64_t lo, int64_t hi) {  // inclusive
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
}

// Every caption the scene supports; the caller picks some at random.
std::vector<std::string> candidate_captions(const std::vector<SceneItem>& items, int64_t canvas) {
  auto place = [&](const SceneItem& it) {
    return place_phrase(centre_x(it.box), centre_y(it.box), canvas);
  };
  auto a_ = [](const SceneItem& it) { return "a " + it.name; };
  std::vector<std::string> out;
  if (items.size() == 1) {
    const auto& a = items[0];
    out = {a_(a) + " " + place(a), "there is a " + a.name + " " + place(a),
           "one " + a.name + " " + place(a), place(a) + " there is a " + a.name,
           "a single " + a.name + " " + place(a)};
  } else if (items.size() == 2) {
    const auto& a = items[0];
    const auto& b = items[1];
    out = {a_(a) + " " + relation_phrase(a.box, b.box) + " " + a_(b),
           a_(b) + " " + relation_phrase(b.box, a.box) + " " + a_(a),
           a_(a) + " " + place(a) + " and " + a_(b) + " " + place(b),
           a_(b) + " " + place(b) + " and " + a_(a) + " " + place(a),
           a_(a) + " " + place(a) + " with " + a_(b) + " " + place(b)};
  } else {
    for (size_t i = 0; i < items.size(); ++i) {
      const auto& a = items[i];
      const auto& b = items[(i + 1) % items.size()];
      const auto& c = items[(i + 2) % items.size()];
      out.push_back(a_(a) + " " + place(a) + " , " + a_(b) + " " + place(b) + " and " + a_(c) +
                    " " + place(c));
      out.push_back(a_(a) + " " + relation_phrase(a.box, b.box) + " " + a_(b) + " and " + a_(c) +
                    " " + place(c));
    }
  }
  return out;
}

// A 28x28 Fashion-MNIST image at side `size` (bilinear), as scenes draw items.
cv::Mat resized_item(const torch::Tensor& image, int64_t size) {
  const auto pixels = image.contiguous();
  const cv::Mat small(28, 28, CV_8UC1, const_cast<uint8_t*>(pixels.data_ptr<uint8_t>()));
  cv::Mat item;
  cv::resize(small, item, cv::Size(static_cast<int>(size), static_cast<int>(size)), 0, 0,
             cv::INTER_LINEAR);
  return item;
}

// The bounding rectangle of an item's ink: pixels above a faint threshold.
cv::Rect ink_rect(const cv::Mat& item) {
  cv::Mat ink;
  cv::threshold(item, ink, 24, 255, cv::THRESH_BINARY);
  return cv::boundingRect(ink);
}

}  // namespace

Box ink_box(const torch::Tensor& image) {
  if (image.dim() != 2 || image.scalar_type() != torch::kUInt8)
    throw UserError("ink_box expects a 2-D uint8 image, got {} of {}",
                    fmt::join(image.sizes(), "x"), c10::toString(image.scalar_type()));
  const auto contiguous = image.contiguous();
  const cv::Mat mat(static_cast<int>(image.size(0)), static_cast<int>(image.size(1)), CV_8UC1,
                    const_cast<uint8_t*>(contiguous.data_ptr<uint8_t>()));
  const cv::Rect r = ink_rect(mat);
  return {r.x, r.y, r.x + r.width, r.y + r.height};
}

torch::Tensor item_canvas(const torch::Tensor& image, int64_t side, int64_t size, int64_t x,
                          int64_t y) {
  if (size < 1 || x < 0 || y < 0 || x + size > side || y + size > side)
    throw UserError("an item of side {} at ({}, {}) does not fit a canvas of side {}", size, x, y,
                    side);
  auto canvas = torch::zeros({side, side}, torch::kUInt8);
  cv::Mat out(static_cast<int>(side), static_cast<int>(side), CV_8UC1, canvas.data_ptr<uint8_t>());
  resized_item(image, size)
      .copyTo(out(cv::Rect(static_cast<int>(x), static_cast<int>(y), static_cast<int>(size),
                           static_cast<int>(size))));
  return canvas;
}

std::string place_phrase(double x, double y, int64_t canvas) {
  const double third = static_cast<double>(canvas) / 3.0;
  const int col = x < third ? 0 : (x < 2 * third ? 1 : 2);
  const int row = y < third ? 0 : (y < 2 * third ? 1 : 2);
  static const char* const phrases[3][3] = {
      {"at the top left", "at the top", "at the top right"},
      {"on the left", "in the middle", "on the right"},
      {"at the bottom left", "at the bottom", "at the bottom right"}};
  return phrases[row][col];
}

std::string relation_phrase(const Box& a, const Box& b) {
  const double dx = centre_x(b) - centre_x(a);
  const double dy = centre_y(b) - centre_y(a);
  if (std::abs(dx) >= std::abs(dy)) return dx > 0 ? "to the left of" : "to the right of";
  return dy > 0 ? "above" : "below";
}

Scene make_scene(const FashionMnist& source, uint64_t seed, int64_t index, const SceneOptions& o) {
  if (o.min_items < 1 || o.max_items < o.min_items)
    throw UserError("scenes: need 1 <= min_items <= max_items (got {}, {})", o.min_items,
                    o.max_items);
  if (o.min_size < 8 || o.max_size < o.min_size || o.max_size > o.canvas)
    throw UserError("scenes: need 8 <= min_size <= max_size <= canvas (got {}, {}, {})", o.min_size,
                    o.max_size, o.canvas);
  const int64_t pool = source.images.size(0);
  if (pool == 0) throw UserError("scenes: no source images");
  // One generator per scene, so scene i does not depend on the scenes before it.
  std::seed_seq seq{seed, static_cast<uint64_t>(index), uint64_t{0x5ce9e5}};
  std::mt19937_64 rng(seq);

  Scene scene;
  cv::Mat canvas = cv::Mat::zeros(static_cast<int>(o.canvas), static_cast<int>(o.canvas), CV_8UC1);
  std::vector<Box> patches;
  const int64_t wanted = uniform(rng, o.min_items, o.max_items);
  for (int64_t k = 0; k < wanted; ++k) {
    const int64_t which = uniform(rng, 0, pool - 1);
    const int64_t size = uniform(rng, o.min_size, o.max_size);
    Box patch;
    bool placed = false;
    for (int attempt = 0; attempt < 100 && !placed; ++attempt) {
      patch.x0 = uniform(rng, 0, o.canvas - size);
      patch.y0 = uniform(rng, 0, o.canvas - size);
      patch.x1 = patch.x0 + size;
      patch.y1 = patch.y0 + size;
      placed = std::none_of(patches.begin(), patches.end(),
                            [&](const Box& p) { return overlaps(p, patch, 2); });
    }
    if (!placed) continue;  // a crowded canvas holds fewer items
    patches.push_back(patch);

    const cv::Mat item = resized_item(source.images[which], size);
    item.copyTo(canvas(cv::Rect(static_cast<int>(patch.x0), static_cast<int>(patch.y0),
                                static_cast<int>(size), static_cast<int>(size))));
    // The box is the item's ink on the canvas.
    const cv::Rect r = ink_rect(item);
    SceneItem it;
    it.label = source.labels[which].item<int64_t>();
    it.name = fashion_mnist_classes().at(static_cast<size_t>(it.label));
    it.box = r.area() > 0 ? Box{patch.x0 + r.x, patch.y0 + r.y, patch.x0 + r.x + r.width,
                                patch.y0 + r.y + r.height}
                          : patch;
    scene.items.push_back(std::move(it));
  }
  scene.image = torch::from_blob(canvas.data, {o.canvas, o.canvas}, torch::kUInt8).clone();

  auto candidates = candidate_captions(scene.items, o.canvas);
  std::shuffle(candidates.begin(), candidates.end(), rng);
  std::set<std::string> seen;
  for (const auto& c : candidates) {
    if (static_cast<int64_t>(scene.captions.size()) >= o.captions_per_image) break;
    if (seen.insert(c).second) scene.captions.push_back(c);
  }
  return scene;
}

std::vector<Scene> make_scenes(const FashionMnist& source, uint64_t seed, int64_t first,
                               int64_t count, const SceneOptions& options) {
  std::vector<Scene> scenes;
  scenes.reserve(static_cast<size_t>(std::max<int64_t>(0, count)));
  for (int64_t i = first; i < first + count; ++i)
    scenes.push_back(make_scene(source, seed, i, options));
  return scenes;
}

}  // namespace attnzoo
