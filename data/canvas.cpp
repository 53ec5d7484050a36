#include "data/canvas.h"

#include <ATen/Parallel.h>

#include <algorithm>

#include <random>

#include "data/error.h"

namespace attnzoo {
namespace {

int64_t uniform(std::mt19937_64& rng, int64_t lo, int64_t hi) {  // inclusive
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
}

void check(const FashionMnist& source, const CanvasOptions& o) {
  if (o.canvas < 28)
    throw UserError("canvas: the canvas side {} is below 28 (an item's side)", o.canvas);
  if (o.clutter < 0) throw UserError("canvas: clutter {} is negative", o.clutter);
  if (o.clutter > 0 && (o.clutter_size < 1 || o.clutter_size > 28))
    throw UserError("canvas: clutter_size {} is not in [1, 28]", o.clutter_size);
  if (source.images.size(0) == 0) throw UserError("canvas: no source images");
}

// Pastes a (h,w) block onto `canvas` at (x,y), keeping the brighter pixel.
void paste_max(uint8_t* canvas, int64_t side, const uint8_t* block, int64_t block_stride, int64_t h,
               int64_t w, int64_t x, int64_t y) {
  for (int64_t r = 0; r < h; ++r)
    for (int64_t c = 0; c < w; ++c) {
      uint8_t& dst = canvas[(y + r) * side + x + c];
      dst = std::max(dst, block[r * block_stride + c]);
    }
}

// Draws image `index` into out; stores the item's top-left corner in place[0..1] when given.
void draw(const FashionMnist& source, uint64_t seed, int64_t index, const CanvasOptions& o,
          uint8_t* out, int64_t* place = nullptr) {
  const auto* items = source.images.data_ptr<uint8_t>();
  const int64_t pool = source.images.size(0);
  // One generator per image, so image i does not depend on the images before it.
  std::seed_seq seq{seed, static_cast<uint64_t>(index), uint64_t{0xca5a5}};
  std::mt19937_64 rng(seq);
  std::fill(out, out + o.canvas * o.canvas, uint8_t{0});
  for (int64_t k = 0; k < o.clutter; ++k) {
    const int64_t other = uniform(rng, 0, pool - 1);
    const int64_t sx = uniform(rng, 0, 28 - o.clutter_size),
                  sy = uniform(rng, 0, 28 - o.clutter_size);
    const int64_t x = uniform(rng, 0, o.canvas - o.clutter_size),
                  y = uniform(rng, 0, o.canvas - o.clutter_size);
    paste_max(out, o.canvas, items + other * 784 + sy * 28 + sx, 28, o.clutter_size, o.clutter_size,
              x, y);
  }
  const int64_t x = uniform(rng, 0, o.canvas - 28), y = uniform(rng, 0, o.canvas - 28);
  paste_max(out, o.canvas, items + index * 784, 28, 28, 28, x, y);
  if (place) {
    place[0] = x;
    place[1] = y;
  }
}

}  // namespace

torch::Tensor place_on_canvas(const FashionMnist& source, uint64_t seed, int64_t index,
                              const CanvasOptions& o) {
  check(source, o);
  if (index < 0 || index >= source.images.size(0))
    throw UserError("canvas: item {} is not in [0, {})", index, source.images.size(0));
  const auto items = FashionMnist{source.images.contiguous(), source.labels};
  auto out = torch::empty({o.canvas, o.canvas}, torch::kUInt8);
  draw(items, seed, index, o, out.data_ptr<uint8_t>());
  return out;
}

CanvasSet make_canvas_set(const FashionMnist& source, uint64_t seed, int64_t first, int64_t count,
                          const CanvasOptions& o) {
  check(source, o);
  if (first < 0 || count < 0 || first + count > source.images.size(0))
    throw UserError("canvas: items [{}, {}) are not all in [0, {})", first, first + count,
                    source.images.size(0));
  const auto items = FashionMnist{source.images.contiguous(), source.labels};
  CanvasSet set;
  set.images = torch::empty({count, o.canvas, o.canvas}, torch::kUInt8);
  set.labels = source.labels.slice(0, first, first + count).clone();
  set.places = torch::empty({count, 2}, torch::kLong);
  auto* out = set.images.data_ptr<uint8_t>();
  auto* places = set.places.data_ptr<int64_t>();
  at::parallel_for(0, count, 256, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      draw(items, seed, first + i, o, out + i * o.canvas * o.canvas, places + 2 * i);
  });
  return set;
}

}  // namespace attnzoo
