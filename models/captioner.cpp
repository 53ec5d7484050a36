#include "models/captioner.h"

#include <fmt/ranges.h>

#include <cmath>

#include "data/config_checks.h"
#include "data/error.h"
#include "data/vocab.h"

namespace attnzoo {

CaptionState CaptionState::index_select(const torch::Tensor& rows) const {
  return {h.index_select(0, rows), c.index_select(0, rows)};
}

const Choices<CaptionReadout>& caption_readouts() {
  static const Choices<CaptionReadout> outputs = {{"context", CaptionReadout::kContext},
                                                  {"mixture", CaptionReadout::kMixture}};
  return outputs;
}

CaptionDecoderImpl::CaptionDecoderImpl(CaptionDecoderOptions options_)
    : options(std::move(options_)) {
  reset();
}

void CaptionDecoderImpl::reset() {
  const auto& o = options;
  if (o.attention() == AttentionKind::kNone)
    throw UserError(
        "captioning needs attention over the image (additive, dot, general or hard), not \"none\"");
  if (o.output() == CaptionReadout::kMixture && o.attention() == AttentionKind::kHard)
    throw UserError(
        "config: model.output mixture sums over every location; hard attention samples one (use "
        "context)");
  const int64_t e = o.embedding_size(), h = o.hidden_size(), d = o.feature_size();
  embedding = register_module(
      "embedding", torch::nn::Embedding(
                       torch::nn::EmbeddingOptions(o.vocab_size(), e).padding_idx(Vocab::kPad)));
  attention = register_module("attention", Attention(AttentionOptions(o.attention(), h, d)
                                                         .hidden_size(o.attention_size())
                                                         .hard_eval(o.hard_eval())));
  init_h = register_module("init_h", torch::nn::Linear(d, h));
  init_c = register_module("init_c", torch::nn::Linear(d, h));
  if (o.gate()) gate = register_module("gate", torch::nn::Linear(h, 1));
  cell = register_module("cell", torch::nn::LSTMCell(e + d, h));
  out_h = register_module("out_h", torch::nn::Linear(h, e));
  out_z = register_module("out_z", torch::nn::Linear(torch::nn::LinearOptions(d, e).bias(false)));
  out = register_module("out", torch::nn::Linear(e, o.vocab_size()));
  dropout = register_module("dropout", torch::nn::Dropout(o.dropout()));
}

Memory CaptionDecoderImpl::prepare(const torch::Tensor& features) {
  if (features.dim() != 3 || features.size(2) != options.feature_size())
    throw UserError("caption decoder expects features (B,L,{}), got {}", options.feature_size(),
                    fmt::join(features.sizes(), "x"));
  const auto mask =
      torch::ones({features.size(0), features.size(1)},
                  torch::TensorOptions().dtype(torch::kBool).device(features.device()));
  return attention->prepare(features, mask, features.mean(1));
}

CaptionState CaptionDecoderImpl::initial_state(const Memory& memory) {
  return {torch::tanh(init_h(memory.summary)), torch::tanh(init_c(memory.summary))};
}

torch::Tensor CaptionDecoderImpl::location_outputs(const Memory& memory) {
  if (!mixture()) return {};
  return torch::nn::functional::linear(dropout(out_z(memory.values)), out->weight);
}

CaptionStep CaptionDecoderImpl::embed_step(const torch::Tensor& embedded, const CaptionState& state,
                                           const Memory& memory, const torch::Tensor& located) {
  CaptionStep s;
  const auto attended = attention->forward(state.h, memory);
  s.gate =
      gate ? torch::sigmoid(gate(state.h)) : torch::ones({state.h.size(0), 1}, state.h.options());
  const auto z = s.gate * attended.context;
  auto [h, c] = cell(torch::cat({embedded, z}, 1), std::make_tuple(state.h, state.c));
  if (mixture()) {  // E y + L_h h, and each location's beta W_o L_z a_i
    s.features = embedded + out_h(h);
    s.located = s.gate.unsqueeze(1) * (located.defined() ? located : location_outputs(memory));
  } else {
    s.features = embedded + out_h(h) + out_z(z);
  }
  s.weights = attended.weights;
  s.log_prob = attended.log_prob;
  s.entropy = attended.entropy;
  s.state = {h, c};
  return s;
}

CaptionStep CaptionDecoderImpl::step(const torch::Tensor& tokens, const CaptionState& state,
                                     const Memory& memory, const torch::Tensor& located) {
  return embed_step(embedding(tokens), state, memory, located);
}

torch::Tensor CaptionDecoderImpl::project(const torch::Tensor& features,
                                          const torch::Tensor& located,
                                          const torch::Tensor& weights) {
  const auto logits = out(dropout(features));
  if (!mixture()) return logits;
  // log sum_i alpha_i p(y | i); a weight that underflowed to 0 contributes nothing (and no NaN
  // gradient).
  const auto log_weights = weights.clamp_min(1e-30).log().unsqueeze(-1);
  return torch::logsumexp(torch::log_softmax(logits.unsqueeze(-2) + located, -1) + log_weights, -2);
}

CaptionOutput CaptionDecoderImpl::forward(const torch::Tensor& features,
                                          const torch::Tensor& captions_in,
                                          const torch::Tensor& rows) {
  const Memory memory = prepare(features);
  const auto located = location_outputs(memory);
  CaptionState state = initial_state(memory);
  const auto embedded = embedding(captions_in).unbind(1);  // T x (B,E)
  std::vector<torch::Tensor> outs, locateds, alphas, gates, log_probs, entropies;
  for (const auto& e : embedded) {
    auto s = embed_step(e, state, memory, located);
    outs.push_back(s.features);
    if (s.located.defined()) locateds.push_back(s.located);
    alphas.push_back(s.weights);
    gates.push_back(s.gate.squeeze(1));
    if (s.log_prob.defined()) log_probs.push_back(s.log_prob);
    if (s.entropy.defined()) entropies.push_back(s.entropy);
    state = std::move(s.state);
  }
  const auto weights = torch::stack(alphas, 1);  // (B,T,L)
  const auto at_rows = [&](const torch::Tensor& x) { return rows.defined() ? x.index({rows}) : x; };
  const auto all = at_rows(torch::stack(outs, 1));  // (B,T,E) or (N,E)
  const auto shares =
      locateds.empty() ? torch::Tensor() : at_rows(torch::stack(locateds, 1));  // (B,T,L,V)
  CaptionOutput o{project(all, shares, at_rows(weights)), weights, torch::stack(gates, 1), {}, {}};
  if (!log_probs.empty()) o.log_probs = torch::stack(log_probs, 1);
  if (!entropies.empty()) o.entropies = torch::stack(entropies, 1);
  return o;
}

torch::Tensor grid_positions(int64_t h, int64_t w, int64_t frequencies) {
  const auto centres = [](int64_t n) {
    return (torch::arange(n, torch::kFloat) + 0.5) / static_cast<double>(n) * 2 - 1;
  };
  const auto y = centres(h).view({h, 1}).expand({h, w}).reshape({h * w});
  const auto x = centres(w).view({1, w}).expand({h, w}).reshape({h * w});
  std::vector<torch::Tensor> channels;
  for (int64_t k = 0; k < frequencies; ++k) {
    const double f = M_PI * static_cast<double>(int64_t{1} << k);
    channels.insert(channels.end(),
                    {torch::sin(f * x), torch::cos(f * x), torch::sin(f * y), torch::cos(f * y)});
  }
  if (channels.empty()) return torch::zeros({h * w, 0});
  return torch::stack(channels, 1);
}

torch::Tensor doubly_stochastic_penalty(const torch::Tensor& alphas, const torch::Tensor& rows,
                                        double lambda) {
  // alphas (B,T,L); rows (B,T) bool
  const auto attention_per_location =
      (alphas * rows.unsqueeze(2).to(alphas.dtype())).sum(1);  // (B,L)
  return lambda * (1.0 - attention_per_location).pow(2).sum(1).mean();
}

torch::Tensor attention_entropy(const torch::Tensor& alphas, const torch::Tensor& rows) {
  // alphas (B,T,L); rows (B,T) bool. xlogy gives 0 log 0 = 0.
  const auto entropy = -torch::xlogy(alphas, alphas).sum(2);  // (B,T)
  return entropy.masked_select(rows).mean();
}

CaptionStepper::CaptionStepper(CaptionDecoder decoder, const torch::Tensor& features)
    : decoder_(std::move(decoder)) {
  memory_ = decoder_->prepare(features);
  located_ = decoder_->location_outputs(memory_);
  state_ = decoder_->initial_state(memory_);
}

torch::Tensor CaptionStepper::step(const torch::Tensor& tokens, torch::Tensor* weights) {
  auto s = decoder_->step(tokens, state_, memory_, located_);
  state_ = std::move(s.state);
  if (weights != nullptr) *weights = s.weights;
  return torch::log_softmax(decoder_->project(s.features, s.located, s.weights), -1);
}

void CaptionStepper::select(const torch::Tensor& rows) {
  memory_ = memory_.index_select(rows);
  if (located_.defined()) located_ = located_.index_select(0, rows);
  state_ = state_.index_select(rows);
}

CaptionNetOptions CaptionNetOptions::from_json(const nlohmann::json& config, int64_t vocab_size) {
  const auto& e = config.at("encoder");
  require_at_least(e, "encoder", {"width"}, 1);
  require_at_least(config.at("model"), "model", {"embedding_size", "hidden_size", "attention_size"},
                   1);
  require_between(config.at("model"), "model", "dropout", 0, 1);
  const auto encoder = ResNetOptions(e.at("depth").get<int64_t>())
                           .width(e.at("width"))
                           .last_stage(e.at("last_stage"))
                           .grid(e.at("grid"));
  const int64_t positions = e.at("positions");
  if (positions < 0 || positions > 16)
    throw UserError("config: encoder.positions must be 0 (none) to 16 frequencies, not {}",
                    positions);
  const auto& m = config.at("model");
  const auto decoder =
      CaptionDecoderOptions(vocab_size, resnet_feature_size(encoder) + 4 * positions)
          .embedding_size(m.at("embedding_size"))
          .hidden_size(m.at("hidden_size"))
          .attention_size(m.at("attention_size"))
          .attention(parse_choice(m.at("attention"), "model.attention", attention_kinds()))
          .gate(m.at("gate"))
          .output(parse_choice(m.at("output"), "model.output", caption_readouts()))
          .dropout(m.at("dropout"))
          .hard_eval(parse_choice(m.at("hard_eval"), "model.hard_eval", hard_evals()));
  return CaptionNetOptions(encoder, decoder).positions(positions);
}

CaptionNetImpl::CaptionNetImpl(CaptionNetOptions options_) : options(std::move(options_)) {
  encoder = register_module("encoder", ResNet(options.encoder()));
  const int64_t features = encoder->feature_size() + 4 * options.positions();
  TORCH_CHECK(options.decoder().feature_size() == features, "CaptionNet: the decoder reads ",
              options.decoder().feature_size(), " features per location, the encoder gives ",
              features);
  decoder = register_module("decoder", CaptionDecoder(options.decoder()));
}

torch::Tensor CaptionNetImpl::encode(const torch::Tensor& images, int64_t* grid_h,
                                     int64_t* grid_w) {
  int64_t h = 0, w = 0;
  auto values = encoder->locations(images, &h, &w);
  if (grid_h != nullptr) *grid_h = h;
  if (grid_w != nullptr) *grid_w = w;
  if (options.positions() == 0) return values;
  const auto where =
      grid_positions(h, w, options.positions()).to(values.device(), values.scalar_type());
  return torch::cat({values, where.unsqueeze(0).expand({values.size(0), -1, -1})}, 2);
}

}  // namespace attnzoo
