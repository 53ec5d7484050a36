#pragma once
// RNN encoder: embedding -> dropout -> stacked (bi)GRU/LSTM over padded batches.
//
// Each direction of each layer is its own single-layer RNN. The backward
// direction reads every sequence reversed within its own length, so padding
// never reaches a real state. This gives the outputs of a packed-sequence RNN
// without ATen's packed backward, whose per-step slices allocate a full-size
// gradient each (the encoder's dominant cost on a CPU, measured in bench/).
#include <torch/torch.h>

#include "models/cell.h"

namespace attnzoo {

struct EncoderOptions {
  EncoderOptions(int64_t vocab_size, int64_t embedding_size, int64_t hidden_size)
      : vocab_size_(vocab_size), embedding_size_(embedding_size), hidden_size_(hidden_size) {}
  // 0: no token embedding; the input comes embedded (forward_embedded)
  TORCH_ARG(int64_t, vocab_size);
  TORCH_ARG(int64_t, embedding_size);  // the size of each input step
  TORCH_ARG(int64_t, hidden_size);     // per direction
  TORCH_ARG(int64_t, num_layers) = 1;
  TORCH_ARG(bool, bidirectional) = true;
  TORCH_ARG(double, dropout) = 0.0;
  TORCH_ARG(Cell, rnn) = Cell::kGru;
};

struct EncoderOutput {
  torch::Tensor outputs;  // (B, S, D) top-layer states, zeros on padding; D = hidden * directions
  torch::Tensor summary;  // (B, D) final states of the top layer, both directions concatenated
};

class EncoderImpl : public torch::nn::Module {
 public:
  explicit EncoderImpl(EncoderOptions options);
  void reset();
  // src (B,S) int64 token ids, lengths (B) int64, every length >= 1.
  EncoderOutput forward(const torch::Tensor& src, const torch::Tensor& lengths);
  // The same over inputs already embedded, x (B,S,E) (real-valued series).
  EncoderOutput forward_embedded(torch::Tensor x, const torch::Tensor& lengths);
  int64_t output_size() const { return options.hidden_size() * (options.bidirectional() ? 2 : 1); }

  EncoderOptions options;
  torch::nn::Embedding embedding{nullptr};
  torch::nn::Dropout dropout{nullptr};
  // Registered as rnn_l{k} and rnn_l{k}_reverse; one of the two lists is used.
  std::vector<torch::nn::GRU> grus;
  std::vector<torch::nn::LSTM> lstms;

 private:
  torch::Tensor run(size_t index, const torch::Tensor& x);  // (B,S,In) -> (B,S,H)
};
TORCH_MODULE(Encoder);

// For each row, positions 0..len-1 reversed and padding left in place: (B,S) int64.
torch::Tensor reverse_within_lengths(const torch::Tensor& lengths, int64_t max_len);

// Its TorchScript (models/encoder_script.cpp), mirrored under `path` (e.g.
// "self.encoder"), over embedded steps: def encode_steps(self, x (B,S,E),
// src_lengths (B)) -> (values (B,S,D), summary (B,D)), each direction of
// each layer a one-layer aten RNN (the call torch::nn::GRU/LSTM makes), the
// backward one over each row reversed within its length.
std::string encoder_source(const EncoderImpl& encoder, const std::string& path);

}  // namespace attnzoo
