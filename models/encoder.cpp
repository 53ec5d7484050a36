#include "models/encoder.h"

#include "data/error.h"
#include "data/vocab.h"

namespace attnzoo {

EncoderImpl::EncoderImpl(EncoderOptions options_) : options(std::move(options_)) { reset(); }

void EncoderImpl::reset() {
  const auto& o = options;
  if (o.vocab_size() > 0)
    embedding = register_module(
        "embedding",
        torch::nn::Embedding(torch::nn::EmbeddingOptions(o.vocab_size(), o.embedding_size())
                                 .padding_idx(Vocab::kPad)));
  dropout = register_module("dropout", torch::nn::Dropout(o.dropout()));
  const int64_t directions = o.bidirectional() ? 2 : 1;
  for (int64_t layer = 0; layer < o.num_layers(); ++layer) {
    const int64_t in = layer == 0 ? o.embedding_size() : o.hidden_size() * directions;
    for (int64_t d = 0; d < directions; ++d) {
      const std::string name = "rnn_l" + std::to_string(layer) + (d == 1 ? "_reverse" : "");
      if (o.rnn() == Cell::kGru) {
        grus.push_back(register_module(
            name, torch::nn::GRU(torch::nn::GRUOptions(in, o.hidden_size()).batch_first(true))));
      } else {
        lstms.push_back(register_module(
            name, torch::nn::LSTM(torch::nn::LSTMOptions(in, o.hidden_size()).batch_first(true))));
      }
    }
  }
}

torch::Tensor reverse_within_lengths(const torch::Tensor& lengths, int64_t max_len) {
  const auto positions =
      torch::arange(max_len, lengths.options().dtype(torch::kLong)).unsqueeze(0);  // (1,S)
  const auto len = lengths.to(torch::kLong).unsqueeze(1);                          // (B,1)
  return torch::where(positions < len, len - 1 - positions, positions);
}

torch::Tensor EncoderImpl::run(size_t index, const torch::Tensor& x) {
  if (!grus.empty()) return std::get<0>(grus[index]->forward(x));
  return std::get<0>(lstms[index]->forward(x));
}

EncoderOutput EncoderImpl::forward(const torch::Tensor& src, const torch::Tensor& lengths) {
  return forward_embedded(dropout->forward(embedding->forward(src)), lengths);
}

EncoderOutput EncoderImpl::forward_embedded(torch::Tensor x, const torch::Tensor& lengths_in) {
  const int64_t batch = x.size(0), steps = x.size(1);
  const auto lengths = lengths_in.to(x.device(), torch::kLong);
  const auto mask =
      (torch::arange(steps, lengths.options()).unsqueeze(0) < lengths.unsqueeze(1)).unsqueeze(2);
  const bool bidirectional = options.bidirectional();
  torch::Tensor reverse_index;  // (B,S,1) expanded per use
  if (bidirectional) reverse_index = reverse_within_lengths(lengths, steps).unsqueeze(2);
  auto reverse = [&](const torch::Tensor& t) {  // (B,S,F): reverse each row within its length
    return t.gather(1, reverse_index.expand({batch, steps, t.size(2)}));
  };

  torch::Tensor forward_out, backward_out;
  size_t index = 0;
  for (int64_t layer = 0; layer < options.num_layers(); ++layer) {
    if (layer > 0) x = dropout->forward(x);
    forward_out = run(index++, x);  // (B,S,H); states past a row's length are never used
    if (bidirectional) {
      backward_out = reverse(run(index++, reverse(x)));
      x = torch::cat({forward_out, backward_out}, 2);
    } else {
      x = forward_out;
    }
  }
  const auto outputs = x * mask;  // zeros on padding
  // Final states: forward at position len-1, backward at position 0.
  const auto last = (lengths - 1).view({batch, 1, 1}).expand({batch, 1, forward_out.size(2)});
  auto summary = forward_out.gather(1, last).squeeze(1);
  if (bidirectional) summary = torch::cat({summary, backward_out.select(1, 0)}, 1);
  return {outputs, summary};
}

}  // namespace attnzoo
