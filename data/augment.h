#pragma once
// Training-time augmentation for image classifiers, as the CIFAR recipes of
// the Residual Attention and ResNet papers use it: each image shifted by a
// random crop of its zero-padded self, and mirrored left to right half the
// time.
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <cstdint>

namespace attnzoo {

struct AugmentOptions {
  int64_t crop_padding = 0;  // pad by this many pixels, then crop a random side x side window
  bool flip = false;         // mirror left to right with probability 1/2
  bool any() const { return crop_padding > 0 || flip; }
  // From a train config's "augment" section; UserError names a bad value.
  static AugmentOptions from_json(const nlohmann::json& augment);
};

// images: uint8 (B,S,S) or (B,S,S,C). Image i's crop and flip depend only on
// (seed, i), so a batch augments the same way on every machine and on resume.
torch::Tensor augment_images(const torch::Tensor& images, const AugmentOptions& options,
                             uint64_t seed);

}  // namespace attnzoo
