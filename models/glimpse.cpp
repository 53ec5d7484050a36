#include "models/glimpse.h"

#include <cmath>

#include "data/config_checks.h"
#include "data/error.h"
#include "models/reinforce.h"

namespace attnzoo {

namespace F = torch::nn::functional;

int64_t glimpse_side(const GlimpseSensorOptions& o, int64_t scale) {
  int64_t side = o.patch;
  for (int64_t k = 0; k < scale; ++k) side *= o.zoom;
  return side;
}

torch::Tensor glimpse_sensor(const torch::Tensor& images, const torch::Tensor& locations,
                             const GlimpseSensorOptions& o) {
  TORCH_CHECK(images.dim() == 4, "glimpse_sensor: images must be (B,C,H,W)");
  TORCH_CHECK(locations.dim() == 2 && locations.size(1) == 2 && locations.size(0) == images.size(0),
              "glimpse_sensor: locations must be (B,2)");
  const int64_t batch = images.size(0), channels = images.size(1);
  const double height = static_cast<double>(images.size(2)),
               width = static_cast<double>(images.size(3));
  std::vector<torch::Tensor> patches;
  for (int64_t k = 0; k < o.scales; ++k) {
    const int64_t side = glimpse_side(o, k);
    // An affine map from the patch's own [-1,1] square to the image's: scaled
    // to side pixels and centred on the location, so that with align_corners
    // false the side x side samples fall one pixel apart.
    auto theta = torch::zeros({batch, 2, 3}, images.options());
    theta.select(1, 0).select(1, 0).fill_(static_cast<double>(side) / width);
    theta.select(1, 1).select(1, 1).fill_(static_cast<double>(side) / height);
    theta.select(2, 2).copy_(locations.to(images.scalar_type()));
    const auto grid = F::affine_grid(theta, {batch, channels, side, side}, /*align_corners=*/false);
    auto patch = F::grid_sample(images, grid,
                                F::GridSampleFuncOptions()
                                    .mode(torch::kBilinear)
                                    .padding_mode(torch::kZeros)
                                    .align_corners(false));
    if (side > o.patch) patch = F::avg_pool2d(patch, F::AvgPool2dFuncOptions(side / o.patch));
    patches.push_back(patch);
  }
  return torch::cat(patches, 1);
}

torch::Tensor gaussian_log_prob(const torch::Tensor& x, const torch::Tensor& mean, double std) {
  const double log_norm = std::log(std) + 0.5 * std::log(2.0 * M_PI);
  return (-(x - mean).pow(2) / (2.0 * std * std) - log_norm).sum(-1);
}

const Choices<GlimpseCore>& glimpse_cores() {
  static const Choices<GlimpseCore> cores = {{"rnn", GlimpseCore::kRnn},
                                             {"lstm", GlimpseCore::kLstm}};
  return cores;
}

const Choices<GlimpseKind>& glimpse_kinds() {
  static const Choices<GlimpseKind> kinds = {
      {"ram", GlimpseKind::kRam},
      {"residual-attention", GlimpseKind::kResidualAttention},
      {"resnet", GlimpseKind::kResnet},
      {"cnn", GlimpseKind::kCnn},
      {"mlp", GlimpseKind::kMlp}};
  return kinds;
}

RecurrentAttentionModelImpl::RecurrentAttentionModelImpl(RamOptions o) : options(std::move(o)) {
  if (options.glimpses() < 1)
    throw UserError("config: model.glimpses {} must be at least 1", options.glimpses());
  if (options.patch() < 1 || options.scales() < 1 || options.zoom() < 1)
    throw UserError("config: model.patch, model.scales and model.zoom must be at least 1");
  if (options.location_std() <= 0) throw UserError("config: model.location_std must be positive");
  const int64_t retina = options.scales() * options.channels() * options.patch() * options.patch();
  patch_in = register_module("patch_in", torch::nn::Linear(retina, options.glimpse_hidden()));
  location_in = register_module("location_in", torch::nn::Linear(2, options.location_hidden()));
  glimpse_out =
      register_module("glimpse_out", torch::nn::Linear(options.glimpse_hidden(), options.hidden()));
  location_out = register_module("location_out",
                                 torch::nn::Linear(options.location_hidden(), options.hidden()));
  if (options.core() == GlimpseCore::kRnn) {
    core_h = register_module("core_h", torch::nn::Linear(options.hidden(), options.hidden()));
    core_g = register_module("core_g", torch::nn::Linear(options.hidden(), options.hidden()));
  } else {
    core_lstm =
        register_module("core_lstm", torch::nn::LSTMCell(options.hidden(), options.hidden()));
  }
  policy = register_module("policy", torch::nn::Linear(options.hidden(), 2));
  baseline = register_module("baseline", torch::nn::Linear(options.hidden(), 1));
  classifier =
      register_module("classifier", torch::nn::Linear(options.hidden(), options.classes()));
}

GlimpseSensorOptions RecurrentAttentionModelImpl::sensor() const {
  return {options.patch(), options.scales(), options.zoom()};
}

RamOutput RecurrentAttentionModelImpl::forward(const torch::Tensor& images, bool sample) {
  const int64_t batch = images.size(0);
  auto h = torch::zeros({batch, options.hidden()}, images.options());
  auto c = torch::zeros_like(h);
  std::vector<torch::Tensor> locations, log_probs, baselines;
  const auto retina = sensor();
  for (int64_t t = 0; t < options.glimpses(); ++t) {
    const auto state = h.detach();
    const auto mean = torch::tanh(policy(options.policy_reaches_core() ? h : state));
    baselines.push_back(baseline(state).squeeze(-1));
    auto where = mean.detach();
    if (sample) {
      where = where + options.location_std() * torch::randn_like(where);
      log_probs.push_back(gaussian_log_prob(where, mean, options.location_std()));
    }
    // The sensor cannot look outside the image: the sample is clamped there
    // (part of the environment; the policy's density is of the unclamped sample).
    where = where.clamp(-1.0, 1.0);
    locations.push_back(where);
    const auto rho = glimpse_sensor(images, where, retina).flatten(1);
    const auto g = torch::relu(glimpse_out(torch::relu(patch_in(rho))) +
                               location_out(torch::relu(location_in(where))));
    if (options.core() == GlimpseCore::kRnn) {
      h = torch::relu(core_h(h) + core_g(g));
    } else {
      std::tie(h, c) = core_lstm(g, std::make_tuple(h, c));
    }
  }
  RamOutput out;
  out.logits = classifier(h);
  out.locations = torch::stack(locations, 1);
  out.baselines = torch::stack(baselines, 1);
  if (sample) out.log_probs = torch::stack(log_probs, 1);
  return out;
}

ConvNetImpl::ConvNetImpl(ConvNetOptions o) : options(std::move(o)) {
  if (options.image_size() % 4 != 0)
    throw UserError("config: a cnn needs an image side divisible by 4");
  namespace nn = torch::nn;
  conv1 = register_module(
      "conv1", nn::Conv2d(nn::Conv2dOptions(options.channels(), options.conv1(), 5).padding(2)));
  conv2 = register_module(
      "conv2", nn::Conv2d(nn::Conv2dOptions(options.conv1(), options.conv2(), 5).padding(2)));
  const int64_t side = options.image_size() / 4;
  hidden = register_module("hidden", nn::Linear(options.conv2() * side * side, options.hidden()));
  out = register_module("out", nn::Linear(options.hidden(), options.classes()));
}

torch::Tensor ConvNetImpl::forward(const torch::Tensor& x) {
  auto y = F::max_pool2d(torch::relu(conv1(x)), F::MaxPool2dFuncOptions(2));
  y = F::max_pool2d(torch::relu(conv2(y)), F::MaxPool2dFuncOptions(2));
  return out(torch::relu(hidden(y.flatten(1))));
}

MlpImpl::MlpImpl(MlpOptions o) : options(std::move(o)) {
  fc1 = register_module("fc1", torch::nn::Linear(options.inputs(), options.hidden()));
  fc2 = register_module("fc2", torch::nn::Linear(options.hidden(), options.hidden()));
  out = register_module("out", torch::nn::Linear(options.hidden(), options.classes()));
}

torch::Tensor MlpImpl::forward(const torch::Tensor& x) {
  return out(torch::relu(fc2(torch::relu(fc1(x.flatten(1))))));
}

namespace {

// model.residual_attention, checked; `plain`: without the mask branches (resnet).
ResidualAttentionOptions residual_attention_options(const nlohmann::json& r, int64_t side,
                                                    bool plain) {
  const std::string where = "model.residual_attention";
  require_at_least(r, where, {"stem", "t", "r"}, 1);
  require_at_least(r, where, {"p"}, 0);
  auto sizes = [&](const char* key, int64_t min) {
    const auto& list = r.at(key);
    if (!list.is_array() || list.empty())
      throw UserError("config: {}.{} must be a list of numbers, one per stage", where, key);
    std::vector<int64_t> out;
    for (const auto& v : list) {
      if (!v.is_number_integer() || v.get<int64_t>() < min)
        throw UserError("config: {}.{} must hold whole numbers of at least {} (got {})", where, key,
                        min, list.dump());
      out.push_back(v.get<int64_t>());
    }
    return out;
  };
  const auto widths = sizes("widths", 1);
  const auto modules = sizes("modules_per_stage", 0);
  if (widths.size() != modules.size())
    throw UserError("config: {}.widths and .modules_per_stage need one entry per stage ({} and {})",
                    where, widths.size(), modules.size());
  const int64_t stem_stride = r.at("stem_stride");
  if (stem_stride != 1 && stem_stride != 2)
    throw UserError("config: {}.stem_stride is {}, it must be 1 or 2", where, stem_stride);
  const auto mask = parse_choice(r.at("mask"), where + ".mask", mask_kinds());
  const auto attention = parse_choice(r.at("attention"), where + ".attention", mask_learnings());
  if (attention == MaskLearning::kNone)
    throw UserError(
        "config: {}.attention \"none\": the network without masks is model.kind resnet; "
        "here it is arl or nal",
        where);
  return ResidualAttentionOptions()
      .image_size(side)
      .stem(r.at("stem"))
      .stem_stride(stem_stride)
      .widths(widths)
      .modules_per_stage(modules)
      .p(r.at("p"))
      .t(r.at("t"))
      .r(r.at("r"))
      .mask(mask)
      .attention(plain ? MaskLearning::kNone : attention);
}

}  // namespace

GlimpseNetOptions GlimpseNetOptions::from_json(const nlohmann::json& m, int64_t side,
                                               int64_t channels) {
  require_at_least(m, "model",
                   {"glimpses", "patch", "scales", "glimpse_hidden", "location_hidden", "hidden"},
                   1);
  require_at_least(m, "model", {"zoom"}, 1);
  require_at_least(m, "model", {"location_std"}, 0);
  require_at_least(m.at("cnn"), "model.cnn", {"conv1", "conv2", "hidden"}, 1);
  require_at_least(m.at("mlp"), "model.mlp", {"hidden"}, 1);
  GlimpseNetOptions o;
  o.kind(parse_choice(m.at("kind"), "model.kind", glimpse_kinds()));
  if (o.kind() == GlimpseKind::kRam && m.at("patch").get<int64_t>() > side)
    throw UserError(
        "config: model.patch {} is wider than the {}-pixel images: a glimpse pools at most the "
        "whole image (model.patch {} or less)",
        m.at("patch").get<int64_t>(), side, side);
  o.residual(
      residual_attention_options(m.at("residual_attention"), side, o.kind() == GlimpseKind::kResnet)
          .channels(channels));
  o.ram(RamOptions()
            .channels(channels)
            .glimpses(m.at("glimpses"))
            .patch(m.at("patch"))
            .scales(m.at("scales"))
            .zoom(m.at("zoom"))
            .glimpse_hidden(m.at("glimpse_hidden"))
            .location_hidden(m.at("location_hidden"))
            .hidden(m.at("hidden"))
            .core(parse_choice(m.at("core"), "model.core", glimpse_cores()))
            .location_std(m.at("location_std"))
            .policy_reaches_core(m.at("policy_reaches_core")));
  const auto& c = m.at("cnn");
  o.cnn(ConvNetOptions()
            .image_size(side)
            .channels(channels)
            .conv1(c.at("conv1"))
            .conv2(c.at("conv2"))
            .hidden(c.at("hidden")));
  o.mlp(MlpOptions().inputs(channels * side * side).hidden(m.at("mlp").at("hidden")));
  return o;
}

GlimpseNetImpl::GlimpseNetImpl(GlimpseNetOptions options_)
    : options(std::move(options_)), kind(options.kind()) {
  switch (kind) {
    case GlimpseKind::kRam:
      ram = register_module("ram", RecurrentAttentionModel(options.ram()));
      break;
    case GlimpseKind::kCnn:
      cnn = register_module("cnn", ConvNet(options.cnn()));
      break;
    case GlimpseKind::kMlp:
      mlp = register_module("mlp", Mlp(options.mlp()));
      break;
    case GlimpseKind::kResidualAttention:
    case GlimpseKind::kResnet:
      residual = register_module("residual", ResidualAttentionNet(options.residual()));
      break;
  }
}

RamOutput GlimpseNetImpl::forward(const torch::Tensor& images, bool sample) {
  if (ram) return ram->forward(images, sample);
  RamOutput out;
  if (residual) {
    auto r = residual->forward(images);
    out.logits = r.logits;
    out.masks = std::move(r.masks);
    return out;
  }
  out.logits = cnn ? cnn->forward(images) : mlp->forward(images);
  return out;
}

torch::Tensor hybrid_loss(const RamOutput& out, const torch::Tensor& labels, double reinforce_scale,
                          std::vector<std::pair<std::string, torch::Tensor>>* terms) {
  const auto nll = torch::nn::functional::cross_entropy(out.logits, labels);
  auto loss = nll;
  if (terms) terms->push_back({"nll", nll.detach()});
  if (!out.log_probs.defined()) return loss;
  // Every location of an episode gets its final reward; b_t is what h_{t-1} expects of it.
  const auto reward = out.logits.argmax(1).eq(labels).to(out.baselines.scalar_type()).detach();
  const auto rewards = reward.unsqueeze(1).expand_as(out.baselines);
  const double episodes = static_cast<double>(labels.size(0));
  const auto reinforce = reinforce_surrogate(out.log_probs.flatten(), rewards.flatten(),
                                             out.baselines.flatten(), reinforce_scale, episodes);
  const auto baseline = torch::nn::functional::mse_loss(out.baselines, rewards);
  if (terms) {
    terms->push_back({"reinforce", reinforce.detach()});
    terms->push_back({"baseline", baseline.detach()});
    terms->push_back({"reward", reward.mean()});
  }
  return loss + reinforce + baseline;
}

}  // namespace attnzoo
