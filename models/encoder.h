#pragma once
// RNN encoder: embedding -> dropout -> (bi)GRU/LSTM over packed sequences.
#include <torch/torch.h>

namespace attnzoo {

struct EncoderOptions {
  EncoderOptions(int64_t vocab_size, int64_t embedding_size, int64_t hidden_size)
      : vocab_size_(vocab_size), embedding_size_(embedding_size), hidden_size_(hidden_size) {}
  TORCH_ARG(int64_t, vocab_size);
  TORCH_ARG(int64_t, embedding_size);
  TORCH_ARG(int64_t, hidden_size);  // per direction
  TORCH_ARG(int64_t, num_layers) = 1;
  TORCH_ARG(bool, bidirectional) = true;
  TORCH_ARG(double, dropout) = 0.0;
  TORCH_ARG(std::string, rnn) = "gru";  // gru | lstm
};

struct EncoderOutput {
  torch::Tensor outputs;  // (B, S, D) top-layer states, zeros on padding; D = hidden * directions
  torch::Tensor summary;  // (B, D) final states of the top layer, both directions concatenated
};

class EncoderImpl : public torch::nn::Module {
 public:
  explicit EncoderImpl(EncoderOptions options);
  void reset();
  // src (B,S) int64 token ids, lengths (B) int64 on the CPU.
  EncoderOutput forward(const torch::Tensor& src, const torch::Tensor& lengths);
  int64_t output_size() const {
    return options.hidden_size() * (options.bidirectional() ? 2 : 1);
  }

  EncoderOptions options;
  torch::nn::Embedding embedding{nullptr};
  torch::nn::Dropout dropout{nullptr};
  torch::nn::GRU gru{nullptr};    // one of gru / lstm, registered as "rnn"
  torch::nn::LSTM lstm{nullptr};
};
TORCH_MODULE(Encoder);

}  // namespace attnzoo
