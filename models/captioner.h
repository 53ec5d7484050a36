#pragma once
// Show, Attend and Tell (Xu et al. 2015): a caption decoder that attends over
// the L locations of an image feature map (B,L,D) at every word.
//
// With annotation vectors a (B,L,D), previous word y_{t-1} and LSTM state
// (h_{t-1}, c_{t-1}):
//   h_0 = tanh(W_h mean_i a_i),  c_0 = tanh(W_c mean_i a_i)
//   alpha_t = attention(query = h_{t-1}, a)                 (B,L), the foundation's Attention
//   beta_t  = sigmoid(w_b h_{t-1} + b_b)                      the gating scalar (optional)
//   z_t     = beta_t * sum_i alpha_ti a_i                    (B,D)
//   h_t, c_t = LSTM([E y_{t-1}; z_t], (h_{t-1}, c_{t-1}))
//   logits_t = L_o dropout(E y_{t-1} + L_h h_t + L_z z_t)   the deep output (eq. 7)
// With output "mixture" the word instead comes from every location on its own,
// weighted by where the decoder looks (the exact marginal over a categorical
// alignment, as in Deng et al. 2018's latent alignment models):
//   p(y_t) = sum_i alpha_ti softmax(L_o (E y_{t-1} + L_h h_t + L_z beta_t a_i))
// (computed as L_o(E y + L_h h) + beta_t W_o L_z a_i, the second term once per
// image; dropout applies to the two parts apart, to L_z a_i once per image)
// so naming an item and looking at it are one choice: where a word could name
// one of several items (captions list a scene's items in any order), soft
// attention's mixed context lets the map and the word pick different items;
// the mixture names the item its map weighs most.
// Training adds the doubly stochastic penalty lambda * sum_i (1 - sum_t alpha_ti)^2,
// which pushes the model to look at every location over the caption.
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "models/attention.h"
#include "models/resnet.h"
#include "models/search.h"

namespace attnzoo {

// What the output layer reads: the context, eq. 7 (context), or each
// location's own share of the logits, weighted by alpha (mixture; see above).
enum class CaptionReadout { kContext, kMixture };
const Choices<CaptionReadout>& caption_readouts();  // context, mixture

struct CaptionDecoderOptions {
  CaptionDecoderOptions(int64_t vocab_size, int64_t feature_size)
      : vocab_size_(vocab_size), feature_size_(feature_size) {}
  TORCH_ARG(int64_t, vocab_size);
  TORCH_ARG(int64_t, feature_size);  // D
  TORCH_ARG(int64_t, embedding_size) = 256;
  TORCH_ARG(int64_t, hidden_size) = 512;
  TORCH_ARG(int64_t, attention_size) = 512;
  TORCH_ARG(AttentionKind, attention) = AttentionKind::kAdditive;  // every kind but none
  TORCH_ARG(HardEval, hard_eval) = HardEval::kArgmax;              // hard attention at evaluation
  TORCH_ARG(bool, gate) = true;                                    // beta
  TORCH_ARG(CaptionReadout, output) = CaptionReadout::kContext;
  TORCH_ARG(double, dropout) = 0.5;
};

struct CaptionState {
  torch::Tensor h, c;  // (B,H)
  CaptionState index_select(const torch::Tensor& rows) const;
};

struct CaptionStep {
  // (B,E): E y + L_h h + L_z z, before the output layer (mixture: E y + L_h h)
  torch::Tensor features;
  torch::Tensor located;  // mixture: (B,L,V) beta W_o L_z a_i, each location's share of the logits
  torch::Tensor weights;  // (B,L): alpha
  torch::Tensor gate;     // (B,1): beta (ones without the gate)
  torch::Tensor log_prob, entropy;  // (B): hard attention while training (see AttentionResult)
  CaptionState state;
};

struct CaptionOutput {
  torch::Tensor logits;  // (N,V) for the N true positions of `rows`, or (B,T,V); log-probabilities
                         // for mixture
  torch::Tensor alphas;  // (B,T,L)
  torch::Tensor gates;   // (B,T)
  // Hard attention while training: log alpha of each step's sampled location
  // (undefined for an expectation batch) and each step's attention entropy, (B,T).
  torch::Tensor log_probs, entropies;
};

class CaptionDecoderImpl : public torch::nn::Module {
 public:
  explicit CaptionDecoderImpl(CaptionDecoderOptions options);
  void reset();

  // The memory the attention reads: keys projected once per image.
  Memory prepare(const torch::Tensor& features);
  CaptionState initial_state(const Memory& memory);
  // located: location_outputs(memory) where the output is a mixture (computed here if undefined).
  CaptionStep step(const torch::Tensor& tokens, const CaptionState& state, const Memory& memory,
                   const torch::Tensor& located = {});
  // W_o dropout(L_z a_i) for every location (B,L,V) for output "mixture"; undefined for "context".
  torch::Tensor location_outputs(const Memory& memory);
  // Logits (B..,V) from features (B..,E); for mixture, log p(y) from them, each
  // location's share `located` (B..,L,V) and the weights (B..,L) that mix them.
  torch::Tensor project(const torch::Tensor& features, const torch::Tensor& located = {},
                        const torch::Tensor& weights = {});
  bool mixture() const { return options.output() == CaptionReadout::kMixture; }
  // Teacher forcing over captions_in (B,T) (starting with <bos>).
  CaptionOutput forward(const torch::Tensor& features, const torch::Tensor& captions_in,
                        const torch::Tensor& rows = {});

  CaptionDecoderOptions options;
  torch::nn::Embedding embedding{nullptr};
  Attention attention{nullptr};
  torch::nn::Linear init_h{nullptr}, init_c{nullptr}, gate{nullptr};
  torch::nn::LSTMCell cell{nullptr};
  torch::nn::Linear out_h{nullptr}, out_z{nullptr}, out{nullptr};  // L_h, L_z, L_o
  torch::nn::Dropout dropout{nullptr};

 private:
  CaptionStep embed_step(const torch::Tensor& embedded, const CaptionState& state,
                         const Memory& memory, const torch::Tensor& located);
};
TORCH_MODULE(CaptionDecoder);

// Where each location of an h x w feature map lies, as 4F fixed channels
// (h*w, 4F): sin and cos of pi 2^k x and of pi 2^k y, k = 0..F-1, for the
// location's centre (x, y) in [-1,1]. Appended to the annotation vectors
// (encoder.positions), they let the attended context say where it was taken
// from: a convolutional feature map alone says what is there, not where, so a
// caption's "at the top right" is otherwise guessed from border effects.
torch::Tensor grid_positions(int64_t h, int64_t w, int64_t frequencies);

// lambda * sum_i (1 - sum_t alpha_ti)^2, averaged over the batch; the sum over
// t runs over the true positions of `rows` (B,T) only.
torch::Tensor doubly_stochastic_penalty(const torch::Tensor& alphas, const torch::Tensor& rows,
                                        double lambda);

// The entropy -sum_i alpha_ti log alpha_ti of each attention map, averaged over
// the true positions of `rows` (B,T): log L for a uniform map over L locations,
// 0 for a map on one location. Scaled by train.attention_entropy it is a loss
// term that asks each word to commit to where it looks.
torch::Tensor attention_entropy(const torch::Tensor& alphas, const torch::Tensor& rows);

// Drives a CaptionDecoder through greedy or beam search over a batch of
// feature maps (B,L,D). The search's "source length" is unused by the model:
// pass the caption length limit for every row.
class CaptionStepper : public StepModel {
 public:
  CaptionStepper(CaptionDecoder decoder, const torch::Tensor& features);
  torch::Tensor step(const torch::Tensor& tokens, torch::Tensor* weights) override;
  void select(const torch::Tensor& rows) override;
  torch::Device device() const override { return memory_.values.device(); }

 private:
  CaptionDecoder decoder_;
  Memory memory_;
  torch::Tensor located_;  // location_outputs(memory_)
  CaptionState state_;
};

// One image's caption as a captioner gives it, with where it looked.
struct CaptionResult {
  std::string text;
  std::vector<std::string> words;  // without <eos>
  torch::Tensor attention;         // (words, h*w)
  int64_t grid_h = 0, grid_w = 0;
  // Where each location's receptive field is centred, from the centre of its
  // cell, in cells (ResNetImpl::location_offset): location (r, c) looks at
  // ((c + 0.5 + shift_x) W / grid_w, (r + 0.5 + shift_y) H / grid_h) of a W x H image.
  double shift_x = 0.0, shift_y = 0.0;
  double score = 0.0;
};

// The ResNet encoder and the caption decoder, as one network.
struct CaptionNetOptions {
  CaptionNetOptions(ResNetOptions encoder, CaptionDecoderOptions decoder)
      : encoder_(std::move(encoder)), decoder_(std::move(decoder)) {}
  // From a caption config's "encoder" and "model" sections; UserError names a bad value.
  static CaptionNetOptions from_json(const nlohmann::json& config, int64_t vocab_size);
  TORCH_ARG(ResNetOptions, encoder);
  // Frequencies of each location's grid position appended to its features
  // (grid_positions: 4 values per frequency), 0 to 16.
  TORCH_ARG(int64_t, positions) = 0;
  // Its feature_size is the encoder's channels + 4 * positions (from_json sets it).
  TORCH_ARG(CaptionDecoderOptions, decoder);
};

class CaptionNetImpl : public torch::nn::Module {
 public:
  explicit CaptionNetImpl(CaptionNetOptions options);
  // Normalised images (B,3,H,W) -> annotation vectors (B,L,D + 4 positions):
  // the ResNet's features at each location, then grid_positions(), and the grid (h,w).
  torch::Tensor encode(const torch::Tensor& images, int64_t* grid_h = nullptr,
                       int64_t* grid_w = nullptr);
  int64_t position_frequencies() const { return options.positions(); }
  CaptionNetOptions options;
  ResNet encoder{nullptr};
  CaptionDecoder decoder{nullptr};
};
TORCH_MODULE(CaptionNet);

// Its TorchScript (models/captioner_script.cpp): the Show-Attend-Tell decoder
// mirrored under `path`: caption_start(values (B,L,D)) -> (memory, state [h,
// c]) and step(tokens, memory, state) -> (log-probabilities (B,V), alpha
// (B,L), state), with the context output (eq. 7) or the mixture, as the
// module has. Calls self.attend (attention_source).
std::string caption_decoder_source(const CaptionDecoderImpl& decoder, const std::string& path);

}  // namespace attnzoo
