#include "models/forecaster.h"

#include <set>

#include "data/config_checks.h"
#include "data/error.h"

namespace attnzoo {

ForecasterOptions ForecasterOptions::from_json(const nlohmann::json& j, int64_t input_size,
                                               int64_t input_len, int64_t horizon,
                                               int64_t target_channel, int64_t time_size) {
  static const std::set<std::string> kKeys = {
      "kind",      "embedding_size", "hidden_size",   "layers", "rnn",
      "attention", "decoder",        "instance_norm", "dropout"};
  for (const auto& [key, value] : j.items())
    if (!kKeys.count(key)) throw UserError("config: unknown key model.{}", key);
  require_at_least(j, "model", {"embedding_size", "hidden_size", "layers"}, 1);
  require_between(j, "model", "dropout", 0, 1);
  ForecasterOptions o(input_size, input_len, horizon);
  o.target_channel(target_channel).time_size(time_size);
  try {
    o.kind(choice_at(j, "model", "kind", o.kind(), forecaster_kinds()));
    o.embedding_size(j.value("embedding_size", o.embedding_size()));
    o.hidden_size(j.value("hidden_size", o.hidden_size()));
    o.layers(j.value("layers", o.layers()));
    o.rnn(choice_at(j, "model", "rnn", o.rnn(), cells()));
    o.attention(choice_at(j, "model", "attention", o.attention(), attention_kinds()));
    o.decoder(choice_at(j, "model", "decoder", o.decoder(), forecast_decoders()));
    o.instance_norm(choice_at(j, "model", "instance_norm", o.instance_norm(), instance_norms()));
    o.dropout(j.value("dropout", o.dropout()));
  } catch (const nlohmann::json::exception& e) {
    throw UserError("config: model section has a value of the wrong type ({})", e.what());
  }
  return o;
}

const Choices<ForecasterKind>& forecaster_kinds() {
  static const Choices<ForecasterKind> kinds = {{"seq2seq", ForecasterKind::kSeq2Seq},
                                                {"linear", ForecasterKind::kLinear}};
  return kinds;
}

const Choices<ForecastDecoder>& forecast_decoders() {
  static const Choices<ForecastDecoder> decoders = {
      {"direct", ForecastDecoder::kDirect}, {"autoregressive", ForecastDecoder::kAutoregressive}};
  return decoders;
}

const Choices<InstanceNorm>& instance_norms() {
  static const Choices<InstanceNorm> norms = {
      {"last", InstanceNorm::kLast}, {"mean", InstanceNorm::kMean}, {"none", InstanceNorm::kNone}};
  return norms;
}

ForecasterImpl::ForecasterImpl(ForecasterOptions options_) : options(std::move(options_)) {
  reset();
}

void ForecasterImpl::reset() {
  const auto& o = options;
  if (o.input_len() < 1 || o.horizon() < 1)
    throw UserError("input length and horizon must be at least 1");
  if (o.target_channel() < 0 || o.target_channel() >= o.input_size())
    throw UserError("the target channel {} is not one of the {} inputs", o.target_channel(),
                    o.input_size());
  if (o.kind() == ForecasterKind::kLinear) {
    linear = register_module("linear", torch::nn::Linear(o.input_len(), o.horizon()));
    return;
  }
  if (o.attention() == AttentionKind::kHard)
    throw UserError(
        "model.attention \"hard\" is not trained for forecasting; use additive, dot, general or "
        "none");
  for (int64_t v : {o.embedding_size(), o.hidden_size(), o.layers()})
    if (v < 1) throw UserError("config: model sizes and layer counts must be positive");
  const int64_t e = o.embedding_size();
  input_proj = register_module("input_proj", torch::nn::Linear(o.input_size() + o.time_size(), e));
  encoder = register_module("encoder", Encoder(EncoderOptions(0, e, o.hidden_size())
                                                   .num_layers(o.layers())
                                                   .bidirectional(true)
                                                   .dropout(o.dropout())
                                                   .rnn(o.rnn())));
  decoder = register_module("decoder",
                            Decoder(DecoderOptions(1, e, o.hidden_size(), encoder->output_size())
                                        .num_layers(o.layers())
                                        .dropout(o.dropout())
                                        .rnn(o.rnn())
                                        .attention(o.attention())
                                        .token_input(false)));
  if (o.decoder() == ForecastDecoder::kDirect) {
    horizon_embedding = register_module("horizon_embedding", torch::nn::Embedding(o.horizon(), e));
    if (o.time_size() > 0)
      step_proj = register_module("step_proj", torch::nn::Linear(o.time_size(), e));
  } else {
    step_proj = register_module("step_proj", torch::nn::Linear(1 + o.time_size(), e));
  }
}

ForecastOutput ForecasterImpl::forward(const torch::Tensor& inputs, const torch::Tensor& times,
                                       const torch::Tensor& targets, double teacher_forcing) {
  const auto& o = options;
  if (inputs.dim() != 3 || inputs.size(1) != o.input_len() || inputs.size(2) != o.input_size())
    throw UserError("forecaster expects inputs (B,{},{}), got {}", o.input_len(), o.input_size(),
                    fmt::format("{}", fmt::join(inputs.sizes(), "x")));
  const int64_t batch = inputs.size(0), steps = o.input_len(), horizon = o.horizon();
  torch::Tensor offset;  // (B,1,F)
  if (o.instance_norm() == InstanceNorm::kLast) {
    offset = inputs.slice(1, steps - 1, steps);
  } else if (o.instance_norm() == InstanceNorm::kMean) {
    offset = inputs.mean(1, /*keepdim=*/true);
  } else {
    offset = torch::zeros({batch, 1, o.input_size()}, inputs.options());
  }
  const auto x = inputs - offset;
  const auto target_offset = offset.select(2, o.target_channel());  // (B,1)
  if (linear) {
    const auto y = linear->forward(x.select(2, o.target_channel()));
    return {y + target_offset, torch::zeros({batch, horizon, steps}, inputs.options())};
  }
  const bool timed = o.time_size() > 0;
  if (timed &&
      (!times.defined() || times.size(1) != steps + horizon || times.size(2) != o.time_size()))
    throw UserError("this forecaster needs calendar features (B,{},{})", steps + horizon,
                    o.time_size());
  auto step_inputs = timed ? torch::cat({x, times.slice(1, 0, steps)}, 2) : x;
  const auto embedded = decoder->dropout->forward(input_proj->forward(step_inputs));
  const auto encoded = encoder->forward_embedded(
      embedded, torch::full({batch}, steps, torch::TensorOptions().dtype(torch::kLong)));
  const auto mask = torch::ones({batch, steps},
                                torch::TensorOptions().dtype(torch::kBool).device(inputs.device()));
  const Memory memory = decoder->attention->prepare(encoded.outputs, mask, encoded.summary);
  DecoderState state = decoder->initial_state(encoded.summary);

  const bool direct = o.decoder() == ForecastDecoder::kDirect;
  std::vector<torch::Tensor> features, weights, outputs;
  auto previous = x.select(1, steps - 1).select(1, o.target_channel());  // (B)
  const auto shifted = targets.defined() ? targets - target_offset : torch::Tensor();
  for (int64_t h = 0; h < horizon; ++h) {
    torch::Tensor u;
    const auto time_h = timed ? times.select(1, steps + h) : torch::Tensor();
    if (direct) {
      u = horizon_embedding->weight[h].unsqueeze(0).expand({batch, -1});
      if (timed) u = u + step_proj->forward(time_h);
    } else {
      auto y_in = previous;
      if (h > 0 && shifted.defined() && is_training() && teacher_forcing > 0.0 &&
          torch::rand({1}).item<double>() < teacher_forcing)
        y_in = shifted.select(1, h - 1);
      auto in = y_in.unsqueeze(1);
      if (timed) in = torch::cat({in, time_h}, 1);
      u = step_proj->forward(in);
    }
    const auto step = decoder->step_embedded(decoder->dropout->forward(u), state, memory);
    state = step.state;
    weights.push_back(step.weights);
    if (direct) {
      features.push_back(step.features);
    } else {
      previous = decoder->project(step.features).squeeze(1);
      outputs.push_back(previous);
    }
  }
  // Direct: one projection of all steps after the loop.
  const auto forecast =
      direct ? decoder->project(torch::stack(features, 1)).squeeze(2) : torch::stack(outputs, 1);
  return {forecast + target_offset, torch::stack(weights, 1)};
}

torch::Tensor repeat_forecast(const torch::Tensor& inputs, int64_t target_channel,
                              int64_t horizon) {
  return inputs.select(2, target_channel)
      .select(1, inputs.size(1) - 1)
      .unsqueeze(1)
      .expand({-1, horizon});
}

}  // namespace attnzoo
