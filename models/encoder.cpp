#include "models/encoder.h"

#include "data/error.h"
#include "data/vocab.h"

namespace attnzoo {

namespace rnn_utils = torch::nn::utils::rnn;

EncoderImpl::EncoderImpl(EncoderOptions options_) : options(std::move(options_)) { reset(); }

void EncoderImpl::reset() {
  const auto& o = options;
  embedding = register_module(
      "embedding",
      torch::nn::Embedding(torch::nn::EmbeddingOptions(o.vocab_size(), o.embedding_size()).padding_idx(Vocab::kPad)));
  dropout = register_module("dropout", torch::nn::Dropout(o.dropout()));
  const double between_layers = o.num_layers() > 1 ? o.dropout() : 0.0;
  if (o.rnn() == "gru") {
    gru = register_module("rnn", torch::nn::GRU(torch::nn::GRUOptions(o.embedding_size(), o.hidden_size())
                                                    .num_layers(o.num_layers())
                                                    .bidirectional(o.bidirectional())
                                                    .dropout(between_layers)
                                                    .batch_first(true)));
  } else if (o.rnn() == "lstm") {
    lstm = register_module("rnn", torch::nn::LSTM(torch::nn::LSTMOptions(o.embedding_size(), o.hidden_size())
                                                      .num_layers(o.num_layers())
                                                      .bidirectional(o.bidirectional())
                                                      .dropout(between_layers)
                                                      .batch_first(true)));
  } else {
    throw UserError("rnn \"{}\" is not one of gru, lstm", o.rnn());
  }
}

EncoderOutput EncoderImpl::forward(const torch::Tensor& src, const torch::Tensor& lengths) {
  const auto embedded = dropout->forward(embedding->forward(src));  // (B,S,E)
  const auto packed = rnn_utils::pack_padded_sequence(embedded, lengths.cpu(), /*batch_first=*/true,
                                                      /*enforce_sorted=*/false);
  torch::Tensor h_n;  // (layers * directions, B, H)
  auto packed_out = [&] {
    if (gru) {
      auto [out, h] = gru->forward_with_packed_input(packed);
      h_n = h;
      return out;
    }
    auto [out, state] = lstm->forward_with_packed_input(packed);
    h_n = std::get<0>(state);
    return out;
  }();
  auto [outputs, unused] = rnn_utils::pad_packed_sequence(packed_out, /*batch_first=*/true, 0.0,
                                                          /*total_length=*/src.size(1));
  const auto summary = options.bidirectional()
                           ? torch::cat({h_n[h_n.size(0) - 2], h_n[h_n.size(0) - 1]}, 1)
                           : h_n[h_n.size(0) - 1];
  return {outputs, summary};
}

}  // namespace attnzoo
