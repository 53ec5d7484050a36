// models/attention.ts filled in for one attention module: its kind decides
// the scores.
#include <attnzoo/torchscript/models/attention.h>
#include <fmt/format.h>

#include "models/attention.h"

namespace attnzoo {

std::string attention_source(const AttentionImpl& attention, const std::string& p) {
  const auto kind = attention.options.kind();
  const bool additive = kind == AttentionKind::kAdditive || kind == AttentionKind::kHard;
  const std::string keys = attention.key_proj
                               ? fmt::format("self.linear(values, {}.key_proj.weight, None)", p)
                               : std::string("values");
  // additive and hard: v' tanh(W_q q + W_k k); dot and general: q' k over the
  // keys; scaled-dot: q' k / sqrt(D), D read off the keys as the C++ does.
  const std::string scores =
      additive
          ? fmt::format(
                "q = self.linear(query, {0}.query_proj.weight, {0}.query_proj.bias).unsqueeze(1)\n"
                "    scores = self.linear(torch.tanh(keys + q), {0}.energy.weight, "
                "None).squeeze(2)",
                p)
      : kind == AttentionKind::kScaledDot
          ? "scores = torch.bmm(keys, query.unsqueeze(2)).squeeze(2) / float(keys.size(2)) ** 0.5"
          : "scores = torch.bmm(keys, query.unsqueeze(2)).squeeze(2)";
  const bool argmax =
      kind == AttentionKind::kHard && attention.options.hard_eval() == HardEval::kArgmax;
  return fmt::format(fmt::runtime(torchscript::models_attention), fmt::arg("keys", keys),
                     fmt::arg("variant", kind == AttentionKind::kNone ? "none" : "scored"),
                     fmt::arg("scores", scores), fmt::arg("argmax", argmax ? "True" : "False"));
}

}  // namespace attnzoo
