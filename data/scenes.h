#pragma once
// Fashion-MNIST scenes: the captioner's embedded data set. A black canvas with
// 1 to 3 Fashion-MNIST items at random places and sizes, never overlapping;
// several captions per image that name every item and its place or its
// relation to another ("a sneaker to the left of a bag", "a dress at the top");
// and each item's box, to score where the model looks (the pointing game).
// Scene i of a seed is the same on every machine and in every order.
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "data/fashion_mnist.h"

namespace attnzoo {

struct SceneOptions {
  int64_t canvas = 128;  // square canvas side, pixels
  int64_t min_items = 1;
  int64_t max_items = 3;
  int64_t min_size = 32;  // an item is drawn at a random side in [min_size, max_size]
  int64_t max_size = 48;
  int64_t captions_per_image = 5;
};

struct Box {
  int64_t x0 = 0, y0 = 0, x1 = 0, y1 = 0;  // pixels, [x0, x1) x [y0, y1)
  bool contains(double x, double y) const { return x >= x0 && x < x1 && y >= y0 && y < y1; }
};

struct SceneItem {
  int64_t label = 0;  // Fashion-MNIST class
  std::string name;   // its one-word name (fashion_mnist_classes())
  Box box;            // the item's ink, not its whole patch
};

struct Scene {
  torch::Tensor image;  // (canvas, canvas) uint8
  std::vector<SceneItem> items;
  std::vector<std::string> captions;  // distinct, lower case, words separated by spaces
};

// Scene `index` of the stream `seed`, drawn from the images of `source`.
Scene make_scene(const FashionMnist& source, uint64_t seed, int64_t index,
                 const SceneOptions& options);

// Scenes first .. first+count-1 of the stream `seed`.
std::vector<Scene> make_scenes(const FashionMnist& source, uint64_t seed, int64_t first,
                               int64_t count, const SceneOptions& options);

// A black (side, side) uint8 canvas with one 28x28 item drawn at side `size`
// (bilinear, as in scenes) with its top left corner at (x, y). UserError if it does not fit.
torch::Tensor item_canvas(const torch::Tensor& image, int64_t side, int64_t size, int64_t x,
                          int64_t y);

// The bounding box of an image's ink (pixels above a faint threshold), as the
// scenes box their items; an empty box (x0 == x1) where there is none.
Box ink_box(const torch::Tensor& image);

// Where a point lies on a 3x3 grid, as words: "at the top left", "on the
// right", "in the middle", ...
std::string place_phrase(double x, double y, int64_t canvas);

// How item a lies relative to item b: "to the left of", "to the right of",
// "above" or "below", by the larger of the horizontal and vertical offsets of
// their centres.
std::string relation_phrase(const Box& a, const Box& b);

}  // namespace attnzoo
