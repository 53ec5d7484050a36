#include "data/augment.h"

#include <random>

#include "data/error.h"

namespace attnzoo {

AugmentOptions AugmentOptions::from_json(const nlohmann::json& a) {
  AugmentOptions o;
  o.crop_padding = a.at("crop_padding");
  o.flip = a.at("flip");
  if (o.crop_padding < 0)
    throw UserError("config: train.augment.crop_padding is {}, it must be 0 or more",
                    o.crop_padding);
  return o;
}

torch::Tensor augment_images(const torch::Tensor& images, const AugmentOptions& o, uint64_t seed) {
  TORCH_CHECK(images.dim() == 3 || images.dim() == 4, "augment_images: (B,S,S) or (B,S,S,C)");
  if (!o.any()) return images;
  const int64_t batch = images.size(0), h = images.size(1), w = images.size(2), p = o.crop_padding;
  // Pad rows and columns (dimensions 1 and 2) with black.
  const auto padded =
      p > 0 ? torch::constant_pad_nd(images.dim() == 3 ? images : images.permute({0, 3, 1, 2}),
                                     {p, p, p, p}, 0)
            : images;
  const auto hwc = p > 0 && images.dim() == 4 ? padded.permute({0, 2, 3, 1}) : padded;
  std::vector<torch::Tensor> out;
  out.reserve(static_cast<size_t>(batch));
  for (int64_t i = 0; i < batch; ++i) {
    std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(i));
    // Plain modulo rather than a std:: distribution, whose output the standard leaves open.
    const auto span = static_cast<uint64_t>(2 * p + 1);
    const auto dy = static_cast<int64_t>(rng() % span), dx = static_cast<int64_t>(rng() % span);
    const bool mirror = o.flip && (rng() & 1) != 0;
    auto image = hwc[i].narrow(0, dy, h).narrow(1, dx, w);
    out.push_back(mirror ? image.flip({1}) : image);
  }
  return torch::stack(out).contiguous();
}

}  // namespace attnzoo
