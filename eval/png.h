#pragma once
// Figures out: a tensor image as an OpenCV one, and PNG files (UserError
// naming the path on failure).
#include <torch/torch.h>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <string>

namespace attnzoo {

void write_png(const std::string& path, const cv::Mat& image);
// A uint8 (H,W) grey or (H,W,3) RGB tensor as a BGR cv::Mat of side x side.
cv::Mat image_to_bgr(const torch::Tensor& image, int side, int interpolation = cv::INTER_AREA);

}  // namespace attnzoo
