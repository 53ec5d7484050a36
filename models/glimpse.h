#pragma once
// The Recurrent Attention Model (Mnih, Heess, Graves, Kavukcuoglu 2014): a
// classifier that never sees the whole image, only a few glimpses at places it
// chooses. At each step t, from the core state h_{t-1}:
//   mu_t  = tanh(W_l h_{t-1})               the location policy's mean, (x, y) in [-1,1]^2
//   l_t  ~ N(mu_t, sigma^2 I)               sigma fixed; at evaluation l_t = mu_t
//   b_t   = W_b h_{t-1}                     the learned baseline (expected reward)
//   rho_t = sensor(x, l_t)                  `scales` patches of patch x patch pixels
//                                           around l_t, each `zoom` times wider, pooled to patch x
//                                           patch
//   g_t   = relu(W_g relu(W_p rho_t) + W_gl relu(W_pl l_t))   the glimpse network
//   h_t   = core(g_t, h_{t-1})              relu(W_h h + W_c g), or an LSTM cell
// and after the last glimpse the class is softmax(W_y h_T). The locations are
// not differentiable; their policy is trained with REINFORCE (reward 1 for a
// right answer, 0 else; models/reinforce.h), the baseline with squared error,
// the rest with cross-entropy: the hybrid loss of the paper. b reads h
// through a stop-gradient, so the squared error trains the baseline alone. mu
// does too by default (`policy_reaches_core` false: REINFORCE trains only
// W_l, as kevinzakka's PyTorch RAM does); with it true, REINFORCE's gradient
// also flows through h_{t-1} into the core and glimpse networks, as in the
// paper, where every parameter follows the sum of both gradients.
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <string>
#include <utility>
#include <vector>

#include "data/choice.h"
#include "models/residual_attention.h"

namespace attnzoo {

struct GlimpseSensorOptions {
  int64_t patch = 8;   // each scale is pooled to patch x patch
  int64_t scales = 1;  // how many patches, each `zoom` times wider than the last
  int64_t zoom = 2;
};

// The retina: images (B,C,H,W) float, locations (B,2) as (x, y) in [-1,1]
// (-1: the left or top edge of the image, +1 the right or bottom edge) ->
// (B, scales*C, patch, patch). Scale k covers patch * zoom^k pixels around
// the location, averaged down to patch x patch; outside the image is 0.
torch::Tensor glimpse_sensor(const torch::Tensor& images, const torch::Tensor& locations,
                             const GlimpseSensorOptions& options);

// The side, in image pixels, that scale k of the sensor covers.
int64_t glimpse_side(const GlimpseSensorOptions& options, int64_t scale);

// log N(x; mean, std^2 I), summed over the last dimension. Differentiable in mean.
torch::Tensor gaussian_log_prob(const torch::Tensor& x, const torch::Tensor& mean, double std);

// RAM's core network: relu(W_h h + W_g g), as in the paper (rnn), or an LSTM cell.
enum class GlimpseCore { kRnn, kLstm };
const Choices<GlimpseCore>& glimpse_cores();  // rnn, lstm

struct RamOptions {
  TORCH_ARG(int64_t, channels) = 1;
  TORCH_ARG(int64_t, classes) = 10;
  TORCH_ARG(int64_t, glimpses) = 6;
  TORCH_ARG(int64_t, patch) = 8;
  TORCH_ARG(int64_t, scales) = 1;
  TORCH_ARG(int64_t, zoom) = 2;
  TORCH_ARG(int64_t, glimpse_hidden) = 128;   // W_p's output
  TORCH_ARG(int64_t, location_hidden) = 128;  // W_pl's output
  TORCH_ARG(int64_t, hidden) = 256;           // g_t and h_t
  TORCH_ARG(GlimpseCore, core) = GlimpseCore::kRnn;
  TORCH_ARG(double, location_std) = 0.15;  // sigma, in the [-1,1] units of a location
  // REINFORCE trains the core and glimpse networks too
  TORCH_ARG(bool, policy_reaches_core) = false;
};

struct RamOutput {
  torch::Tensor logits;     // (B, classes)
  torch::Tensor locations;  // (B, G, 2): where each glimpse looked (after clamping to [-1,1])
  // (B, G): log pi(l_t) of the sampled locations; undefined without sampling
  torch::Tensor log_probs;
  torch::Tensor baselines;  // (B, G): b_t
  // Residual attention only: each attention module's mask M(x), (B, C, H, W).
  std::vector<torch::Tensor> masks;
};

class RecurrentAttentionModelImpl : public torch::nn::Module {
 public:
  explicit RecurrentAttentionModelImpl(RamOptions options);
  // images (B,C,H,W) float. sample: draw l_t from the policy (training); else
  // look at its mean (evaluation, deterministic).
  RamOutput forward(const torch::Tensor& images, bool sample);
  GlimpseSensorOptions sensor() const;

  RamOptions options;
  torch::nn::Linear patch_in{nullptr}, location_in{nullptr};      // W_p, W_pl
  torch::nn::Linear glimpse_out{nullptr}, location_out{nullptr};  // W_g, W_gl
  torch::nn::Linear core_h{nullptr}, core_g{nullptr};             // the rnn core
  torch::nn::LSTMCell core_lstm{nullptr};
  torch::nn::Linear policy{nullptr}, baseline{nullptr}, classifier{nullptr};  // W_l, W_b, W_y
};
TORCH_MODULE(RecurrentAttentionModel);

// The comparisons: a plain CNN (two 5x5 convolutions with 2x2 max pooling,
// then a hidden layer) and a fully connected net (the paper's FC baseline:
// two hidden layers of rectifiers), both seeing the whole image.
struct ConvNetOptions {
  TORCH_ARG(int64_t, image_size) = 28;
  TORCH_ARG(int64_t, channels) = 1;
  TORCH_ARG(int64_t, classes) = 10;
  TORCH_ARG(int64_t, conv1) = 16;
  TORCH_ARG(int64_t, conv2) = 32;
  TORCH_ARG(int64_t, hidden) = 64;
};

class ConvNetImpl : public torch::nn::Module {
 public:
  explicit ConvNetImpl(ConvNetOptions options);
  torch::Tensor forward(const torch::Tensor& images);  // (B,C,H,W) -> logits (B, classes)
  ConvNetOptions options;
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::Linear hidden{nullptr}, out{nullptr};
};
TORCH_MODULE(ConvNet);

struct MlpOptions {
  TORCH_ARG(int64_t, inputs) = 784;
  TORCH_ARG(int64_t, classes) = 10;
  TORCH_ARG(int64_t, hidden) = 256;
};

class MlpImpl : public torch::nn::Module {
 public:
  explicit MlpImpl(MlpOptions options);
  torch::Tensor forward(const torch::Tensor& images);  // (B,...) flattened -> logits
  MlpOptions options;
  torch::nn::Linear fc1{nullptr}, fc2{nullptr}, out{nullptr};
};
TORCH_MODULE(Mlp);

// The image classifiers behind one forward: "ram" (the Recurrent Attention
// Model), "residual-attention" (the Residual Attention Network,
// models/residual_attention.h), "resnet" (the same network without its mask
// branches), "cnn" or "mlp" (the whole-image baselines).
enum class GlimpseKind { kRam, kResidualAttention, kResnet, kCnn, kMlp };
// ram, residual-attention, resnet, cnn, mlp
const Choices<GlimpseKind>& glimpse_kinds();

struct GlimpseNetOptions {
  // From a glimpse config's "model" section, for images of side x side
  // pixels and `channels` channels (its task knows them from its data);
  // UserError names a bad value, or values that cannot work together.
  static GlimpseNetOptions from_json(const nlohmann::json& model, int64_t side, int64_t channels);
  TORCH_ARG(GlimpseKind, kind) = GlimpseKind::kRam;
  TORCH_ARG(RamOptions, ram);
  TORCH_ARG(ConvNetOptions, cnn);
  TORCH_ARG(MlpOptions, mlp);
  TORCH_ARG(ResidualAttentionOptions, residual);
};

class GlimpseNetImpl : public torch::nn::Module {
 public:
  explicit GlimpseNetImpl(GlimpseNetOptions options);
  // images (B,1,S,S) in [0,1]; `sample` (RAM only): draw the glimpse locations.
  // Whole-image models return only logits.
  RamOutput forward(const torch::Tensor& images, bool sample);
  GlimpseNetOptions options;
  GlimpseKind kind;  // options.kind()
  RecurrentAttentionModel ram{nullptr};
  ConvNet cnn{nullptr};
  Mlp mlp{nullptr};
  ResidualAttentionNet residual{nullptr};  // residual-attention and resnet
};
TORCH_MODULE(GlimpseNet);

// Its TorchScript (models/glimpse_script.cpp), defined in order after
// kLinearSource: the network's forward as the exported glimpse classifier
// (export/glimpse.ts) calls it, for a net mirrored at the root.
std::vector<std::string> glimpse_sources(const GlimpseNetImpl& net);

// The hybrid loss of a batch: cross-entropy of the classifier, plus for RAM
// REINFORCE on the locations (reward 1 for a right answer; the learned
// baseline subtracted; weighted by `reinforce_scale`) and the baseline's
// squared error. Returns the total and, in *terms, its parts.
torch::Tensor hybrid_loss(const RamOutput& out, const torch::Tensor& labels, double reinforce_scale,
                          std::vector<std::pair<std::string, torch::Tensor>>* terms);

}  // namespace attnzoo
