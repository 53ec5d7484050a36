#pragma once
// Bahdanau-style attention decoder.
//
// At step t, with previous token y_{t-1} and top-layer state s_{t-1}:
//   e_t = dropout(embed(y_{t-1}))                      (B,E)
//   c_t, a_t = attention(query = s_{t-1}, memory)       (B,D), (B,S)
//   s_t = rnn([e_t; c_t], s_{t-1})                      stacked GRU/LSTM cells
//   f_t = [s_t; c_t; e_t]                               (B,H+D+E)  "deep output" features
//   logits_t = out(maxout(readout(f_t)))  or  out(f_t)  (B,V)
// The output projection runs once over all steps (one GEMM) in training.
#include <torch/torch.h>

#include <vector>

#include "models/attention.h"
#include "models/cell.h"
#include "models/quantize.h"

namespace attnzoo {

struct DecoderOptions {
  DecoderOptions(int64_t vocab_size, int64_t embedding_size, int64_t hidden_size,
                 int64_t context_size)
      : vocab_size_(vocab_size),
        embedding_size_(embedding_size),
        hidden_size_(hidden_size),
        context_size_(context_size) {}
  TORCH_ARG(int64_t, vocab_size);
  TORCH_ARG(int64_t, embedding_size);
  TORCH_ARG(int64_t, hidden_size);
  TORCH_ARG(int64_t, context_size);  // D, the encoder's output size
  TORCH_ARG(int64_t, num_layers) = 1;
  TORCH_ARG(double, dropout) = 0.0;
  TORCH_ARG(Cell, rnn) = Cell::kGru;
  TORCH_ARG(AttentionKind, attention) = AttentionKind::kAdditive;
  TORCH_ARG(int64_t, attention_size) = 0;  // additive and hard; 0 means hidden_size
  TORCH_ARG(HardEval, hard_eval) = HardEval::kArgmax;
  TORCH_ARG(int64_t, readout_size) = 0;  // maxout deep output size; 0: project features directly
  // false: no token embedding; the caller embeds each step's input and calls
  // step_embedded, and vocab_size is the number of values out (regression).
  TORCH_ARG(bool, token_input) = true;
};

// Recurrent state, one (B,H) tensor per layer (cells only for LSTM).
struct DecoderState {
  std::vector<torch::Tensor> h;
  std::vector<torch::Tensor> c;
  DecoderState index_select(const torch::Tensor& rows) const;
};

struct DecoderStep {
  torch::Tensor features;           // (B, H+D+E)
  torch::Tensor weights;            // (B, S)
  torch::Tensor log_prob, entropy;  // (B): hard attention while training (see AttentionResult)
  DecoderState state;
};

struct DecoderOutput {
  torch::Tensor logits;   // (B, T, V), or (N, V) for selected rows
  torch::Tensor weights;  // (B, T, S)
  // Hard attention while training: log alpha of each step's sampled location
  // (undefined for an expectation batch) and each step's attention entropy, (B,T).
  torch::Tensor log_probs, entropies;
};

class DecoderImpl : public torch::nn::Module {
 public:
  explicit DecoderImpl(DecoderOptions options);
  // Builds every layer anew from `options` (new random weights); safe to call
  // again: the step then runs the new cells, never the old ones.
  void reset();

  // Initial state from the encoder summary (B,D): s_0 = tanh(W summary) per layer.
  DecoderState initial_state(const torch::Tensor& summary);
  // One step from `tokens` (B) int64.
  DecoderStep step(const torch::Tensor& tokens, const DecoderState& state, const Memory& memory);
  // One step from an input the caller embedded, (B,E).
  DecoderStep step_embedded(const torch::Tensor& embedded, const DecoderState& state,
                            const Memory& memory);
  // Logits (..., V) from features (..., F): out(output_input(features)).
  torch::Tensor project(const torch::Tensor& features);
  // What the vocabulary projection `out` reads: the features, or the maxout
  // readout of them.
  torch::Tensor output_input(const torch::Tensor& features);
  // Decoding with int8 copies of the cells, `out` and `readout`
  // (models/quantize.h): for inference only, the copies do not follow
  // training. Packs once.
  void quantize_int8();
  bool int8() const { return out_int8.defined(); }
  Int8Linear out_int8, readout_int8;
  std::vector<Int8Cell> cells_int8;
  // Mixed precision for the vocabulary projection (about two-thirds of a
  // training step's arithmetic): kBFloat16 runs its GEMMs on bf16 copies of the
  // activations and weights (oneDNN accumulates in fp32; the fp32 weights stay
  // the master copy Adam updates) and returns fp32 logits. Default kFloat32.
  void set_projection_dtype(torch::Dtype dtype) { projection_dtype_ = dtype; }
  // Teacher forcing over tgt_in (B,T). With teacher_forcing < 1, each step feeds
  // the model's own previous prediction with probability 1 - teacher_forcing.
  // With `rows` (B,T) bool, logits are (N,V) for its N true positions only:
  // training skips the vocabulary projection of padding.
  DecoderOutput forward(const torch::Tensor& tgt_in, const Memory& memory, DecoderState state,
                        double teacher_forcing = 1.0, const torch::Tensor& rows = {});

  DecoderOptions options;
  torch::nn::Embedding embedding{nullptr};
  torch::nn::Dropout dropout{nullptr};
  Attention attention{nullptr};
  torch::nn::Linear bridge{nullptr};  // D -> layers * H
  torch::nn::ModuleList cells{nullptr};
  torch::nn::Linear readout{nullptr};  // F -> 2R (maxout), optional
  torch::nn::Linear out{nullptr};      // F or R -> V

 private:
  torch::Tensor embed_step(const torch::Tensor& embedded, const DecoderState& state,
                           const Memory& memory, DecoderStep* result);
  std::vector<torch::nn::GRUCell> gru_cells_;
  std::vector<torch::nn::LSTMCell> lstm_cells_;
  torch::Dtype projection_dtype_ = torch::kFloat32;
  torch::Tensor linear(const torch::nn::Linear& layer, const torch::Tensor& x) const;
};
TORCH_MODULE(Decoder);

// Its TorchScript (models/decoder_script.cpp), mirrored under `path`:
// initial_state(summary) -> state, decode_step(e, memory, state) ->
// (features, weights, state) from an embedded input (B,E), and
// output_input(features) -> what the output layer reads, project(features) ->
// logits; state is h per layer, then c per layer (LSTM); memory [values,
// keys, mask, summary, ...]. Calls self.attend (attention_source). A decoder
// quantised to int8 (quantize_int8) runs its cells and output layers with
// torch.ops.quantized over the packed weights that register_int8_decoder
// (models/script.h) puts on the root module; it is defined with
// export_resolver() (export/sources.h).
std::string decoder_source(const DecoderImpl& decoder, const std::string& path);

}  // namespace attnzoo
