#include "eval/forecast_plot.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "data/error.h"
#include "data/images.h"
#include "eval/png.h"
#include "eval/text_painter.h"

namespace attnzoo {

cv::Mat forecast_figure(const ForecastFigure& f) {
  const int l = static_cast<int>(f.history.size()), h = static_cast<int>(f.forecast.size());
  if (l == 0 || h == 0) throw UserError("forecast figure: no history or no forecast");
  const int steps = l + h;
  const int left = 70, right = 20, top = 40, plot_h = 260, gap = 36;
  const int px = std::clamp(900 / steps, 2, 12);  // pixels per step
  const int width = left + steps * px + right;
  const bool matrix = !f.attention.empty();
  const int cell_h = matrix ? std::clamp(300 / h, 1, 10) : 0;
  const int matrix_h = matrix ? h * cell_h : 0;
  const int height = top + plot_h + gap + matrix_h + (matrix ? 30 : 0);
  cv::Mat img(height, width, CV_8UC3, cv::Scalar(255, 255, 255));
  const TextPainter title(18), small(13);
  title.put(img, f.title, {left, 26}, {0, 0, 0});

  // The curves share one y range.
  double lo = 1e300, hi = -1e300;
  for (const auto* v : {&f.history, &f.truth, &f.forecast})
    for (double x : *v) {
      lo = std::min(lo, x);
      hi = std::max(hi, x);
    }
  if (hi - lo < 1e-9) hi = lo + 1.0;
  const double pad = 0.05 * (hi - lo);
  lo -= pad;
  hi += pad;
  auto y_of = [&](double v) {
    return top + static_cast<int>(std::lround((hi - v) / (hi - lo) * plot_h));
  };
  auto x_of = [&](int step) { return left + step * px + px / 2; };
  cv::rectangle(img, {left, top}, {left + steps * px, top + plot_h}, {200, 200, 200});
  for (int k = 0; k <= 4; ++k) {
    const double v = lo + (hi - lo) * k / 4.0;
    const int y = y_of(v);
    cv::line(img, {left, y}, {left + steps * px, y}, {235, 235, 235});
    small.put(img, fmt::format("{:.2f}", v), {4, y + 5}, {90, 90, 90});
  }
  const int split_x = left + l * px;
  cv::line(img, {split_x, top}, {split_x, top + plot_h}, {160, 160, 160}, 1, cv::LINE_AA);
  auto polyline = [&](const std::vector<double>& v, int first_step, cv::Scalar colour,
                      int thickness) {
    for (size_t i = 1; i < v.size(); ++i)
      cv::line(img, {x_of(first_step + static_cast<int>(i) - 1), y_of(v[i - 1])},
               {x_of(first_step + static_cast<int>(i)), y_of(v[i])}, colour, thickness,
               cv::LINE_AA);
  };
  // Joined to the last input value, so the curves continue the history.
  std::vector<double> truth = {f.history.back()}, forecast = {f.history.back()};
  truth.insert(truth.end(), f.truth.begin(), f.truth.end());
  forecast.insert(forecast.end(), f.forecast.begin(), f.forecast.end());
  polyline(f.history, 0, {60, 60, 60}, 1);
  if (f.truth.size() > 0) polyline(truth, l - 1, {60, 60, 60}, 1);
  polyline(forecast, l - 1, {40, 40, 220}, 2);
  const int legend_y = top + plot_h + 22;
  cv::line(img, {left, legend_y - 5}, {left + 24, legend_y - 5}, {60, 60, 60}, 1);
  small.put(img, "input and truth", {left + 30, legend_y}, {0, 0, 0});
  cv::line(img, {left + 160, legend_y - 5}, {left + 184, legend_y - 5}, {40, 40, 220}, 2);
  small.put(img, fmt::format("forecast ({} steps)", h), {left + 190, legend_y}, {0, 0, 0});

  if (matrix) {
    // Rows scaled to their own maximum, so every step's focus shows.
    const int y0 = top + plot_h + gap;
    cv::Mat grey(h, l, CV_8UC1);
    for (int r = 0; r < h; ++r) {
      const auto& row = f.attention[static_cast<size_t>(r)];
      const double m = std::max(1e-12, *std::max_element(row.begin(), row.end()));
      for (int c = 0; c < l; ++c)
        grey.at<uint8_t>(r, c) = static_cast<uint8_t>(std::lround(255.0 * row[c] / m));
    }
    cv::Mat coloured, big;
    cv::applyColorMap(grey, coloured, cv::COLORMAP_VIRIDIS);
    cv::resize(coloured, big, cv::Size(l * px, h * cell_h), 0, 0, cv::INTER_NEAREST);
    big.copyTo(img(cv::Rect(left, y0, l * px, h * cell_h)));
    small.put(
        img,
        "attention: output step (down) over input step (across), each row scaled to its maximum",
        {left, y0 + h * cell_h + 20}, {0, 0, 0});
    small.put(img, "h=1", {left - 40, y0 + 12}, {90, 90, 90});
    small.put(img, fmt::format("h={}", h), {left - 50, y0 + h * cell_h}, {90, 90, 90});
  }
  return img;
}

void write_forecast_figure(const std::string& png_path, const ForecastFigure& figure) {
  write_image(png_path, forecast_figure(figure));
}

}  // namespace attnzoo
