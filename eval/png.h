#pragma once
// Writes an OpenCV image as PNG; throws UserError naming the path on failure.
#include <opencv2/core.hpp>

#include <string>

namespace attnzoo {

void write_png(const std::string& path, const cv::Mat& image);

}  // namespace attnzoo
