// The forecaster's TorchScript: models/forecaster.ts (scaling, instance
// normalisation, calendar features) around models/forecaster_seq2seq.ts
// (its attention, encoder and decoder) or models/forecaster_linear.ts.
#include <attnzoo/torchscript/models/forecaster.h>
#include <attnzoo/torchscript/models/forecaster_linear.h>
#include <attnzoo/torchscript/models/forecaster_seq2seq.h>
#include <fmt/format.h>

#include "models/forecaster.h"

namespace attnzoo {

namespace {

// models/forecaster_seq2seq.ts filled with what the model's options decide.
std::string forecaster_seq2seq_source(const ForecasterImpl& f) {
  const auto& o = f.options;
  const bool timed = o.time_size() > 0;
  const bool direct = o.decoder() == ForecastDecoder::kDirect;
  std::string input = direct ? "self.horizon_embedding.weight[h].unsqueeze(0).expand([batch, -1])"
                             : "self.linear(PREV, self.step_proj.weight, self.step_proj.bias)";
  if (direct && timed)
    input +=
        " + self.linear(times.select(1, steps + h), self.step_proj.weight, self.step_proj.bias)";
  const std::string prev = timed
                               ? "torch.cat([previous.unsqueeze(1), times.select(1, steps + h)], 1)"
                               : "previous.unsqueeze(1)";
  if (!direct) input.replace(input.find("PREV"), 4, prev);
  return fmt::format(fmt::runtime(torchscript::models_forecaster_seq2seq),
                     fmt::arg("timed", timed ? "True" : "False"), fmt::arg("input", input),
                     fmt::arg("direct", direct ? "True" : "False"));
}

}  // namespace

std::vector<std::string> forecaster_sources(const ForecasterImpl& model) {
  const auto& o = model.options;
  std::vector<std::string> out;
  if (!model.linear) {
    out.push_back(attention_source(*model.decoder->attention, "self.decoder.attention"));
    out.push_back(encoder_source(*model.encoder, "self.encoder"));
    out.push_back(decoder_source(*model.decoder, "self.decoder"));
  }
  out.push_back(model.linear ? std::string(torchscript::models_forecaster_linear)
                             : forecaster_seq2seq_source(model));
  const bool timed = o.time_size() > 0;
  out.push_back(fmt::format(
      fmt::runtime(torchscript::models_forecaster),
      fmt::arg("offset", o.instance_norm() == InstanceNorm::kLast ? "x.slice(1, steps - 1, steps)"
                         : o.instance_norm() == InstanceNorm::kMean
                             ? "x.mean(1, keepdim=True)"
                             : "torch.zeros_like(x.slice(1, 0, 1))"),
      fmt::arg("model", model.linear ? "linear" : "seq2seq"),
      fmt::arg("inputs", timed ? "values: Tensor, times: Tensor" : "values: Tensor"),
      fmt::arg("times", timed ? "times" : "values")));
  return out;
}

}  // namespace attnzoo
