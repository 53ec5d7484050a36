#include "eval/line_plot.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "data/error.h"
#include "data/images.h"
#include "eval/png.h"

namespace attnzoo {

void plot_lines(const std::vector<std::string>& x_labels, const std::vector<Series>& series,
                const std::string& title, const std::string& x_title, const std::string& y_title,
                const std::string& png_path) {
  if (x_labels.empty()) throw UserError("line plot: no x values");
  double y_max = 0.0;
  for (const auto& s : series) {
    if (s.y.size() != x_labels.size())
      throw UserError("line plot: series '{}' has {} values for {} x labels", s.name, s.y.size(),
                      x_labels.size());
    for (double v : s.y) y_max = std::max(y_max, v);
  }
  // A round upper limit: the smallest 1-2-5 step that needs at most 8 grid lines.
  double step = 1.0;
  for (double candidate : {1.0, 2.0, 5.0, 10.0, 20.0, 25.0, 50.0, 100.0, 200.0, 500.0, 1000.0}) {
    step = candidate;
    if (y_max / candidate <= 8) break;
  }
  const double top = std::max(step, std::ceil(y_max / step) * step);

  constexpr int kWidth = 760, kHeight = 460, kLeft = 70, kRight = 170, kTop = 50, kBottom = 60;
  const int plot_w = kWidth - kLeft - kRight, plot_h = kHeight - kTop - kBottom;
  cv::Mat img(kHeight, kWidth, CV_8UC3, cv::Scalar(255, 255, 255));
  const auto font = cv::FONT_HERSHEY_SIMPLEX;
  const cv::Scalar black(0, 0, 0), grid(225, 225, 225);
  auto x_at = [&](size_t i) {
    return kLeft +
           static_cast<int>(x_labels.size() == 1 ? plot_w / 2 : i * plot_w / (x_labels.size() - 1));
  };
  auto y_at = [&](double v) { return kTop + plot_h - static_cast<int>(v / top * plot_h); };

  for (double v = 0; v <= top + 1e-9; v += step) {
    cv::line(img, {kLeft, y_at(v)}, {kLeft + plot_w, y_at(v)}, grid, 1);
    const std::string label = fmt::format("{:g}", v);
    cv::putText(img, label, {kLeft - 12 - 9 * static_cast<int>(label.size()), y_at(v) + 5}, font,
                0.45, black, 1, cv::LINE_AA);
  }
  cv::rectangle(img, {kLeft, kTop}, {kLeft + plot_w, kTop + plot_h}, black, 1);
  for (size_t i = 0; i < x_labels.size(); ++i)
    cv::putText(img, x_labels[i],
                {x_at(i) - 4 * static_cast<int>(x_labels[i].size()), kTop + plot_h + 20}, font,
                0.45, black, 1, cv::LINE_AA);
  cv::putText(img, title, {kLeft, kTop - 18}, font, 0.6, black, 1, cv::LINE_AA);
  cv::putText(img, x_title,
              {kLeft + plot_w / 2 - 4 * static_cast<int>(x_title.size()), kHeight - 15}, font, 0.5,
              black, 1, cv::LINE_AA);
  cv::putText(img, y_title, {8, kTop - 18}, font, 0.5, black, 1, cv::LINE_AA);

  const cv::Scalar colours[] = {
      {180, 119, 31}, {14, 127, 255}, {44, 160, 44}, {40, 39, 214}, {189, 103, 148}};
  for (size_t s = 0; s < series.size(); ++s) {
    const auto colour = colours[s % 5];
    for (size_t i = 0; i < series[s].y.size(); ++i) {
      const cv::Point p(x_at(i), y_at(series[s].y[i]));
      cv::circle(img, p, 4, colour, cv::FILLED, cv::LINE_AA);
      if (i > 0) cv::line(img, {x_at(i - 1), y_at(series[s].y[i - 1])}, p, colour, 2, cv::LINE_AA);
    }
    const int ly = kTop + 20 + 24 * static_cast<int>(s);
    cv::line(img, {kLeft + plot_w + 15, ly - 5}, {kLeft + plot_w + 40, ly - 5}, colour, 2,
             cv::LINE_AA);
    cv::putText(img, series[s].name, {kLeft + plot_w + 46, ly}, font, 0.45, black, 1, cv::LINE_AA);
  }
  write_image(png_path, img);
}

}  // namespace attnzoo
