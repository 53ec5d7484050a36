#pragma once
// ResNet-18/34/50 (He et al. 2016) as an image encoder: the convolutional
// trunk only, giving a feature map of L = grid x grid locations of D channels.
// Parameter and buffer names are torchvision's ("layer2.0.downsample.1.weight"
// ...), so its ImageNet weights load by name (tools/export_torchvision_resnet.py).
#include <torch/torch.h>

#include <string>
#include <vector>

namespace attnzoo {

struct ResNetOptions {
  explicit ResNetOptions(int64_t depth = 18) : depth_(depth) {}
  TORCH_ARG(int64_t, depth);       // 18, 34 or 50
  TORCH_ARG(int64_t, width) = 64;  // channels of the stem; torchvision's is 64
  // 3 stops after layer3 (stride 16), 4 after layer4 (stride 32)
  TORCH_ARG(int64_t, last_stage) = 4;
  // adaptive average pooling to grid x grid; 0 keeps the map as it is
  TORCH_ARG(int64_t, grid) = 0;
};

class ResNetImpl : public torch::nn::Module {
 public:
  explicit ResNetImpl(ResNetOptions options = ResNetOptions());
  void reset();

  // Normalised images (B,3,H,W) -> feature map (B,D,h,w).
  torch::Tensor forward(torch::Tensor images);
  // The same as (B, L, D) locations, row-major over the map: what attention
  // reads; the map's height and width go to grid_h, grid_w when given.
  torch::Tensor locations(const torch::Tensor& images, int64_t* grid_h = nullptr,
                          int64_t* grid_w = nullptr);
  // D: channels of the feature map.
  int64_t feature_size() const;
  // Where a location's receptive field is centred, relative to the centre of
  // the map cell it is drawn as, in input pixels along each axis (negative:
  // up and to the left). Every stride-2 layer here (kernel 2p+1, padding p)
  // maps output o to input 2o, so location o of the stride-S map is centred
  // on input pixel S*o, at S*o + 0.5 in pixel-edge coordinates, while its cell
  // [S*o, S*o + S) is centred at S*o + S/2: 0.5 - S/2, almost half a cell
  // (-3.5 pixels of an 8-pixel cell). `grid` pooling keeps the offset where the
  // map divides evenly into grid cells.
  double location_offset() const;
  // S: input pixels per step between neighbouring locations of the unpooled map.
  int64_t stride() const { return int64_t{1} << (options.last_stage() + 1); }

  // Freezes every parameter, or all but those of the last `trainable_stages`
  // stages (fine-tuning the top blocks). Frozen BatchNorm layers stay in eval mode.
  void freeze(int64_t trainable_stages = 0);
  void unfreeze() { freeze(static_cast<int64_t>(stages_.size()) + 1); }
  void train(bool on = true) override;

  ResNetOptions options;
  torch::nn::Conv2d conv1{nullptr};  // the stem: 7x7 stride 2, then BatchNorm, ReLU, 3x3 max pool
  torch::nn::BatchNorm2d bn1{nullptr};

 private:
  std::vector<torch::nn::Sequential> stages_;
  std::vector<bool> stage_trainable_;
  bool stem_trainable_ = true;
};
TORCH_MODULE(ResNet);

// D of a ResNet with these options, without building it.
int64_t resnet_feature_size(const ResNetOptions& options);

// ImageNet statistics (torchvision's), for normalising RGB images in [0,1].
const std::vector<double>& imagenet_mean();
const std::vector<double>& imagenet_std();

// Loads a file written by tools/export_torchvision_resnet.py (a torch.save'd
// dict of name -> tensor) into `model` by name. Returns the names the file has
// and the model lacks ("unexpected", e.g. fc.* for a trunk) and the names the
// model has and the file lacks ("missing"); a shape mismatch is a UserError.
struct LoadReport {
  std::vector<std::string> missing, unexpected;
};
LoadReport load_named_tensors(torch::nn::Module& model, const std::string& path);

// Its TorchScript (models/resnet_script.cpp): def resnet(self, images) ->
// Tensor (B,L,D), ResNetImpl::locations, and resnet_map(images) -> (B,C,h,w),
// for the trunk mirrored under `path`, generated from its module tree.
std::string resnet_source(const ResNetImpl& resnet, const std::string& path);

}  // namespace attnzoo
