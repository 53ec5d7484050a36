#include "eval/alignment_plot.h"

#include <fmt/ranges.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "data/error.h"
#include "data/images.h"
#include "data/text_io.h"
#include "eval/png.h"
#include "eval/text_painter.h"

namespace attnzoo {

void plot_alignment(const torch::Tensor& weights_in, const std::vector<std::string>& source_tokens,
                    const std::vector<std::string>& output_tokens, const std::string& png_path,
                    const std::string& title) {
  const auto weights = weights_in.detach().to(torch::kCPU, torch::kFloat).contiguous();
  if (weights.dim() != 2 || weights.size(0) != static_cast<int64_t>(output_tokens.size()) ||
      weights.size(1) != static_cast<int64_t>(source_tokens.size()))
    throw UserError("alignment plot: weights are {} but there are {} output and {} source tokens",
                    fmt::format("{}", fmt::join(weights.sizes(), "x")), output_tokens.size(),
                    source_tokens.size());
  constexpr int kCell = 30, kFont = 16, kPad = 12;
  const TextPainter painter(kFont);
  int left = 0, top = 0;
  for (const auto& t : output_tokens) left = std::max(left, painter.size(t).width);
  for (const auto& t : source_tokens) top = std::max(top, painter.size(t).width);
  left += 2 * kPad;
  top += 2 * kPad;
  const int title_height = title.empty() ? 0 : kFont + 2 * kPad;
  top += title_height;
  const int rows = static_cast<int>(output_tokens.size()),
            cols = static_cast<int>(source_tokens.size());
  const int width =
      std::max(left + cols * kCell + kPad, title_height ? painter.size(title).width + 2 * kPad : 0);
  const int height = top + rows * kCell + kPad;
  cv::Mat canvas(height, width, CV_8UC3, cv::Scalar(255, 255, 255));

  // Heatmap: 0 black .. 1 white, like the paper's figure, through a perceptual colour map.
  cv::Mat cells(rows, cols, CV_8UC1);
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c)
      cells.at<uint8_t>(r, c) =
          static_cast<uint8_t>(std::clamp(weights[r][c].item<float>(), 0.0f, 1.0f) * 255);
  cv::Mat coloured, large;
  cv::applyColorMap(cells, coloured, cv::COLORMAP_VIRIDIS);
  cv::resize(coloured, large, cv::Size(cols * kCell, rows * kCell), 0, 0, cv::INTER_NEAREST);
  large.copyTo(canvas(cv::Rect(left, top, cols * kCell, rows * kCell)));

  if (!title.empty()) painter.put(canvas, title, {kPad, kPad + kFont}, cv::Scalar(0, 0, 0));
  // Output tokens, right-aligned against the matrix.
  for (int r = 0; r < rows; ++r) {
    const auto size = painter.size(output_tokens[r]);
    painter.put(canvas, output_tokens[r],
                {left - kPad / 2 - size.width, top + r * kCell + (kCell + kFont) / 2 - 2},
                cv::Scalar(0, 0, 0));
  }
  // Source tokens, written vertically above their columns: draw on a strip, rotate it.
  const int strip_height = top - title_height;
  for (int c = 0; c < cols; ++c) {
    cv::Mat strip(kCell, strip_height, CV_8UC3, cv::Scalar(255, 255, 255));
    painter.put(strip, source_tokens[c], {kPad / 2, (kCell + kFont) / 2 - 2}, cv::Scalar(0, 0, 0));
    cv::Mat rotated;
    cv::rotate(strip, rotated, cv::ROTATE_90_COUNTERCLOCKWISE);  // text reads bottom to top
    rotated.copyTo(canvas(cv::Rect(left + c * kCell, title_height, kCell, strip_height)));
  }
  write_image(png_path, canvas);
}

}  // namespace attnzoo
