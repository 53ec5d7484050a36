#include "eval/glimpse_metrics.h"

namespace attnzoo {

namespace {

// Location -1 is the canvas's left (top) edge and +1 its right (bottom) edge:
// pixel p covers [p, p + 1) in these pixel units.
torch::Tensor location_pixels(const torch::Tensor& locations, int64_t side) {
  return (locations + 1.0) * (0.5 * static_cast<double>(side));
}

}  // namespace

torch::Tensor on_item(const torch::Tensor& locations, const torch::Tensor& places, int64_t side) {
  const auto pixel = location_pixels(locations, side);
  const auto corner = places.to(pixel.scalar_type()).unsqueeze(1);  // (B,1,2)
  return ((pixel >= corner) & (pixel < corner + 28.0)).all(-1);
}

torch::Tensor follows_item(const torch::Tensor& locations, const torch::Tensor& places,
                           int64_t side) {
  const auto pixel = location_pixels(locations, side).to(torch::kDouble);  // (B,G,2)
  const auto item = places.to(torch::kDouble).unsqueeze(1);                // (B,1,2)
  const auto item_offset = item - item.mean(0, true);
  const auto variance = item_offset.pow(2).sum(0);  // (1,2)
  if ((variance <= 0).any().item<bool>()) return {};
  const auto covariance = ((pixel - pixel.mean(0, true)) * item_offset).sum(0);  // (G,2)
  return (covariance / variance).mean(-1);
}

}  // namespace attnzoo
