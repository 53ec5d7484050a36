#pragma once
// The images the glimpse classifiers learn from and are scored on:
// Fashion-MNIST items placed on canvases (data/canvas.h) per a glimpse
// config's "data" section.
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "data/canvas.h"

namespace attnzoo {

// Images (N,S,S) uint8 and labels (N) of each split: training items
// 0 .. 60000-valid_size-1 of Fashion-MNIST's training set, validation the
// rest of it, test its test set; each placed on data.canvas with data.clutter.
struct GlimpseSplits {
  CanvasSet train, valid, test;
};
GlimpseSplits load_glimpse_data(const nlohmann::json& data_config,
                                const std::vector<std::string>& splits = {"train", "valid",
                                                                          "test"});
CanvasOptions canvas_options(const nlohmann::json& data_config);

}  // namespace attnzoo
