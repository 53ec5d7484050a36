#include "models/resnet.h"

#include <torch/serialize.h>

#include <fstream>
#include <iterator>
#include <set>

#include <fmt/ranges.h>

#include "data/error.h"
#include "data/text_io.h"

namespace attnzoo {
namespace {

namespace nn = torch::nn;

nn::Conv2d conv(int64_t in, int64_t out, int64_t kernel, int64_t stride) {
  return nn::Conv2d(
      nn::Conv2dOptions(in, out, kernel).stride(stride).padding(kernel / 2).bias(false));
}

// A projection shortcut when the shape changes: 1x1 convolution + BatchNorm,
// named "downsample.0" and "downsample.1" as in torchvision.
nn::Sequential shortcut(int64_t in, int64_t out, int64_t stride) {
  if (stride == 1 && in == out) return nullptr;
  return nn::Sequential(conv(in, out, 1, stride), nn::BatchNorm2d(out));
}

// Two 3x3 convolutions (ResNet-18/34).
struct BasicBlockImpl : nn::Module {
  static constexpr int64_t kExpansion = 1;
  BasicBlockImpl(int64_t in, int64_t planes, int64_t stride)
      // In the members' order, which is the order they are made (and drawn from the RNG) in.
      : conv1(register_module("conv1", conv(in, planes, 3, stride))),
        conv2(register_module("conv2", conv(planes, planes, 3, 1))),
        bn1(register_module("bn1", nn::BatchNorm2d(planes))),
        bn2(register_module("bn2", nn::BatchNorm2d(planes))),
        downsample(shortcut(in, planes, stride)) {
    if (downsample) register_module("downsample", downsample);
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto out = torch::relu(bn1(conv1(x)));
    out = bn2(conv2(out));
    return torch::relu(out + (downsample ? downsample->forward(x) : x));
  }
  nn::Conv2d conv1, conv2;
  nn::BatchNorm2d bn1, bn2;
  nn::Sequential downsample;
};
TORCH_MODULE(BasicBlock);

// 1x1, 3x3 (strided, as torchvision's "v1.5"), 1x1 with 4x expansion (ResNet-50).
struct BottleneckImpl : nn::Module {
  static constexpr int64_t kExpansion = 4;
  BottleneckImpl(int64_t in, int64_t planes, int64_t stride)
      : conv1(register_module("conv1", conv(in, planes, 1, 1))),
        conv2(register_module("conv2", conv(planes, planes, 3, stride))),
        conv3(register_module("conv3", conv(planes, planes * kExpansion, 1, 1))),
        bn1(register_module("bn1", nn::BatchNorm2d(planes))),
        bn2(register_module("bn2", nn::BatchNorm2d(planes))),
        bn3(register_module("bn3", nn::BatchNorm2d(planes * kExpansion))),
        downsample(shortcut(in, planes * kExpansion, stride)) {
    if (downsample) register_module("downsample", downsample);
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto out = torch::relu(bn1(conv1(x)));
    out = torch::relu(bn2(conv2(out)));
    out = bn3(conv3(out));
    return torch::relu(out + (downsample ? downsample->forward(x) : x));
  }
  nn::Conv2d conv1, conv2, conv3;
  nn::BatchNorm2d bn1, bn2, bn3;
  nn::Sequential downsample;
};
TORCH_MODULE(Bottleneck);

std::vector<int64_t> blocks_per_stage(int64_t depth) {
  if (depth == 18) return {2, 2, 2, 2};
  if (depth == 34 || depth == 50) return {3, 4, 6, 3};
  throw UserError("resnet depth {} is not one of 18, 34, 50", depth);
}

}  // namespace

ResNetImpl::ResNetImpl(ResNetOptions options_) : options(std::move(options_)) { reset(); }

void ResNetImpl::reset() {
  const auto& o = options;
  const auto blocks = blocks_per_stage(o.depth());
  if (o.last_stage() < 1 || o.last_stage() > 4)
    throw UserError("resnet last_stage {} is not in 1..4", o.last_stage());
  if (o.width() < 1) throw UserError("resnet width must be positive (got {})", o.width());
  conv1 = register_module(
      "conv1", nn::Conv2d(nn::Conv2dOptions(3, o.width(), 7).stride(2).padding(3).bias(false)));
  bn1 = register_module("bn1", nn::BatchNorm2d(o.width()));
  stages_.clear();
  int64_t in = o.width();
  for (int64_t s = 0; s < o.last_stage(); ++s) {
    const int64_t planes = o.width() << s;
    nn::Sequential stage;
    for (int64_t b = 0; b < blocks[s]; ++b) {
      const int64_t stride = (b == 0 && s > 0) ? 2 : 1;
      if (o.depth() == 50) {
        stage->push_back(Bottleneck(in, planes, stride));
        in = planes * BottleneckImpl::kExpansion;
      } else {
        stage->push_back(BasicBlock(in, planes, stride));
        in = planes * BasicBlockImpl::kExpansion;
      }
    }
    stages_.push_back(register_module("layer" + std::to_string(s + 1), stage));
  }
  stage_trainable_.assign(stages_.size(), true);
  stem_trainable_ = true;
}

int64_t resnet_feature_size(const ResNetOptions& options) {
  const int64_t expansion = options.depth() == 50 ? 4 : 1;
  return (options.width() << (options.last_stage() - 1)) * expansion;
}

int64_t ResNetImpl::feature_size() const { return resnet_feature_size(options); }

double ResNetImpl::location_offset() const { return 0.5 - static_cast<double>(stride()) / 2.0; }

torch::Tensor ResNetImpl::forward(torch::Tensor x) {
  if (x.dim() != 4 || x.size(1) != 3)
    throw UserError("resnet expects images (B,3,H,W), got {}", fmt::join(x.sizes(), "x"));
  x = torch::relu(bn1(conv1(x)));
  x = torch::max_pool2d(x, 3, 2, 1);
  for (auto& stage : stages_) x = stage->forward(x);
  if (options.grid() > 0) x = torch::adaptive_avg_pool2d(x, {options.grid(), options.grid()});
  return x;
}

torch::Tensor ResNetImpl::locations(const torch::Tensor& images, int64_t* grid_h, int64_t* grid_w) {
  const auto map = forward(images);  // (B,D,h,w)
  if (grid_h != nullptr) *grid_h = map.size(2);
  if (grid_w != nullptr) *grid_w = map.size(3);
  return map.flatten(2).transpose(1, 2).contiguous();  // (B,hw,D)
}

void ResNetImpl::freeze(int64_t trainable_stages) {
  const int64_t n = static_cast<int64_t>(stages_.size());
  stem_trainable_ = trainable_stages >= n + 1;
  for (auto& p : conv1->parameters()) p.set_requires_grad(stem_trainable_);
  for (auto& p : bn1->parameters()) p.set_requires_grad(stem_trainable_);
  for (int64_t s = 0; s < n; ++s) {
    stage_trainable_[s] = s >= n - trainable_stages;
    for (auto& p : stages_[s]->parameters()) p.set_requires_grad(stage_trainable_[s]);
  }
  train(is_training());
}

void ResNetImpl::train(bool on) {
  nn::Module::train(on);
  // Frozen layers keep their BatchNorm statistics.
  if (!stem_trainable_) bn1->eval();
  for (size_t s = 0; s < stages_.size(); ++s)
    if (!stage_trainable_[s]) stages_[s]->eval();
}

const std::vector<double>& imagenet_mean() {
  static const std::vector<double> v = {0.485, 0.456, 0.406};
  return v;
}

const std::vector<double>& imagenet_std() {
  static const std::vector<double> v = {0.229, 0.224, 0.225};
  return v;
}

LoadReport load_named_tensors(torch::nn::Module& model, const std::string& path) {
  if (!file_exists(path)) throw UserError("{}: no such file", path);
  std::ifstream in(path, std::ios::binary);
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
  c10::IValue value;
  try {
    value = torch::pickle_load(bytes);
  } catch (const c10::Error&) {
    throw UserError(
        "{}: not a torch.save'd dict of tensors (write it with tools/export_torchvision_resnet.py)",
        path);
  }
  if (!value.isGenericDict()) throw UserError("{}: holds no dict of name -> tensor", path);
  std::map<std::string, torch::Tensor> file;
  for (const auto& entry : value.toGenericDict()) {
    if (!entry.key().isString() || !entry.value().isTensor())
      throw UserError("{}: an entry is not name -> tensor", path);
    file[entry.key().toStringRef()] = entry.value().toTensor();
  }
  LoadReport report;
  std::set<std::string> used;
  torch::NoGradGuard no_grad;
  auto assign = [&](const std::string& name, torch::Tensor& target) {
    const auto it = file.find(name);
    if (it == file.end()) {
      report.missing.push_back(name);
      return;
    }
    if (it->second.sizes() != target.sizes())
      throw UserError("{}: {} has shape {}, the model's is {}", path, name,
                      fmt::join(it->second.sizes(), "x"), fmt::join(target.sizes(), "x"));
    target.copy_(it->second);
    used.insert(name);
  };
  for (auto& p : model.named_parameters()) assign(p.key(), p.value());
  for (auto& b : model.named_buffers()) assign(b.key(), b.value());
  for (const auto& [name, tensor] : file)
    if (!used.count(name)) report.unexpected.push_back(name);
  return report;
}

}  // namespace attnzoo
