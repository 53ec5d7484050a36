#include "eval/png.h"

#include <fmt/ranges.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "data/error.h"

namespace attnzoo {

cv::Mat image_to_bgr(const torch::Tensor& image, int side, int interpolation) {
  const auto img = image.to(torch::kCPU, torch::kUInt8).contiguous();
  cv::Mat bgr;
  if (img.dim() == 2) {
    const cv::Mat gray(static_cast<int>(img.size(0)), static_cast<int>(img.size(1)), CV_8UC1,
                       img.data_ptr());
    cv::cvtColor(gray, bgr, cv::COLOR_GRAY2BGR);
  } else if (img.dim() == 3 && img.size(2) == 3) {
    const cv::Mat rgb(static_cast<int>(img.size(0)), static_cast<int>(img.size(1)), CV_8UC3,
                      img.data_ptr());
    cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  } else {
    throw UserError("image: the image must be (H,W) or (H,W,3), got {}",
                    fmt::join(img.sizes(), "x"));
  }
  cv::Mat out;
  cv::resize(bgr, out, cv::Size(side, side), 0, 0, interpolation);
  return out;
}

}  // namespace attnzoo
