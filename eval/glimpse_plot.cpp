#include "eval/glimpse_plot.h"

#include <fmt/ranges.h>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>

#include "data/error.h"
#include "data/images.h"
#include "eval/png.h"
#include "eval/text_painter.h"

namespace attnzoo {

double location_to_pixel(double location, double pixels) { return (location + 1.0) * 0.5 * pixels; }

cv::Mat glimpse_path_figure(const torch::Tensor& image, const torch::Tensor& locations_in,
                            const std::vector<int64_t>& sides, const std::string& title, int side) {
  if (image.dim() != 2 && !(image.dim() == 3 && image.size(2) == 3))
    throw UserError("glimpse plot: the image must be (S,S) or (S,S,3), got {}",
                    fmt::join(image.sizes(), "x"));
  const auto locations = locations_in.detach().to(torch::kCPU, torch::kDouble).contiguous();
  if (locations.dim() != 2 || locations.size(1) != 2)
    throw UserError("glimpse plot: locations must be (G,2), got {}",
                    fmt::join(locations.sizes(), "x"));
  const double pixels = static_cast<double>(image.size(1));
  const double f = static_cast<double>(side) / pixels;  // figure pixels per image pixel
  const int header = 30;
  cv::Mat figure(side + header, side, CV_8UC3, cv::Scalar(255, 255, 255));
  // Drawing on a view of the image area clips boxes that reach past the image.
  cv::Mat canvas = figure(cv::Rect(0, header, side, side));
  image_to_bgr(image, side, cv::INTER_NEAREST).copyTo(canvas);
  const TextPainter title_painter(18), number_painter(14);
  title_painter.put(figure, title, cv::Point(6, header - 8), cv::Scalar(0, 0, 0));

  const int64_t glimpses = locations.size(0);
  auto colour = [&](int64_t t) {  // blue (first) to red (last), BGR
    const double a =
        glimpses > 1 ? static_cast<double>(t) / static_cast<double>(glimpses - 1) : 1.0;
    return cv::Scalar(255.0 * (1.0 - a), 80.0, 255.0 * a);
  };
  auto centre = [&](int64_t t) {
    return cv::Point2d(location_to_pixel(locations[t][0].item<double>(), pixels) * f,
                       location_to_pixel(locations[t][1].item<double>(), pixels) * f);
  };
  for (int64_t t = 0; t < glimpses; ++t) {
    const cv::Point2d c = centre(t);
    for (size_t k = 0; k < sides.size(); ++k) {
      const double half = 0.5 * static_cast<double>(sides[k]) * f;
      cv::rectangle(canvas,
                    cv::Point(static_cast<int>(std::lround(c.x - half)),
                              static_cast<int>(std::lround(c.y - half))),
                    cv::Point(static_cast<int>(std::lround(c.x + half)),
                              static_cast<int>(std::lround(c.y + half))),
                    colour(t), k == 0 ? 2 : 1, cv::LINE_AA);
    }
    if (t > 0) cv::line(canvas, centre(t - 1), c, colour(t), 2, cv::LINE_AA);
  }
  for (int64_t t = 0; t < glimpses; ++t) {  // numbers last, on top of every line
    const cv::Point2d c = centre(t);
    const std::string number = std::to_string(t + 1);
    const cv::Size size = number_painter.size(number);
    const cv::Point origin(static_cast<int>(c.x) - size.width / 2,
                           static_cast<int>(c.y) + size.height / 2);
    cv::rectangle(
        canvas, cv::Rect(origin.x - 2, origin.y - size.height - 2, size.width + 4, size.height + 4),
        cv::Scalar(255, 255, 255), cv::FILLED);
    number_painter.put(canvas, number, origin, colour(t));
  }
  return figure;
}

void write_glimpse_path(const std::string& png_path, const torch::Tensor& image,
                        const torch::Tensor& locations, const std::vector<int64_t>& sides,
                        const std::string& title, int side) {
  write_image(png_path, glimpse_path_figure(image, locations, sides, title, side));
}

}  // namespace attnzoo
