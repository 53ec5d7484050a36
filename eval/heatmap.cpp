#include "eval/heatmap.h"

#include <fmt/format.h>

#include <fmt/ranges.h>
#include <opencv2/imgproc.hpp>

#include <algorithm>

#include "data/error.h"
#include "data/images.h"
#include "eval/png.h"
#include "eval/text_painter.h"

namespace attnzoo {

cv::Mat attention_heatmaps(const torch::Tensor& image, const std::vector<std::string>& words,
                           const torch::Tensor& attention_in, int64_t grid_h, int64_t grid_w,
                           const HeatmapOptions& o) {
  const auto attention = attention_in.detach().to(torch::kCPU, torch::kFloat).contiguous();
  if (attention.dim() != 2 || attention.size(0) != static_cast<int64_t>(words.size()) ||
      attention.size(1) != grid_h * grid_w)
    throw UserError("heatmap: attention is {} but there are {} words over a {}x{} grid",
                    fmt::join(attention.sizes(), "x"), words.size(), grid_h, grid_w);
  const cv::Mat base = image_to_bgr(image, o.panel);
  const TextPainter painter(std::max(10, o.label_height - 8));
  const int panels = static_cast<int>(words.size()) + 1;
  const int columns = std::max(1, std::min(o.columns, panels));
  const int rows = (panels + columns - 1) / columns;
  const int gap = 4;
  const int cell_h = o.panel + o.label_height + gap;
  cv::Mat figure(rows * cell_h + gap, columns * (o.panel + gap) + gap, CV_8UC3,
                 cv::Scalar(255, 255, 255));
  auto place = [&](int index, const cv::Mat& panel, const std::string& text) {
    const int r = index / columns, c = index % columns;
    const int x = gap + c * (o.panel + gap), y = gap + r * cell_h;
    panel.copyTo(figure(cv::Rect(x, y, o.panel, o.panel)));
    const cv::Size size = painter.size(text);
    painter.put(
        figure, text,
        cv::Point(x + std::max(0, (o.panel - size.width) / 2), y + o.panel + o.label_height - 6),
        cv::Scalar(0, 0, 0));
  };
  place(0, base, "");
  const double sigma = 0.5 * o.panel / static_cast<double>(std::max(grid_h, grid_w));
  for (int t = 0; t + 1 < panels; ++t) {
    const cv::Mat grid(static_cast<int>(grid_h), static_cast<int>(grid_w), CV_32FC1,
                       attention[t].data_ptr());
    cv::Mat smooth;
    cv::resize(grid, smooth, cv::Size(o.panel, o.panel), 0, 0, cv::INTER_CUBIC);
    if (o.shift_x != 0.0 || o.shift_y != 0.0) {
      const cv::Matx23d move(1, 0, o.shift_x * o.panel / static_cast<double>(grid_w), 0, 1,
                             o.shift_y * o.panel / static_cast<double>(grid_h));
      // Past the last location's centre no location looks: zero there.
      cv::warpAffine(smooth, smooth, move, smooth.size(), cv::INTER_LINEAR, cv::BORDER_CONSTANT,
                     0.0);
    }
    cv::GaussianBlur(smooth, smooth, cv::Size(0, 0), sigma);
    double lo = 0, hi = 0;
    cv::minMaxLoc(smooth, &lo, &hi);
    cv::Mat scaled, colours, panel;
    smooth.convertTo(scaled, CV_8UC1, hi > lo ? 255.0 / (hi - lo) : 0.0,
                     hi > lo ? -255.0 * lo / (hi - lo) : 0.0);
    cv::applyColorMap(scaled, colours, cv::COLORMAP_JET);
    cv::addWeighted(colours, o.blend, base, 1.0 - o.blend, 0.0, panel);
    place(t + 1, panel, words[static_cast<size_t>(t)]);
  }
  return figure;
}

void write_attention_heatmaps(const std::string& png_path, const torch::Tensor& image,
                              const std::vector<std::string>& words, const torch::Tensor& attention,
                              int64_t grid_h, int64_t grid_w, const HeatmapOptions& options) {
  write_image(png_path, attention_heatmaps(image, words, attention, grid_h, grid_w, options));
}

void write_mask_figure(const std::string& png_path, const torch::Tensor& image,
                       const std::vector<torch::Tensor>& masks, const std::vector<int64_t>& stages,
                       const HeatmapOptions& options) {
  TORCH_CHECK(masks.size() == stages.size(), "write_mask_figure: a stage per mask");
  const int64_t h = image.size(0), w = image.size(1);
  std::vector<torch::Tensor> rows;
  std::vector<std::string> labels;
  for (size_t i = 0; i < masks.size(); ++i) {
    const auto mean = masks[i].to(torch::kFloat).mean(0);  // (H, W)
    labels.push_back(fmt::format("stage {} ({:.2f}-{:.2f})", stages[i] + 1,
                                 mean.min().item<double>(), mean.max().item<double>()));
    rows.push_back(
        torch::nn::functional::interpolate(mean.unsqueeze(0).unsqueeze(0),
                                           torch::nn::functional::InterpolateFuncOptions()
                                               .size(std::vector<int64_t>{h, w})
                                               .mode(torch::kBilinear)
                                               .align_corners(false))
            .flatten());
  }
  write_attention_heatmaps(png_path, image, labels, torch::stack(rows).contiguous(), h, w, options);
}

}  // namespace attnzoo
