#pragma once
// The images the glimpse classifiers learn from and are scored on, per a
// glimpse config's "data" section: data.source "fashion-mnist" (items placed
// on canvases, data/canvas.h) or "cifar10" (CIFAR-10's 32x32 colour images
// from the folder data.cifar10, data/cifar10.h).
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "data/canvas.h"

namespace attnzoo {

// Images (N,S,S) grey or (N,S,S,3) RGB uint8, and labels (N) of each split:
// the first items of the source's training set (all but data.valid_size),
// validation the rest of it, test its test set; Fashion-MNIST's items each
// placed on data.canvas with data.clutter.
struct GlimpseSplits {
  CanvasSet train, valid, test;
};
GlimpseSplits load_glimpse_data(const nlohmann::json& data_config,
                                const std::vector<std::string>& splits = {"train", "valid",
                                                                          "test"});
CanvasOptions canvas_options(const nlohmann::json& data_config);

// What a data section's images are: 1 (grey) or 3 (RGB) channels, and the
// names of its classes. UserError names an unknown source, or a canvas or
// clutter that CIFAR-10's fixed 32x32 images cannot have.
int64_t glimpse_channels(const nlohmann::json& data_config);
const std::vector<std::string>& glimpse_classes(const nlohmann::json& data_config);

}  // namespace attnzoo
