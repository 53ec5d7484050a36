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
//   none      no attention: the context is the fixed vector `summary` (the
//             encoder's final states), the plain encoder-decoder of Cho et al. 2014;
//             its weights are all zero.
#include <torch/torch.h>

#include <string>

namespace attnzoo {

struct AttentionOptions {
  AttentionOptions(std::string kind, int64_t query_size, int64_t value_size)
      : kind_(std::move(kind)), query_size_(query_size), value_size_(value_size) {}
  TORCH_ARG(std::string, kind);
  TORCH_ARG(int64_t, query_size);  // H
  TORCH_ARG(int64_t, value_size);  // D
  TORCH_ARG(int64_t, hidden_size) = 0;  // additive only; 0 means H
};

// What the decoder attends over, prepared once per batch of sequences.
struct Memory {
  torch::Tensor values;  // (B, S, D)
  torch::Tensor keys;    // (B, S, K): the projection each kind scores against
  torch::Tensor mask;    // (B, S) bool, true on real positions
  torch::Tensor summary;  // (B, D) fixed context vector for `none`
  // The same memory with rows reordered/repeated (beam search).
  Memory index_select(const torch::Tensor& rows) const;
};

struct AttentionResult {
  torch::Tensor context;  // (B, D)
  torch::Tensor weights;  // (B, S), rows sum to 1 (zeros for `none`)
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

  AttentionOptions options;
  torch::nn::Linear query_proj{nullptr};  // additive: H -> A
  torch::nn::Linear key_proj{nullptr};    // additive: D -> A; general: D -> H
  torch::nn::Linear energy{nullptr};      // additive: A -> 1 (the vector v)
};
TORCH_MODULE(Attention);

// The kinds a config may name.
bool is_attention_kind(const std::string& kind);

}  // namespace attnzoo
