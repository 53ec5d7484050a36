#pragma once
// Where a captioner looked: one figure per caption, the image first, then one
// panel per generated word with that step's attention map (grid h x w over the
// image) upsampled smoothly (bicubic, then a Gaussian blur), drawn as a colour
// map blended over the image, with the word written under the panel.
#include <torch/torch.h>

#include <opencv2/core.hpp>

#include <string>
#include <vector>

namespace attnzoo {

struct HeatmapOptions {
  int panel = 160;        // side of each panel, pixels
  int label_height = 24;  // strip under each panel for its word
  int columns = 5;
  double blend = 0.55;  // weight of the colour map over the image
  // Where each location looks, from the centre of its cell, in cells (a
  // CaptionResult's shift_x, shift_y): the maps are moved by as much.
  double shift_x = 0.0, shift_y = 0.0;
};

// image: (H,W) or (H,W,3) uint8 (RGB). attention: (T, h*w), one row per word.
cv::Mat attention_heatmaps(const torch::Tensor& image, const std::vector<std::string>& words,
                           const torch::Tensor& attention, int64_t grid_h, int64_t grid_w,
                           const HeatmapOptions& options = {});

void write_attention_heatmaps(const std::string& png_path, const torch::Tensor& image,
                              const std::vector<std::string>& words, const torch::Tensor& attention,
                              int64_t grid_h, int64_t grid_w, const HeatmapOptions& options = {});

// Where a Residual Attention Network's modules attend, for one image: the
// image, then one panel per module with its mask M(x) averaged over the
// channels and upsampled to the image, labelled with the module's stage and
// the mask's range (each panel's colours span its own range).
// image: (S,S) or (S,S,3) uint8; masks: per module (C,H,W); stages: per module, from 0.
void write_mask_figure(const std::string& png_path, const torch::Tensor& image,
                       const std::vector<torch::Tensor>& masks, const std::vector<int64_t>& stages,
                       const HeatmapOptions& options = {});

}  // namespace attnzoo
