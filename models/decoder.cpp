#include "models/decoder.h"

#include "data/error.h"
#include "data/vocab.h"

namespace attnzoo {

DecoderState DecoderState::index_select(const torch::Tensor& rows) const {
  DecoderState s;
  for (const auto& t : h) s.h.push_back(t.index_select(0, rows));
  for (const auto& t : c) s.c.push_back(t.index_select(0, rows));
  return s;
}

DecoderImpl::DecoderImpl(DecoderOptions options_) : options(std::move(options_)) { reset(); }

namespace {

// register_module the first time, replace_module when reset() runs again.
template <class Holder>
Holder put(torch::nn::Module& m, const std::string& name, Holder module) {
  if (m.named_children().contains(name)) return m.replace_module(name, module);
  return m.register_module(name, module);
}

}  // namespace

void DecoderImpl::reset() {
  const auto& o = options;
  // Again from nothing: new cells, no int8 copies of the old weights.
  gru_cells_.clear();
  lstm_cells_.clear();
  cells_int8.clear();
  out_int8 = Int8Linear();
  readout_int8 = Int8Linear();
  if (o.token_input())
    embedding =
        put(*this, "embedding",
            torch::nn::Embedding(torch::nn::EmbeddingOptions(o.vocab_size(), o.embedding_size())
                                     .padding_idx(Vocab::kPad)));
  dropout = put(*this, "dropout", torch::nn::Dropout(o.dropout()));
  attention = put(*this, "attention",
                  Attention(AttentionOptions(o.attention(), o.hidden_size(), o.context_size())
                                .hidden_size(o.attention_size())
                                .hard_eval(o.hard_eval())));
  bridge =
      put(*this, "bridge", torch::nn::Linear(o.context_size(), o.num_layers() * o.hidden_size()));
  cells = put(*this, "cells", torch::nn::ModuleList());
  for (int64_t layer = 0; layer < o.num_layers(); ++layer) {
    const int64_t in = layer == 0 ? o.embedding_size() + o.context_size() : o.hidden_size();
    if (o.rnn() == Cell::kGru) {
      gru_cells_.emplace_back(in, o.hidden_size());
      cells->push_back(gru_cells_.back());
    } else {
      lstm_cells_.emplace_back(in, o.hidden_size());
      cells->push_back(lstm_cells_.back());
    }
  }
  const int64_t features = o.hidden_size() + o.context_size() + o.embedding_size();
  if (o.readout_size() > 0) {
    readout = put(*this, "readout", torch::nn::Linear(features, 2 * o.readout_size()));
    out = put(*this, "out", torch::nn::Linear(o.readout_size(), o.vocab_size()));
  } else {
    out = put(*this, "out", torch::nn::Linear(features, o.vocab_size()));
  }
}

DecoderState DecoderImpl::initial_state(const torch::Tensor& summary) {
  const auto h0 = torch::tanh(bridge->forward(summary)).chunk(options.num_layers(), 1);
  DecoderState state;
  for (const auto& h : h0) {
    state.h.push_back(h.contiguous());
    if (options.rnn() == Cell::kLstm) state.c.push_back(torch::zeros_like(h));
  }
  return state;
}

torch::Tensor DecoderImpl::embed_step(const torch::Tensor& embedded, const DecoderState& state,
                                      const Memory& memory, DecoderStep* result) {
  // embedded (B,E) -> features (B,H+D+E)
  const auto attended = attention->forward(state.h.back(), memory);
  auto x = torch::cat({embedded, attended.context}, 1);
  DecoderState next;
  const bool int8 = !cells_int8.empty();
  for (int64_t layer = 0; layer < options.num_layers(); ++layer) {
    if (layer > 0) x = dropout->forward(x);
    if (options.rnn() == Cell::kGru) {
      x = int8 ? cells_int8[layer].gru(x, state.h[layer])
               : gru_cells_[layer]->forward(x, state.h[layer]);
      next.h.push_back(x);
    } else {
      auto [h, c] =
          int8 ? cells_int8[layer].lstm(x, state.h[layer], state.c[layer])
               : lstm_cells_[layer]->forward(x, std::make_tuple(state.h[layer], state.c[layer]));
      next.h.push_back(h);
      next.c.push_back(c);
      x = h;
    }
  }
  result->weights = attended.weights;
  result->log_prob = attended.log_prob;
  result->entropy = attended.entropy;
  result->state = std::move(next);
  result->features = torch::cat({x, attended.context, embedded}, 1);
  return result->features;
}

DecoderStep DecoderImpl::step(const torch::Tensor& tokens, const DecoderState& state,
                              const Memory& memory) {
  DecoderStep result;
  embed_step(dropout->forward(embedding->forward(tokens)), state, memory, &result);
  return result;
}

DecoderStep DecoderImpl::step_embedded(const torch::Tensor& embedded, const DecoderState& state,
                                       const Memory& memory) {
  DecoderStep result;
  embed_step(embedded, state, memory, &result);
  return result;
}

void DecoderImpl::quantize_int8() {
  if (int8()) return;
  out_int8 = Int8Linear(out->weight, out->bias);
  if (readout) readout_int8 = Int8Linear(readout->weight, readout->bias);
  for (const auto& c : gru_cells_)
    cells_int8.emplace_back(c->weight_ih, c->weight_hh, c->bias_ih, c->bias_hh);
  for (const auto& c : lstm_cells_)
    cells_int8.emplace_back(c->weight_ih, c->weight_hh, c->bias_ih, c->bias_hh);
}

torch::Tensor DecoderImpl::linear(const torch::nn::Linear& layer, const torch::Tensor& x) const {
  if (&layer == &out && out_int8.defined()) return out_int8.forward(x);
  if (&layer == &readout && readout_int8.defined()) return readout_int8.forward(x);
  if (projection_dtype_ == torch::kFloat32)
    return torch::nn::functional::linear(x, layer->weight, layer->bias);
  const auto dtype = projection_dtype_;
  return torch::nn::functional::linear(x.to(dtype), layer->weight.to(dtype), layer->bias.to(dtype))
      .to(torch::kFloat32);
}

torch::Tensor DecoderImpl::project(const torch::Tensor& features) {
  return linear(out, output_input(features));
}

torch::Tensor DecoderImpl::output_input(const torch::Tensor& features) {
  auto x = dropout->forward(features);
  if (readout) {
    // maxout over pairs of units: (..., 2R) -> (..., R)
    auto r = linear(readout, x);
    auto sizes = r.sizes().vec();
    sizes.back() /= 2;
    sizes.push_back(2);
    x = dropout->forward(std::get<0>(r.view(sizes).max(-1)));
  }
  return x;
}

DecoderOutput DecoderImpl::forward(const torch::Tensor& tgt_in, const Memory& memory,
                                   DecoderState state, double teacher_forcing,
                                   const torch::Tensor& rows) {
  const int64_t steps = tgt_in.size(1);
  // One lookup for all steps; unbind (not select) so the backward is one stack.
  const auto embedded = dropout->forward(embedding->forward(tgt_in)).unbind(1);  // T x (B,E)
  std::vector<torch::Tensor> features, weights, log_probs, entropies;
  features.reserve(steps);
  weights.reserve(steps);
  torch::Tensor previous_prediction;
  for (int64_t t = 0; t < steps; ++t) {
    DecoderStep result;
    torch::Tensor e = embedded[t];
    if (t > 0 && teacher_forcing < 1.0 && torch::rand({1}).item<double>() >= teacher_forcing) {
      // Feed the model's own greedy choice (no gradient through the argmax).
      const auto prediction = project(features.back()).argmax(-1);
      e = dropout->forward(embedding->forward(prediction));
    }
    embed_step(e, state, memory, &result);
    features.push_back(result.features);
    weights.push_back(result.weights);
    if (result.log_prob.defined()) log_probs.push_back(result.log_prob);
    if (result.entropy.defined()) entropies.push_back(result.entropy);
    state = std::move(result.state);
  }
  // One GEMM for the vocabulary projection of all steps: (B,T,F) -> (B,T,V),
  // or (N,F) -> (N,V) for the N positions `rows` keeps (padding skipped).
  auto all = torch::stack(features, 1);
  if (rows.defined()) all = all.index({rows});
  DecoderOutput out{project(all), torch::stack(weights, 1), {}, {}};
  if (!log_probs.empty()) out.log_probs = torch::stack(log_probs, 1);
  if (!entropies.empty()) out.entropies = torch::stack(entropies, 1);
  return out;
}

}  // namespace attnzoo
