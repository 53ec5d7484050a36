#pragma once
// Figures out: a tensor image as an OpenCV one (files: write_image in
// data/images.h).
#include <torch/torch.h>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <string>

namespace attnzoo {

// A uint8 (H,W) grey or (H,W,3) RGB tensor as a BGR cv::Mat of side x side.
cv::Mat image_to_bgr(const torch::Tensor& image, int side, int interpolation = cv::INTER_AREA);

}  // namespace attnzoo
