#pragma once
// The Residual Attention Network (Wang, Jiang, Qian, Yang, Li, Zhang, Wang,
// Tang, CVPR 2017): a pre-activation ResNet whose stages stack attention
// modules. Each module splits into
//   a trunk branch   T(x): t residual units, the features;
//   a mask branch    M(x): bottom-up top-down: max-pool down `downsamples`
//                    times (r units after each pool, a skip unit kept at each
//                    level but the deepest), then bilinear up to each level's
//                    size adding its skip (r units after each), up to x's size,
//                    then BN-ReLU-1x1 conv twice and the mask function;
// and combines them by attention residual learning (ARL),
//   H(x) = (1 + M(x)) * T(x),
// so that a mask near 0 keeps the trunk's features instead of erasing them
// (naive attention learning, NAL, H = M * T, is the paper's comparison).
// p units come before the split and after the combination.
//
// Mask functions (the paper's Sec. 3.3), on the mask branch's output x, per
// location i and channel c:
//   mixed    sigmoid(x_ic)                                   in (0,1)
//   channel  x_ic / ||x_i||  (L2 over channels at i)         unit norm per location
//   spatial  sigmoid((x_ic - mean_c) / std_c)  (over i)      in (0,1)
//
// The network: a 3x3 convolution, then per stage a residual unit (stride 2
// from the second stage on) and `modules_per_stage` attention modules, then
// BN-ReLU, global average pooling and a linear classifier. `attention`
// "none" removes every mask branch: the plain pre-activation ResNet of the
// same trunk depth, for the paper's comparison.
#include <torch/torch.h>

#include <string>
#include <vector>

#include "data/choice.h"

namespace attnzoo {

// The pre-activation bottleneck unit (He et al. 2016): BN-ReLU-1x1 (out/4),
// BN-ReLU-3x3 (stride), BN-ReLU-1x1 (out), plus the input; the input goes
// through a 1x1 projection of its activation where channels or size change.
class PreActUnitImpl : public torch::nn::Module {
 public:
  PreActUnitImpl(int64_t in, int64_t out, int64_t stride = 1);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr}, bn3{nullptr};
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  torch::nn::Conv2d project{nullptr};  // only where the shape changes
};
TORCH_MODULE(PreActUnit);

// The mask's activation: a sigmoid per element (mixed), unit L2 norm over the
// channels at each place (channel), or a sigmoid of each channel's map
// standardised over space (spatial).
enum class MaskKind { kMixed, kChannel, kSpatial };
const Choices<MaskKind>& mask_kinds();  // mixed, channel, spatial
// How the mask meets the trunk: (1 + M) T, attention residual learning (arl);
// M T, naive attention learning (nal); or no mask branch (none: a ResNet).
enum class MaskLearning { kResidual, kNaive, kNone };
const Choices<MaskLearning>& mask_learnings();  // arl, nal, none

struct AttentionModuleOptions {
  explicit AttentionModuleOptions(int64_t channels) : channels_(channels) {}
  TORCH_ARG(int64_t, channels);
  TORCH_ARG(int64_t, p) = 1;            // units before the split and after the combination
  TORCH_ARG(int64_t, t) = 2;            // units of the trunk
  TORCH_ARG(int64_t, r) = 1;            // units after each pooling and upsampling of the mask
  TORCH_ARG(int64_t, downsamples) = 1;  // max-pools in the mask branch
  TORCH_ARG(MaskKind, mask) = MaskKind::kMixed;
  TORCH_ARG(MaskLearning, attention) = MaskLearning::kResidual;
};

struct AttentionModuleOutput {
  torch::Tensor features;  // (B, C, H, W)
  torch::Tensor mask;      // (B, C, H, W), M(x); undefined for attention "none"
};

class AttentionModuleImpl : public torch::nn::Module {
 public:
  explicit AttentionModuleImpl(AttentionModuleOptions options);
  AttentionModuleOutput forward(const torch::Tensor& x);
  // M(x) alone, from the input of the split (after the p units before it).
  torch::Tensor mask_branch(const torch::Tensor& x);
  // The mask function on the mask branch's output (the options' `mask`).
  torch::Tensor mask_function(const torch::Tensor& x) const;

  AttentionModuleOptions options;
  torch::nn::Sequential before{nullptr}, trunk{nullptr}, after{nullptr};
  std::vector<torch::nn::Sequential> down;  // per level ("down0" ...): r units after its pooling
  std::vector<PreActUnit> skip;             // per level but the deepest: one unit
  std::vector<torch::nn::Sequential> up;    // per level but the deepest: r units after upsampling
  torch::nn::Sequential deepest{nullptr};   // r more units at the deepest level
  torch::nn::Sequential head{nullptr};      // BN-ReLU-1x1, BN-ReLU-1x1
};
TORCH_MODULE(AttentionModule);

// Max-pools a mask branch takes from a side of `side`: as many as keep the
// side at 4 or more (the paper's 32 -> 4, 16 -> 4, 8 -> 4), at least 1.
int64_t mask_downsamples(int64_t side);

struct ResidualAttentionOptions {
  TORCH_ARG(int64_t, channels) = 1;  // of the image
  TORCH_ARG(int64_t, classes) = 10;
  TORCH_ARG(int64_t, image_size) = 28;  // sets each stage's mask depth
  TORCH_ARG(int64_t, stem) = 16;        // the first convolution's channels
  // the first convolution's stride: 2 halves large images (60x60 canvases) before stage 1
  TORCH_ARG(int64_t, stem_stride) = 1;
  TORCH_ARG(std::vector<int64_t>, widths) = std::vector<int64_t>{32, 64, 128};  // per stage
  TORCH_ARG(std::vector<int64_t>, modules_per_stage) = std::vector<int64_t>{1, 1, 1};
  TORCH_ARG(int64_t, p) = 1;
  TORCH_ARG(int64_t, t) = 2;
  TORCH_ARG(int64_t, r) = 1;
  TORCH_ARG(MaskKind, mask) = MaskKind::kMixed;
  TORCH_ARG(MaskLearning, attention) = MaskLearning::kResidual;  // none: the plain ResNet
};

struct ResidualAttentionOutput {
  torch::Tensor logits;              // (B, classes)
  std::vector<torch::Tensor> masks;  // per module, (B, C, H, W); empty for attention "none"
};

class ResidualAttentionNetImpl : public torch::nn::Module {
 public:
  explicit ResidualAttentionNetImpl(ResidualAttentionOptions options);
  ResidualAttentionOutput forward(const torch::Tensor& images);  // (B, channels, S, S)
  ResidualAttentionOptions options;
  torch::nn::Conv2d stem{nullptr};
  torch::nn::ModuleList transitions{nullptr};  // per stage: its first unit
  torch::nn::ModuleList blocks{nullptr};       // every attention module, stage by stage
  std::vector<int64_t> stage_of_block;
  torch::nn::BatchNorm2d final_bn{nullptr};
  torch::nn::Linear classifier{nullptr};
};
TORCH_MODULE(ResidualAttentionNet);

// Its TorchScript (models/residual_attention_script.cpp): def
// residual_attention(self, images) -> Tuple[Tensor, List[Tensor]]: the logits
// and each module's mask, as ResidualAttentionNetImpl::forward, for the
// network mirrored under `path`; uses self.linear (kLinearSource).
std::string residual_attention_source(const ResidualAttentionNetImpl& net, const std::string& path);

}  // namespace attnzoo
