#pragma once
// Seq2seq with attention for regression: read the last L steps of a series,
// predict the next H values of its target.
//
//   x_t   = W_in [values_t; time_t]                      each input step embedded (B,L,E)
//   memory = Encoder(x)                                   the foundation's GRU/LSTM encoder
//   at output step h, with decoder state s_{h-1}:
//     input  direct:          u_h = P_h (+ W_time time_{L+h})   a learned embedding per horizon
//     step
//            autoregressive:  u_h = W_y [y_{h-1}; time_{L+h}]   the previous value (truth under
//                                                                teacher forcing, else its own
//                                                                forecast)
//     c_h, a_h = attention(s_{h-1}, memory)              the foundation's attention family
//     s_h = rnn([u_h; c_h], s_{h-1});  y_h = w' [s_h; c_h; u_h] + b
//
// Instance normalisation (model.instance_norm) subtracts each window's last
// value ("last") or mean ("mean") from every input channel and adds the
// target's back to the forecast: the model predicts the change.
//
// kind "linear" is the NLinear-style baseline: y = W (x_target - last) + b + last,
// one linear map from the L inputs of the target to the H outputs.
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "models/decoder.h"
#include "models/encoder.h"

namespace attnzoo {

enum class ForecasterKind { kSeq2Seq, kLinear };
const Choices<ForecasterKind>& forecaster_kinds();  // seq2seq, linear
// How the seq2seq forecaster's decoder steps: each horizon step from its own
// embedding (direct), or from the value it forecast before (autoregressive).
enum class ForecastDecoder { kDirect, kAutoregressive };
const Choices<ForecastDecoder>& forecast_decoders();  // direct, autoregressive
// What each window is taken relative to: its last step, its mean, or nothing.
enum class InstanceNorm { kLast, kMean, kNone };
const Choices<InstanceNorm>& instance_norms();  // last, mean, none

struct ForecasterOptions {
  ForecasterOptions(int64_t input_size, int64_t input_len, int64_t horizon)
      : input_size_(input_size), input_len_(input_len), horizon_(horizon) {}
  TORCH_ARG(int64_t, input_size);          // F: channels per input step
  TORCH_ARG(int64_t, input_len);           // L
  TORCH_ARG(int64_t, horizon);             // H
  TORCH_ARG(int64_t, target_channel) = 0;  // which input channel is the target
  TORCH_ARG(int64_t, time_size) = 0;       // calendar features per step (0: none)
  TORCH_ARG(ForecasterKind, kind) = ForecasterKind::kSeq2Seq;
  TORCH_ARG(int64_t, embedding_size) = 32;
  TORCH_ARG(int64_t, hidden_size) = 64;
  TORCH_ARG(int64_t, layers) = 1;
  TORCH_ARG(Cell, rnn) = Cell::kGru;
  TORCH_ARG(AttentionKind, attention) = AttentionKind::kAdditive;
  TORCH_ARG(ForecastDecoder, decoder) = ForecastDecoder::kDirect;
  TORCH_ARG(InstanceNorm, instance_norm) = InstanceNorm::kLast;
  TORCH_ARG(double, dropout) = 0.1;

 public:
  static ForecasterOptions from_json(const nlohmann::json& model, int64_t input_size,
                                     int64_t input_len, int64_t horizon, int64_t target_channel,
                                     int64_t time_size);
};

struct ForecastOutput {
  torch::Tensor forecast;   // (B,H)
  torch::Tensor attention;  // (B,H,L); zeros for the linear model
};

class ForecasterImpl : public torch::nn::Module {
 public:
  explicit ForecasterImpl(ForecasterOptions options);
  void reset();
  // inputs (B,L,F); times (B,L+H,time_size) or undefined; targets (B,H), used
  // by the autoregressive decoder in training with probability
  // `teacher_forcing` per step (undefined: its own forecasts throughout).
  ForecastOutput forward(const torch::Tensor& inputs, const torch::Tensor& times = {},
                         const torch::Tensor& targets = {}, double teacher_forcing = 0.0);

  ForecasterOptions options;
  torch::nn::Linear input_proj{nullptr};  // [values; time] -> E
  Encoder encoder{nullptr};
  Decoder decoder{nullptr};
  torch::nn::Embedding horizon_embedding{nullptr};  // direct: one vector per output step
  torch::nn::Linear step_proj{nullptr};  // autoregressive: [y; time] -> E; direct: time -> E
  torch::nn::Linear linear{nullptr};     // kind linear: L -> H
};
TORCH_MODULE(Forecaster);

// The Repeat baseline: every output step is the window's last target value. (B,H).
torch::Tensor repeat_forecast(const torch::Tensor& inputs, int64_t target_channel, int64_t horizon);

// Its TorchScript (models/forecaster_script.cpp), defined in order after
// kLinearSource: forward(values[, times]) -> (forecast, attention) in the
// CSV's units, for a forecaster mirrored at the root (the linear model's map
// under "linear_map") with the attributes export_forecaster registers.
std::vector<std::string> forecaster_sources(const ForecasterImpl& model);

}  // namespace attnzoo
