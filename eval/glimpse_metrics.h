#pragma once
// Where the Recurrent Attention Model looked, scored against where the item
// was: on_item (did a glimpse land on it) and follows_item (did the glimpses
// move with it).
#include <torch/torch.h>

namespace attnzoo {

// Whether each location (B,G,2), in the sensor's [-1,1] units on a side x side
// canvas, falls on the 28x28 square at places (B,2) (x, y of its top-left
// pixel): (B,G) bool.
torch::Tensor on_item(const torch::Tensor& locations, const torch::Tensor& places, int64_t side);

// Per glimpse (G), the least-squares slope of the glimpse centre's pixel on the
// item centre's pixel, the mean of the x and y slopes: 1 for a glimpse that
// moves one pixel with every pixel the item moves, 0 for one that ignores
// where the item is. Undefined (an empty tensor) when the items do not move.
torch::Tensor follows_item(const torch::Tensor& locations, const torch::Tensor& places,
                           int64_t side);

}  // namespace attnzoo
