#pragma once
// The images a captioner learns from and is scored on: the embedded
// Fashion-MNIST scenes (data/scenes.h) with their item boxes, or image files
// with the captions of a Karpathy split file (data/karpathy.h).
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <array>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "data/images.h"
#include "data/scenes.h"

namespace attnzoo {

// One image and what is known about it.
struct CaptionImage {
  std::string name;
  torch::Tensor pixels;               // (H,W) or (H,W,3) uint8, RGB
  std::vector<std::string> captions;  // references
  std::vector<SceneItem> items;       // boxes of named items (scenes), for the pointing game
};

struct CaptionSplits {
  std::vector<CaptionImage> train, valid, test;
  // The three with their names, "train", "valid", "test", in that order.
  std::array<std::pair<std::string, std::vector<CaptionImage>*>, 3> named() {
    return {{{"train", &train}, {"valid", &valid}, {"test", &test}}};
  }
};
// data.source "scenes": generated from Fashion-MNIST; "karpathy": the images
// of data.captions (a Karpathy split file) under data.images, loaded at
// data.image_size; unreadable images are reported by name and left out.
// data.limit caps each split. Karpathy images are loaded for `splits` only,
// on all threads, telling `progress` (when given) how far each split is.
using LoadProgress = std::function<void(const std::string& split, int64_t done, int64_t total)>;
CaptionSplits load_caption_data(const nlohmann::json& data_config,
                                const std::vector<std::string>& splits = {"train", "valid", "test"},
                                const LoadProgress& progress = nullptr);
// How image files are read for this data config (size, grey, crop).
ImageReadOptions caption_image_options(const nlohmann::json& data_config);

}  // namespace attnzoo
