#include "models/seq2seq.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "data/config_checks.h"
#include "data/error.h"
#include "data/vocab.h"

namespace attnzoo {

Seq2SeqOptions Seq2SeqOptions::from_json(const nlohmann::json& j, int64_t src_vocab_size,
                                         int64_t tgt_vocab_size) {
  static const std::set<std::string> kKeys = {"embedding_size",
                                              "encoder_hidden_size",
                                              "decoder_hidden_size",
                                              "encoder_layers",
                                              "decoder_layers",
                                              "bidirectional",
                                              "rnn",
                                              "dropout",
                                              "attention",
                                              "attention_size",
                                              "readout_size",
                                              "hard_eval"};
  for (const auto& [key, value] : j.items())
    if (!kKeys.count(key)) throw UserError("config: unknown key model.{}", key);
  require_at_least(j, "model",
                   {"embedding_size", "encoder_hidden_size", "decoder_hidden_size",
                    "encoder_layers", "decoder_layers"},
                   1);
  require_between(j, "model", "dropout", 0, 1);
  Seq2SeqOptions o(src_vocab_size, tgt_vocab_size);
  try {
    o.embedding_size(j.value("embedding_size", o.embedding_size()));
    o.encoder_hidden_size(j.value("encoder_hidden_size", o.encoder_hidden_size()));
    o.decoder_hidden_size(j.value("decoder_hidden_size", o.decoder_hidden_size()));
    o.encoder_layers(j.value("encoder_layers", o.encoder_layers()));
    o.decoder_layers(j.value("decoder_layers", o.decoder_layers()));
    o.bidirectional(j.value("bidirectional", o.bidirectional()));
    o.rnn(choice_at(j, "model", "rnn", o.rnn(), cells()));
    o.dropout(j.value("dropout", o.dropout()));
    o.attention(choice_at(j, "model", "attention", o.attention(), attention_kinds()));
    o.attention_size(j.value("attention_size", o.attention_size()));
    o.readout_size(j.value("readout_size", o.readout_size()));
    o.hard_eval(choice_at(j, "model", "hard_eval", o.hard_eval(), hard_evals()));
  } catch (const nlohmann::json::exception& e) {
    throw UserError("config: model section has a value of the wrong type ({})", e.what());
  }
  for (int64_t v : {o.embedding_size(), o.encoder_hidden_size(), o.decoder_hidden_size(),
                    o.encoder_layers(), o.decoder_layers()})
    if (v <= 0) throw UserError("config: model sizes and layer counts must be positive");
  if (o.dropout() < 0 || o.dropout() >= 1)
    throw UserError("config: model.dropout must be in [0, 1)");
  return o;
}

nlohmann::json Seq2SeqOptions::to_json() const {
  return {{"embedding_size", embedding_size()},
          {"encoder_hidden_size", encoder_hidden_size()},
          {"decoder_hidden_size", decoder_hidden_size()},
          {"encoder_layers", encoder_layers()},
          {"decoder_layers", decoder_layers()},
          {"bidirectional", bidirectional()},
          {"rnn", choice_name(rnn(), cells())},
          {"dropout", dropout()},
          {"attention", choice_name(attention(), attention_kinds())},
          {"attention_size", attention_size()},
          {"readout_size", readout_size()},
          {"hard_eval", choice_name(hard_eval(), hard_evals())}};
}

Seq2SeqImpl::Seq2SeqImpl(Seq2SeqOptions options_) : options(std::move(options_)) { reset(); }

void Seq2SeqImpl::reset() {
  const auto& o = options;
  encoder = register_module(
      "encoder",
      Encoder(EncoderOptions(o.src_vocab_size(), o.embedding_size(), o.encoder_hidden_size())
                  .num_layers(o.encoder_layers())
                  .bidirectional(o.bidirectional())
                  .dropout(o.dropout())
                  .rnn(o.rnn())));
  decoder = register_module("decoder",
                            Decoder(DecoderOptions(o.tgt_vocab_size(), o.embedding_size(),
                                                   o.decoder_hidden_size(), encoder->output_size())
                                        .num_layers(o.decoder_layers())
                                        .dropout(o.dropout())
                                        .rnn(o.rnn())
                                        .attention(o.attention())
                                        .attention_size(o.attention_size())
                                        .readout_size(o.readout_size())
                                        .hard_eval(o.hard_eval())));
}

std::pair<Memory, DecoderState> Seq2SeqImpl::encode(const torch::Tensor& src,
                                                    const torch::Tensor& lengths) {
  const auto encoded = encoder->forward(src, lengths);
  const auto mask = src.ne(Vocab::kPad);
  Memory memory = decoder->attention->prepare(encoded.outputs, mask, encoded.summary);
  return {std::move(memory), decoder->initial_state(encoded.summary)};
}

DecoderOutput Seq2SeqImpl::forward(const torch::Tensor& src, const torch::Tensor& lengths,
                                   const torch::Tensor& tgt_in, double teacher_forcing,
                                   const torch::Tensor& rows) {
  auto [memory, state] = encode(src, lengths);
  return decoder->forward(tgt_in, memory, std::move(state), teacher_forcing, rows);
}

int64_t Seq2SeqImpl::num_parameters() const {
  int64_t n = 0;
  for (const auto& p : parameters()) n += p.numel();
  return n;
}

}  // namespace attnzoo

namespace attnzoo {

Seq2SeqStepper::Seq2SeqStepper(Seq2Seq model, const torch::Tensor& src,
                               const torch::Tensor& lengths, const torch::Tensor& candidates)
    : model_(std::move(model)) {
  std::tie(memory_, state_) = model_->encode(src, lengths);
  if (!candidates.defined()) return;
  const auto& out = model_->decoder->out;
  candidates_ = candidates.to(out->weight.device(), torch::kLong);
  // fp32 rows, an int8 decoder's too: the exported file's search cannot hold
  // a per-batch int8 pack, and both must decode alike.
  shortlisted_weight_ = out->weight.index_select(0, candidates_);
  shortlisted_bias_ = out->bias.index_select(0, candidates_);
}

torch::Tensor Seq2SeqStepper::step(const torch::Tensor& tokens, torch::Tensor* weights) {
  auto result = model_->decoder->step(tokens, state_, memory_);
  state_ = std::move(result.state);
  if (weights != nullptr) *weights = result.weights;
  if (!candidates_.defined())
    return torch::log_softmax(model_->decoder->project(result.features), -1);
  const auto x = model_->decoder->output_input(result.features);
  const auto logits = torch::addmm(shortlisted_bias_, x, shortlisted_weight_.t());
  auto all = torch::full({x.size(0), model_->decoder->options.vocab_size()},
                         -std::numeric_limits<float>::infinity(), logits.options());
  return all.index_copy_(1, candidates_, torch::log_softmax(logits, -1));
}

void Seq2SeqStepper::select(const torch::Tensor& rows) {
  memory_ = memory_.index_select(rows);
  state_ = state_.index_select(rows);
}

std::vector<int64_t> source_length_limits(const torch::Tensor& source_lengths, double ratio,
                                          int64_t offset, int64_t cap) {
  const auto lengths = source_lengths.to(torch::kCPU, torch::kLong).contiguous();
  std::vector<int64_t> limits(lengths.size(0));
  for (int64_t b = 0; b < lengths.size(0); ++b) {
    const auto n = static_cast<double>(lengths[b].item<int64_t>());
    limits[b] = std::max<int64_t>(1, static_cast<int64_t>(std::floor(ratio * n)) + offset);
    if (cap > 0) limits[b] = std::min(limits[b], cap);
  }
  return limits;
}

}  // namespace attnzoo
