#pragma once
// Pretraining an image encoder as a classifier of single Fashion-MNIST items,
// before it learns to caption scenes of them: the scenes' counterpart of the
// ImageNet-trained encoder of Show, Attend and Tell. Each step draws a batch of
// training items, each at a random side in [min_size, max_size] and a random
// place on a small black canvas, and trains the encoder with cross-entropy
// (Adam, cosine decay to zero) under a linear head, either over its mean
// location (target "item": what is on the canvas) or at every location (target
// "locations": the item's class where the location's receptive field is
// centred inside the box of the item's ink, as the scenes box their items, a background class
// elsewhere; features that say what is here rather than what is near). The head is thrown away
// afterwards; the encoder keeps what it learned.
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "data/fashion_mnist.h"
#include "data/scenes.h"
#include "models/resnet.h"

namespace attnzoo {

struct ItemPretrainOptions {
  int64_t steps = 0;
  int64_t batch_size = 64;
  double lr = 2e-3;
  int64_t min_size = 28;  // item side, pixels, as the scenes draw them
  int64_t max_size = 28;
  int64_t canvas = 64;          // side of the black canvas each item is drawn on
  int64_t test_items = 1000;    // the first items of `test`, centred, for the accuracy
  std::string target = "item";  // "item" or "locations"
  uint64_t seed = 1;
};

struct ItemPretrainReport {
  int64_t steps = 0;
  double seconds = 0.0;
  double train_loss = 0.0;     // mean over the last tenth of the steps
  double test_accuracy = 0.0;  // on options.test_items held-out items (target "locations": from
                               // the logits of the locations inside the item's box, averaged)
};

// (B, L) bool, row-major over the encoder's (grid_h, grid_w) map of a side x
// side canvas: whether each location's receptive field is centred inside its
// image's box (in pixels, as the scenes' boxes). Location o of an unpooled map is centred at S o +
// 0.5 in pixel-edge coordinates (ResNetImpl::location_offset), whether or not the canvas divides
// into S-pixel cells; a pooled map's cells split it evenly.
torch::Tensor locations_inside(const ResNetImpl& encoder, const std::vector<Box>& boxes,
                               int64_t side, int64_t grid_h, int64_t grid_w);

// uint8 (side, side) images -> the normalised (B, 3, side, side) batch the encoder reads.
using PreparePixels = std::function<torch::Tensor(const std::vector<const torch::Tensor*>&)>;

// Trains the parameters of `encoder` that require a gradient. Throws UserError
// on options that cannot work (no steps, sizes that do not fit).
ItemPretrainReport pretrain_on_items(ResNetImpl& encoder, const FashionMnist& train,
                                     const FashionMnist& test, const ItemPretrainOptions& options,
                                     const PreparePixels& prepare);

}  // namespace attnzoo
