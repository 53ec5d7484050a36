#include "models/attention.h"

#include <cmath>

#include "data/error.h"

namespace attnzoo {

const Choices<AttentionKind>& attention_kinds() {
  static const Choices<AttentionKind> kinds = {
      {"additive", AttentionKind::kAdditive}, {"dot", AttentionKind::kDot},
      {"general", AttentionKind::kGeneral},   {"scaled-dot", AttentionKind::kScaledDot},
      {"none", AttentionKind::kNone},         {"hard", AttentionKind::kHard}};
  return kinds;
}

std::string attention_help(const std::vector<AttentionKind>& except) {
  std::string names = choice_names(attention_kinds(), except);
  const size_t last = names.rfind(", ");
  if (last != std::string::npos) names.replace(last, 2, " or ");
  return names +
         " (--attention; additive is Bahdanau et al.'s, dot and general Luong et al.'s, "
         "scaled-dot Vaswani et al.'s, none the fixed-context encoder-decoder, hard Xu et al.'s "
         "trained with REINFORCE: models/attention.h)";
}

const Choices<HardEval>& hard_evals() {
  static const Choices<HardEval> evals = {{"argmax", HardEval::kArgmax},
                                          {"expectation", HardEval::kExpectation}};
  return evals;
}

Memory Memory::index_select(const torch::Tensor& rows) const {
  Memory m;
  m.values = values.index_select(0, rows);
  m.keys = keys.index_select(0, rows);
  m.mask = mask.index_select(0, rows);
  if (summary.defined()) m.summary = summary.index_select(0, rows);
  return m;
}

AttentionImpl::AttentionImpl(AttentionOptions options_) : options(std::move(options_)) { reset(); }

void AttentionImpl::reset() {
  const auto& o = options;
  const auto kind = o.kind();
  if (kind == AttentionKind::kAdditive || kind == AttentionKind::kHard) {
    const int64_t a = o.hidden_size() > 0 ? o.hidden_size() : o.query_size();
    query_proj = register_module("query_proj", torch::nn::Linear(o.query_size(), a));
    key_proj = register_module(
        "key_proj", torch::nn::Linear(torch::nn::LinearOptions(o.value_size(), a).bias(false)));
    energy =
        register_module("energy", torch::nn::Linear(torch::nn::LinearOptions(a, 1).bias(false)));
    if (kind == AttentionKind::kHard) {
      baseline = register_module("baseline", MovingAverageBaseline(o.baseline_decay()));
    }
  } else if (kind == AttentionKind::kGeneral) {
    key_proj = register_module(
        "key_proj",
        torch::nn::Linear(torch::nn::LinearOptions(o.value_size(), o.query_size()).bias(false)));
  } else if ((kind == AttentionKind::kDot || kind == AttentionKind::kScaledDot) &&
             o.query_size() != o.value_size()) {
    throw UserError(
        "attention \"{}\" needs the decoder hidden size ({}) to equal the encoder output size "
        "({}); "
        "use \"general\" or change the sizes",
        choice_name(kind, attention_kinds()), o.query_size(), o.value_size());
  }
}

torch::Tensor AttentionImpl::masked_softmax(const torch::Tensor& scores,
                                            const torch::Tensor& mask) {
  return torch::softmax(
      scores.masked_fill(mask.logical_not(), -std::numeric_limits<double>::infinity()), -1);
}

Memory AttentionImpl::prepare(const torch::Tensor& values, const torch::Tensor& mask,
                              const torch::Tensor& summary) {
  Memory m{values, values, mask, summary};
  if (key_proj) m.keys = key_proj->forward(values);  // (B,S,A) or (B,S,H), once per sequence
  return m;
}

AttentionResult AttentionImpl::forward(const torch::Tensor& query, const Memory& memory) {
  const auto kind = options.kind();
  if (kind == AttentionKind::kNone) {
    return {memory.summary, torch::zeros_like(memory.mask, memory.values.options()), {}, {}};
  }
  torch::Tensor scores;  // (B,S)
  if (kind == AttentionKind::kAdditive || kind == AttentionKind::kHard) {
    // (B,1,A) + (B,S,A) -> tanh -> (B,S,1)
    const auto q = query_proj->forward(query).unsqueeze(1);
    scores = energy->forward(torch::tanh(memory.keys + q)).squeeze(2);
  } else {
    // dot: keys are the values; general: keys are W k. (B,S,H) x (B,H,1) -> (B,S)
    scores = torch::bmm(memory.keys, query.unsqueeze(2)).squeeze(2);
    if (kind == AttentionKind::kScaledDot)
      scores = scores / std::sqrt(static_cast<double>(memory.keys.size(2)));
  }
  const auto weights = masked_softmax(scores, memory.mask);
  if (kind == AttentionKind::kHard) return hard(weights, memory);
  const auto context = torch::bmm(weights.unsqueeze(1), memory.values).squeeze(1);  // (B,D)
  return {context, weights, {}, {}};
}

AttentionResult AttentionImpl::hard(const torch::Tensor& weights, const Memory& memory) {
  AttentionResult r;
  r.weights = weights;
  const bool expectation =
      is_training() ? !sampling_ : options.hard_eval() == HardEval::kExpectation;
  if (is_training()) r.entropy = categorical_entropy(weights);
  if (expectation) {
    r.context = torch::bmm(weights.unsqueeze(1), memory.values).squeeze(1);
    return r;
  }
  // One location per row: sampled while training, the most likely one otherwise.
  const auto where =
      is_training() ? torch::multinomial(weights.detach(), 1) : weights.argmax(1, /*keepdim=*/true);
  const int64_t d = memory.values.size(2);
  r.context = memory.values.gather(1, where.unsqueeze(2).expand({-1, 1, d})).squeeze(1);
  if (is_training()) r.log_prob = weights.gather(1, where).squeeze(1).log();
  return r;
}

}  // namespace attnzoo
