#include "eval/png.h"

#include <opencv2/imgcodecs.hpp>

#include "data/error.h"

namespace attnzoo {

void write_png(const std::string& path, const cv::Mat& image) {
  bool ok = false;
  try {
    ok = cv::imwrite(path, image);
  } catch (const cv::Exception&) {
  }
  if (!ok) throw UserError("{}: cannot write the image", path);
}

}  // namespace attnzoo
