#include "eval/text_painter.h"

#include <opencv2/imgproc.hpp>

#include "data/text_io.h"

namespace attnzoo {
namespace {

const char* const kFontPaths[] = {"/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
                                  "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"};

std::string ascii(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else if ((c & 0xC0) != 0x80) {
      out.push_back('?');
    }
  }
  return out;
}

}  // namespace

TextPainter::TextPainter(int height) : height_(height) {
  for (const char* path : kFontPaths) {
    if (!file_exists(path)) continue;
    try {
      ft_ = cv::freetype::createFreeType2();
      ft_->loadFontData(path, 0);
      return;
    } catch (const cv::Exception&) {
      ft_.release();
    }
  }
}

cv::Size TextPainter::size(const std::string& text) const {
  int baseline = 0;
  if (ft_) return ft_->getTextSize(text, height_, -1, &baseline);
  return cv::getTextSize(ascii(text), cv::FONT_HERSHEY_SIMPLEX, height_ / 30.0, 1, &baseline);
}

void TextPainter::put(cv::Mat& img, const std::string& text, cv::Point origin,
                      cv::Scalar color) const {
  if (ft_) {
    ft_->putText(img, text, origin, height_, color, -1, cv::LINE_AA, true);
  } else {
    cv::putText(img, ascii(text), origin, cv::FONT_HERSHEY_SIMPLEX, height_ / 30.0, color, 1,
                cv::LINE_AA);
  }
}

}  // namespace attnzoo
