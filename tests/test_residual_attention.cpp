// The Residual Attention Network (models/residual_attention.h): shapes, the
// mask functions' ranges, attention residual learning, the mask's way back up
// on odd sizes, the mask figure.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <opencv2/imgcodecs.hpp>

#include "eval/heatmap.h"
#include "models/residual_attention.h"
#include "tests/temp_dir.h"

using namespace attnzoo;

namespace {

// Makes the mask head's last convolution output `value` everywhere, so that
// the mixed mask is sigmoid(value): 0 for -1e4, 1 for +1e4.
void force_mask(AttentionModule& m, double value) {
  torch::NoGradGuard no_grad;
  auto last = (*m->head)[5]->as<torch::nn::Conv2dImpl>();
  last->weight.zero_();
  last->bias.fill_(value);
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

}  // namespace

TEST_CASE("residual attention: mask depth per side follows the paper's 32/16/8 -> 4",
          "[residual_attention]") {
  CHECK(mask_downsamples(32) == 3);
  CHECK(mask_downsamples(16) == 2);
  CHECK(mask_downsamples(8) == 1);
  CHECK(mask_downsamples(4) == 1);
  CHECK(mask_downsamples(28) == 3);
  CHECK(mask_downsamples(60) == 4);
  CHECK(mask_downsamples(7) == 1);
}

TEST_CASE("residual attention: logits and one mask per module, each the size of its stage",
          "[residual_attention]") {
  torch::manual_seed(1);
  ResidualAttentionNet net(ResidualAttentionOptions()
                               .image_size(28)
                               .stem(8)
                               .widths({16, 32, 32})
                               .modules_per_stage({1, 2, 1}));
  const auto out = net->forward(torch::rand({3, 1, 28, 28}));
  CHECK(out.logits.sizes() == torch::IntArrayRef({3, 10}));
  REQUIRE(out.masks.size() == 4);
  CHECK(out.masks[0].sizes() == torch::IntArrayRef({3, 16, 28, 28}));
  CHECK(out.masks[1].sizes() == torch::IntArrayRef({3, 32, 14, 14}));
  CHECK(out.masks[2].sizes() == torch::IntArrayRef({3, 32, 14, 14}));
  CHECK(out.masks[3].sizes() == torch::IntArrayRef({3, 32, 7, 7}));
  for (const auto& m : out.masks) {
    CHECK(m.min().item<double>() >= 0.0);
    CHECK(m.max().item<double>() <= 1.0);
  }
  // Every parameter, the masks' included, takes part in the loss.
  torch::nn::functional::cross_entropy(out.logits, torch::tensor({0, 1, 2})).backward();
  for (const auto& p : net->named_parameters()) {
    INFO(p.key());
    REQUIRE(p.value().grad().defined());
  }

  // The plain ResNet: the same trunk, no mask branch, no masks.
  ResidualAttentionNet plain(ResidualAttentionOptions()
                                 .image_size(28)
                                 .stem(8)
                                 .widths({16, 32, 32})
                                 .modules_per_stage({1, 2, 1})
                                 .attention(MaskLearning::kNone));
  const auto plain_out = plain->forward(torch::rand({3, 1, 28, 28}));
  CHECK(plain_out.masks.empty());
  int64_t with_masks = 0, without = 0;
  for (const auto& p : net->named_parameters())
    if (p.key().find(".down") == std::string::npos && p.key().find(".up") == std::string::npos &&
        p.key().find(".skip") == std::string::npos &&
        p.key().find(".deepest") == std::string::npos && p.key().find(".head") == std::string::npos)
      with_masks += p.value().numel();
  for (const auto& p : plain->parameters()) without += p.numel();
  CHECK(with_masks == without);
}

TEST_CASE("residual attention: mask functions (mixed, channel, spatial) and their ranges",
          "[residual_attention]") {
  torch::manual_seed(2);
  const auto x = torch::randn({2, 6, 5, 7}) * 3;
  const auto mixed = AttentionModule(AttentionModuleOptions(6))->mask_function(x);
  CHECK(max_abs_diff(mixed, torch::sigmoid(x)) == 0.0);
  const auto channel =
      AttentionModule(AttentionModuleOptions(6).mask(MaskKind::kChannel))->mask_function(x);
  // Unit L2 norm over the channels at every location: spatial information gone.
  CHECK(max_abs_diff(channel.pow(2).sum(1), torch::ones({2, 5, 7})) < 1e-5);
  const auto spatial =
      AttentionModule(AttentionModuleOptions(6).mask(MaskKind::kSpatial))->mask_function(x);
  CHECK(spatial.min().item<double>() > 0.0);
  CHECK(spatial.max().item<double>() < 1.0);
  // Standardised per image and channel: the order of locations kept, the mean logit 0.
  const auto logits = torch::logit(spatial.flatten(2));
  CHECK(logits.mean(2).abs().max().item<double>() < 1e-3);
  CHECK(torch::equal(std::get<1>(spatial.flatten(2).sort(2)), std::get<1>(x.flatten(2).sort(2))));
  CHECK_THROWS_WITH(parse_choice(std::string("soft"), "mask", mask_kinds()),
                    "mask: \"soft\" is not one of mixed, channel, spatial");
}

TEST_CASE("residual attention: ARL with M = 0 is the trunk alone, with M = 1 twice it, NAL erases",
          "[residual_attention]") {
  torch::manual_seed(3);
  AttentionModule arl(AttentionModuleOptions(8).p(1).t(2).r(1).downsamples(2));
  arl->eval();
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({2, 8, 12, 12});
  const auto trunk = arl->trunk->forward(arl->before->forward(x));
  const double scale = trunk.abs().max().item<double>();

  force_mask(arl, -1e4);
  auto out = arl->forward(x);
  CHECK(out.mask.abs().max().item<double>() == 0.0);
  CHECK(max_abs_diff(out.features, arl->after->forward(trunk)) <= 1e-6 * scale);

  force_mask(arl, 1e4);
  out = arl->forward(x);
  CHECK(max_abs_diff(out.features, arl->after->forward(2 * trunk)) <= 1e-6 * scale);

  AttentionModule nal(
      AttentionModuleOptions(8).p(1).t(2).r(1).downsamples(2).attention(MaskLearning::kNaive));
  nal->eval();
  force_mask(nal, -1e4);
  out = nal->forward(x);
  CHECK(max_abs_diff(out.features, nal->after->forward(torch::zeros_like(trunk))) == 0.0);
}

TEST_CASE("residual attention: the mask's way up restores odd and non-square sizes",
          "[residual_attention]") {
  torch::manual_seed(4);
  for (const auto& [h, w, depth] : std::vector<std::tuple<int64_t, int64_t, int64_t>>{
           {7, 7, 2}, {15, 15, 3}, {9, 13, 3}, {5, 6, 1}, {1, 3, 2}}) {
    INFO(h << "x" << w << ", " << depth << " poolings");
    AttentionModule m(AttentionModuleOptions(4).downsamples(depth));
    const auto x = torch::randn({2, 4, h, w});
    const auto out = m->forward(x);
    CHECK(out.mask.sizes() == x.sizes());
    CHECK(out.features.sizes() == x.sizes());
  }
}

TEST_CASE("residual attention: the mask figure puts each module's mask over the image",
          "[residual_attention]") {
  // One module whose mask is high on the left half, one high on the bottom half.
  auto left = torch::zeros({2, 7, 7});
  left.slice(2, 0, 3).fill_(1.0);
  auto bottom = torch::zeros({4, 4, 4});
  bottom.slice(1, 2, 4).fill_(0.9);
  const auto image = torch::full({28, 28}, 128, torch::kUInt8);
  const auto path = (attnzoo::testing::scratch_dir() / "masks.png").string();
  HeatmapOptions o;
  write_mask_figure(path, image, {left, bottom}, {0, 1}, o);
  const cv::Mat figure = cv::imread(path);
  REQUIRE(!figure.empty());
  const int gap = 4;
  CHECK(figure.cols == 3 * (o.panel + gap) + gap);  // the image and two panels
  // JET: high is red, low is blue (BGR).
  auto pixel = [&](int panel, double fx, double fy) {
    return figure.at<cv::Vec3b>(gap + static_cast<int>(fy * o.panel),
                                gap + panel * (o.panel + gap) + static_cast<int>(fx * o.panel));
  };
  CHECK(pixel(1, 0.15, 0.5)[2] > pixel(1, 0.15, 0.5)[0]);
  CHECK(pixel(1, 0.85, 0.5)[0] > pixel(1, 0.85, 0.5)[2]);
  CHECK(pixel(2, 0.5, 0.85)[2] > pixel(2, 0.5, 0.85)[0]);
  CHECK(pixel(2, 0.5, 0.15)[0] > pixel(2, 0.5, 0.15)[2]);
  CHECK_THROWS(write_mask_figure(path, image, {left}, {0, 1}, o));
}
