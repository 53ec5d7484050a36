#pragma once
// Fashion-MNIST items on a larger canvas, for the Recurrent Attention Model
// (Mnih et al. 2014, section 4.1): "translated" puts the 28x28 item at a random
// place on a canvas x canvas black image; "cluttered" also scatters pieces cut
// from other items, which look like parts of an item but name no class. Image
// i of a seed is the same on every machine and in every order.
#include <torch/torch.h>

#include <cstdint>

#include "data/fashion_mnist.h"

namespace attnzoo {

struct CanvasOptions {
  int64_t canvas =
      60;  // side of the square canvas, >= 28 (28 and no clutter: the items as they are)
  int64_t clutter = 0;       // pieces of clutter per image
  int64_t clutter_size = 8;  // side of each piece, pixels (cut at random from a random other item)
};

// Item `index` of `source` at a random place on the canvas, the clutter drawn
// under it (brighter pixel wins). Returns (canvas, canvas) uint8.
torch::Tensor place_on_canvas(const FashionMnist& source, uint64_t seed, int64_t index,
                              const CanvasOptions& options);

// Canvases with their labels, and where each item lies.
struct CanvasSet : FashionMnist {
  // (N,2) int64: x, y of the item's top-left pixel (it covers 28x28 from there)
  torch::Tensor places;
};

// Items first .. first+count-1 of `source` placed on canvases (in parallel).
CanvasSet make_canvas_set(const FashionMnist& source, uint64_t seed, int64_t first, int64_t count,
                          const CanvasOptions& options);

}  // namespace attnzoo
