#pragma once
// Text on OpenCV images: FreeType with DejaVu Sans (fonts-dejavu-core) where
// the font exists, else OpenCV's Hershey font (ASCII only; other characters
// become '?').
#include <opencv2/core.hpp>
#include <opencv2/freetype.hpp>

#include <string>

namespace attnzoo {

class TextPainter {
 public:
  explicit TextPainter(int height);
  cv::Size size(const std::string& text) const;
  // `origin` is the bottom-left corner of the text.
  void put(cv::Mat& img, const std::string& text, cv::Point origin, cv::Scalar color) const;

 private:
  int height_;
  cv::Ptr<cv::freetype::FreeType2> ft_;
};

}  // namespace attnzoo
