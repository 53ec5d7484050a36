#pragma once
// The attention family behind one interface.
//
//   prepare(values (B,S,D), mask (B,S), summary (B,D)) -> Memory    once per sequence
//   forward(query (B,H), memory) -> {context (B,D), weights (B,S)}  once per step
//
// prepare() does the per-sequence work (projecting keys once, not at every
// decoder step). Padding never takes weight: masked scores are -inf before the
// softmax. Kinds, chosen by AttentionOptions::kind:
//   additive  Bahdanau et al. 2015: score = v' tanh(W_q q + W_k k)
//   dot       Luong et al. 2015: score = q' k (needs H == D)
//   general   Luong et al. 2015: score = q' W k
//   scaled-dot  Vaswani et al. 2017's scaled dot product: score = q' k / sqrt(D)
//             (needs H == D); dot's scores grow with D, and past a few hundred
//             dimensions they saturate the softmax
//   none      no attention: the context is the fixed vector `summary` (the
//             encoder's final states), the plain encoder-decoder of Cho et al. 2014;
//             its weights are all zero.
//   hard      Xu et al. 2015's stochastic hard attention: additive scores give
//             alpha, and the context is the value at ONE location. Training
//             samples it, s ~ Categorical(alpha), and reports log alpha_s and the
//             entropy of alpha for the REINFORCE loss (models/reinforce.h); with
//             set_sampling(false) a training batch takes the expectation (soft
//             attention) instead. In eval mode the context is the value at
//             argmax alpha, or the expectation (AttentionOptions::hard_eval).
//             The weights returned are alpha in every case.
#include <torch/torch.h>

#include <string>

#include "data/choice.h"
#include "models/reinforce.h"

namespace attnzoo {

enum class AttentionKind { kAdditive, kDot, kGeneral, kScaledDot, kNone, kHard };
// Their names in configs: additive, dot, general, scaled-dot, none, hard.
const Choices<AttentionKind>& attention_kinds();

// The description of a config's model.attention for a model that takes
// every kind but `except`: "additive, dot, ... or hard (--attention; ...)".
std::string attention_help(const std::vector<AttentionKind>& except = {});

// What hard attention gives at evaluation: the value at argmax alpha, or the
// expectation (soft attention's context).
enum class HardEval { kArgmax, kExpectation };
const Choices<HardEval>& hard_evals();  // argmax, expectation

struct AttentionOptions {
  AttentionOptions(AttentionKind kind, int64_t query_size, int64_t value_size)
      : kind_(kind), query_size_(query_size), value_size_(value_size) {}
  TORCH_ARG(AttentionKind, kind);
  TORCH_ARG(int64_t, query_size);                      // H
  TORCH_ARG(int64_t, value_size);                      // D
  TORCH_ARG(int64_t, hidden_size) = 0;                 // additive and hard; 0 means H
  TORCH_ARG(HardEval, hard_eval) = HardEval::kArgmax;  // hard
  TORCH_ARG(double, baseline_decay) = 0.9;  // hard: the REINFORCE baseline's moving average
};

// What the decoder attends over, prepared once per batch of sequences.
struct Memory {
  torch::Tensor values;   // (B, S, D)
  torch::Tensor keys;     // (B, S, K): the projection each kind scores against
  torch::Tensor mask;     // (B, S) bool, true on real positions
  torch::Tensor summary;  // (B, D) fixed context vector for `none`
  // The same memory with rows reordered/repeated (beam search).
  Memory index_select(const torch::Tensor& rows) const;
};

struct AttentionResult {
  torch::Tensor context;  // (B, D)
  torch::Tensor weights;  // (B, S), rows sum to 1 (zeros for `none`)
  // hard, training only: log alpha of the sampled location (B) (undefined for
  // an expectation batch), and the entropy of alpha (B).
  torch::Tensor log_prob, entropy;
};

class AttentionImpl : public torch::nn::Module {
 public:
  explicit AttentionImpl(AttentionOptions options);
  void reset();
  Memory prepare(const torch::Tensor& values, const torch::Tensor& mask,
                 const torch::Tensor& summary);
  AttentionResult forward(const torch::Tensor& query, const Memory& memory);
  // Normalised weights (B,S) from raw scores (B,S), -inf on padding.
  static torch::Tensor masked_softmax(const torch::Tensor& scores, const torch::Tensor& mask);
  bool is_hard() const { return options.kind() == AttentionKind::kHard; }
  // hard: whether training batches sample a location (true) or take the expectation.
  void set_sampling(bool on) { sampling_ = on; }
  bool sampling() const { return sampling_; }

  AttentionOptions options;
  torch::nn::Linear query_proj{nullptr};    // additive: H -> A
  torch::nn::Linear key_proj{nullptr};      // additive: D -> A; general: D -> H
  torch::nn::Linear energy{nullptr};        // additive: A -> 1 (the vector v)
  MovingAverageBaseline baseline{nullptr};  // hard: the REINFORCE baseline, kept in checkpoints

 private:
  AttentionResult hard(const torch::Tensor& weights, const Memory& memory);
  bool sampling_ = true;
};
TORCH_MODULE(Attention);

// Its TorchScript (models/attention_script.cpp): def attend(self, query,
// values, keys, mask, summary) -> (context, weights) for `attention`, whose
// mirrored parameters live under `path` (e.g. "self.decoder.attention"); and
// def keys(self, values) -> Tensor, the per-sequence key projection (prepare).
std::string attention_source(const AttentionImpl& attention, const std::string& path);

}  // namespace attnzoo
