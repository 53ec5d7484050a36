#include "models/residual_attention.h"

#include <algorithm>
#include <string>

namespace attnzoo {

const Choices<MaskKind>& mask_kinds() {
  static const Choices<MaskKind> kinds = {{"mixed", MaskKind::kMixed},
                                          {"channel", MaskKind::kChannel},
                                          {"spatial", MaskKind::kSpatial}};
  return kinds;
}

const Choices<MaskLearning>& mask_learnings() {
  static const Choices<MaskLearning> learnings = {{"arl", MaskLearning::kResidual},
                                                  {"nal", MaskLearning::kNaive},
                                                  {"none", MaskLearning::kNone}};
  return learnings;
}

namespace F = torch::nn::functional;

namespace {

torch::nn::Conv2d conv(int64_t in, int64_t out, int64_t kernel, int64_t stride = 1) {
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(kernel / 2).bias(false));
}

// n units of `channels` channels; an empty Sequential for n = 0.
torch::nn::Sequential units(int64_t channels, int64_t n) {
  torch::nn::Sequential s;
  for (int64_t i = 0; i < n; ++i) s->push_back(PreActUnit(channels, channels));
  return s;
}

// Sequential's forward refuses an empty one: here it is the identity.
torch::Tensor run(torch::nn::Sequential& s, const torch::Tensor& x) {
  return s->is_empty() ? x : s->forward(x);
}

torch::Tensor resize(const torch::Tensor& x, const torch::Tensor& like) {
  return F::interpolate(x, F::InterpolateFuncOptions()
                               .size(std::vector<int64_t>{like.size(2), like.size(3)})
                               .mode(torch::kBilinear)
                               .align_corners(false));
}

// Max-pooling by 2 that keeps odd sides: ceil(S / 2).
torch::Tensor pool(const torch::Tensor& x) {
  return F::max_pool2d(x, F::MaxPool2dFuncOptions(3).stride(2).padding(1));
}

}  // namespace

// ----------------------------------------------------------------------------

PreActUnitImpl::PreActUnitImpl(int64_t in, int64_t out, int64_t stride) {
  TORCH_CHECK(in > 0 && out > 0 && stride > 0, "PreActUnit: sizes must be positive");
  const int64_t mid = std::max<int64_t>(1, out / 4);
  bn1 = register_module("bn1", torch::nn::BatchNorm2d(in));
  conv1 = register_module("conv1", conv(in, mid, 1));
  bn2 = register_module("bn2", torch::nn::BatchNorm2d(mid));
  conv2 = register_module("conv2", conv(mid, mid, 3, stride));
  bn3 = register_module("bn3", torch::nn::BatchNorm2d(mid));
  conv3 = register_module("conv3", conv(mid, out, 1));
  if (in != out || stride != 1) project = register_module("project", conv(in, out, 1, stride));
}

torch::Tensor PreActUnitImpl::forward(const torch::Tensor& x) {
  const auto a = torch::relu(bn1(x));
  auto y = conv1(a);
  y = conv2(torch::relu(bn2(y)));
  y = conv3(torch::relu(bn3(y)));
  return y + (project ? project(a) : x);
}

// ----------------------------------------------------------------------------

int64_t mask_downsamples(int64_t side) {
  int64_t n = 0;
  for (int64_t s = (side + 1) / 2; s >= 4; s = (s + 1) / 2) ++n;
  return std::max<int64_t>(1, n);
}

AttentionModuleImpl::AttentionModuleImpl(AttentionModuleOptions options_)
    : options(std::move(options_)) {
  const auto& o = options;
  const int64_t c = o.channels();
  TORCH_CHECK(c > 0 && o.p() >= 0 && o.t() >= 1 && o.r() >= 1 && o.downsamples() >= 1,
              "AttentionModule: needs channels, t, r, downsamples >= 1 and p >= 0");
  before = register_module("before", units(c, o.p()));
  trunk = register_module("trunk", units(c, o.t()));
  after = register_module("after", units(c, o.p()));
  if (o.attention() == MaskLearning::kNone) return;
  for (int64_t level = 0; level < o.downsamples(); ++level) {
    const auto n = std::to_string(level);
    down.push_back(register_module("down" + n, units(c, o.r())));
    if (level + 1 < o.downsamples()) {
      skip.push_back(register_module("skip" + n, PreActUnit(c, c)));
      up.push_back(register_module("up" + n, units(c, o.r())));
    }
  }
  deepest = register_module("deepest", units(c, o.r()));
  head = register_module(
      "head",
      torch::nn::Sequential(torch::nn::BatchNorm2d(c), torch::nn::ReLU(),
                            torch::nn::Conv2d(torch::nn::Conv2dOptions(c, c, 1).bias(false)),
                            torch::nn::BatchNorm2d(c), torch::nn::ReLU(),
                            torch::nn::Conv2d(torch::nn::Conv2dOptions(c, c, 1))));
}

torch::Tensor AttentionModuleImpl::mask_function(const torch::Tensor& x) const {
  if (options.mask() == MaskKind::kChannel)
    return F::normalize(x, F::NormalizeFuncOptions().dim(1));
  if (options.mask() == MaskKind::kSpatial) {
    const auto flat = x.flatten(2);  // (B, C, H*W)
    const auto mean = flat.mean(2, /*keepdim=*/true);
    const auto std = flat.std(2, /*unbiased=*/false, /*keepdim=*/true);
    return torch::sigmoid((flat - mean) / (std + 1e-5)).view_as(x);
  }
  return torch::sigmoid(x);
}

torch::Tensor AttentionModuleImpl::mask_branch(const torch::Tensor& x) {
  // Down: the input of each pooling is kept, to size the way back up.
  std::vector<torch::Tensor> sizes{x}, skips;
  auto m = x;
  const int64_t levels = options.downsamples();
  for (int64_t level = 0; level < levels; ++level) {
    m = run(down[level], pool(m));
    if (level + 1 < levels) {
      skips.push_back(skip[level]->forward(m));
      sizes.push_back(m);
    }
  }
  m = run(deepest, m);
  // Up: to each shallower level's size, plus its skip, then its units.
  for (int64_t level = levels - 2; level >= 0; --level) {
    m = resize(m, sizes[level + 1]) + skips[level];
    m = run(up[level], m);
  }
  return mask_function(head->forward(resize(m, x)));
}

AttentionModuleOutput AttentionModuleImpl::forward(const torch::Tensor& input) {
  const auto x = run(before, input);
  const auto t = run(trunk, x);
  AttentionModuleOutput out;
  if (options.attention() == MaskLearning::kNone) {
    out.features = run(after, t);
    return out;
  }
  out.mask = mask_branch(x);
  out.features = run(
      after, options.attention() == MaskLearning::kResidual ? (1 + out.mask) * t : out.mask * t);
  return out;
}

// ----------------------------------------------------------------------------

ResidualAttentionNetImpl::ResidualAttentionNetImpl(ResidualAttentionOptions options_)
    : options(std::move(options_)) {
  const auto& o = options;
  TORCH_CHECK(!o.widths().empty() && o.widths().size() == o.modules_per_stage().size(),
              "ResidualAttentionNet: widths and modules_per_stage need one entry per stage");
  TORCH_CHECK(o.stem_stride() == 1 || o.stem_stride() == 2,
              "ResidualAttentionNet: stem_stride must be 1 or 2");
  stem = register_module("stem", conv(o.channels(), o.stem(), 3, o.stem_stride()));
  transitions = register_module("transitions", torch::nn::ModuleList());
  blocks = register_module("blocks", torch::nn::ModuleList());
  int64_t in = o.stem(), side = o.stem_stride() == 2 ? (o.image_size() + 1) / 2 : o.image_size();
  for (size_t s = 0; s < o.widths().size(); ++s) {
    const int64_t stride = s == 0 ? 1 : 2;
    if (stride == 2) side = (side + 1) / 2;
    transitions->push_back(PreActUnit(in, o.widths()[s], stride));
    in = o.widths()[s];
    for (int64_t k = 0; k < o.modules_per_stage()[s]; ++k) {
      blocks->push_back(AttentionModule(AttentionModuleOptions(in)
                                            .p(o.p())
                                            .t(o.t())
                                            .r(o.r())
                                            .downsamples(mask_downsamples(side))
                                            .mask(o.mask())
                                            .attention(o.attention())));
      stage_of_block.push_back(static_cast<int64_t>(s));
    }
  }
  final_bn = register_module("final_bn", torch::nn::BatchNorm2d(in));
  classifier = register_module("classifier", torch::nn::Linear(in, o.classes()));
}

ResidualAttentionOutput ResidualAttentionNetImpl::forward(const torch::Tensor& images) {
  ResidualAttentionOutput out;
  auto x = stem(images);
  size_t block = 0;
  for (size_t s = 0; s < transitions->size(); ++s) {
    x = transitions[s]->as<PreActUnitImpl>()->forward(x);
    for (; block < stage_of_block.size() && stage_of_block[block] == static_cast<int64_t>(s);
         ++block) {
      auto m = blocks[block]->as<AttentionModuleImpl>()->forward(x);
      x = m.features;
      if (m.mask.defined()) out.masks.push_back(m.mask);
    }
  }
  x = torch::relu(final_bn(x));
  out.logits = classifier(x.mean({2, 3}));
  return out;
}

}  // namespace attnzoo
