#include "models/search.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace attnzoo {
namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

// The limits as given, checked once (a zero limit would step past the end).
std::vector<int64_t> checked_limits(const std::vector<int64_t>& max_lengths,
                                    const SearchOptions& o) {
  if (o.bos < 0)
    throw std::invalid_argument("search: SearchOptions.bos is unset (take it from the vocabulary)");
  for (const int64_t limit : max_lengths)
    if (limit < 1)
      throw std::invalid_argument("search: every max length must be at least 1 (got " +
                                  std::to_string(limit) + ")");
  return max_lengths;
}

// A hypothesis under construction: its tokens and per-step attention rows.
struct Partial {
  std::vector<int64_t> tokens;
  std::vector<torch::Tensor> attention;  // (S) per token
  double log_prob = 0.0;
};

Hypothesis finish(Partial p, const SearchOptions& o) {
  Hypothesis h;
  h.log_prob = p.log_prob;
  h.score =
      p.log_prob / gnmt_length_penalty(static_cast<int64_t>(p.tokens.size()), o.length_penalty);
  if (!p.attention.empty() && p.attention.front().defined())
    h.attention = torch::stack(p.attention);
  h.score += gnmt_coverage_penalty(h.attention, o.coverage_penalty);
  h.tokens = std::move(p.tokens);
  return h;
}

torch::Tensor rows_tensor(const std::vector<int64_t>& rows, const torch::Device& device) {
  return torch::tensor(rows, torch::kLong).to(device);
}

}  // namespace

EnsembleStepModel::EnsembleStepModel(std::vector<std::unique_ptr<StepModel>> members)
    : members_(std::move(members)) {
  if (members_.empty()) throw std::invalid_argument("EnsembleStepModel: no members");
}

torch::Tensor EnsembleStepModel::step(const torch::Tensor& tokens, torch::Tensor* weights) {
  torch::Tensor log_probs, attention;
  bool every_attention = weights != nullptr;
  for (auto& m : members_) {
    torch::Tensor w;
    const auto lp = m->step(tokens, weights != nullptr ? &w : nullptr);
    log_probs = log_probs.defined() ? log_probs + lp : lp;
    if (!w.defined()) every_attention = false;
    if (every_attention) attention = attention.defined() ? attention + w : w;
  }
  const double n = static_cast<double>(members_.size());
  if (weights != nullptr) *weights = every_attention ? attention / n : torch::Tensor();
  return log_probs / n;
}

void EnsembleStepModel::select(const torch::Tensor& rows) {
  for (auto& m : members_) m->select(rows);
}

double gnmt_coverage_penalty(const torch::Tensor& attention, double beta) {
  if (beta == 0.0 || !attention.defined() || attention.numel() == 0) return 0.0;
  const auto coverage = attention.to(torch::kCPU, torch::kDouble).sum(0);
  const auto attended = coverage.masked_select(coverage > 0);
  return beta * attended.clamp_max(1.0).log().sum().item<double>();
}

double gnmt_length_penalty(int64_t length, double alpha) {
  return alpha == 0.0 ? 1.0 : std::pow((5.0 + static_cast<double>(length)) / 6.0, alpha);
}

std::vector<std::vector<Hypothesis>> greedy_search(StepModel& model,
                                                   const std::vector<int64_t>& max_lengths,
                                                   const SearchOptions& o) {
  const auto limits = checked_limits(max_lengths, o);
  const int64_t batch = static_cast<int64_t>(limits.size());
  const auto device = model.device();
  std::vector<std::vector<Hypothesis>> results(batch);
  std::vector<int64_t> active(batch);  // row r of the model holds sentence active[r]
  std::vector<Partial> partial(batch);
  for (int64_t b = 0; b < batch; ++b) active[b] = b;
  auto input =
      torch::full({batch}, o.bos, torch::TensorOptions().dtype(torch::kLong).device(device));
  for (int64_t t = 0; !active.empty(); ++t) {
    torch::Tensor weights;
    const auto log_probs = model.step(input, &weights);
    const auto [best_lp, best_id] = log_probs.max(1);
    const auto lp = best_lp.to(torch::kCPU, torch::kDouble);
    const auto ids = best_id.to(torch::kCPU);
    if (weights.defined()) weights = weights.to(torch::kCPU);
    std::vector<int64_t> keep_rows, keep_sentences, next_tokens;
    for (int64_t r = 0; r < static_cast<int64_t>(active.size()); ++r) {
      const int64_t b = active[r];
      const int64_t token = ids[r].item<int64_t>();
      Partial& p = partial[b];
      p.tokens.push_back(token);
      p.log_prob += lp[r].item<double>();
      p.attention.push_back(weights.defined() ? weights[r] : torch::Tensor());
      if (token == o.eos || t + 1 >= limits[b]) {
        results[b].push_back(finish(std::move(p), o));
      } else {
        keep_rows.push_back(r);
        keep_sentences.push_back(b);
        next_tokens.push_back(token);
      }
    }
    if (keep_rows.size() != active.size() && !keep_rows.empty())
      model.select(rows_tensor(keep_rows, device));
    active = std::move(keep_sentences);
    input = rows_tensor(next_tokens, device);
  }
  return results;
}

std::vector<std::vector<Hypothesis>> beam_search(StepModel& model,
                                                 const std::vector<int64_t>& max_lengths,
                                                 const SearchOptions& o) {
  const auto limits = checked_limits(max_lengths, o);
  const int64_t batch = static_cast<int64_t>(limits.size());
  const int64_t k = std::max<int64_t>(1, o.beam);
  const auto device = model.device();
  std::vector<std::vector<Hypothesis>> finished(batch);

  // Rows a*k .. a*k+k-1 of the model hold the beams of sentence active[a]. At
  // the start only the first beam is live, so no hypothesis appears twice.
  std::vector<int64_t> active(batch);
  std::vector<Partial> beams(batch * k);
  std::vector<double> scores(batch * k, kNegInf);
  for (int64_t b = 0; b < batch; ++b) {
    active[b] = b;
    scores[b * k] = 0.0;
  }
  model.select(torch::arange(batch, torch::TensorOptions().dtype(torch::kLong).device(device))
                   .repeat_interleave(k));
  auto input =
      torch::full({batch * k}, o.bos, torch::TensorOptions().dtype(torch::kLong).device(device));

  for (int64_t t = 0; !active.empty(); ++t) {
    torch::Tensor weights;
    const auto log_probs = model.step(input, &weights).to(torch::kFloat);  // (A*k, V)
    const int64_t vocab = log_probs.size(1);
    const auto total =
        (log_probs +
         torch::tensor(scores, torch::kDouble).to(log_probs.device(), torch::kFloat).unsqueeze(1))
            .view({static_cast<int64_t>(active.size()), k * vocab});
    const auto [top_scores_t, top_ids_t] = total.topk(std::min<int64_t>(2 * k, k * vocab), 1);
    const auto top_scores = top_scores_t.to(torch::kCPU, torch::kDouble).contiguous();
    const auto top_ids = top_ids_t.to(torch::kCPU).contiguous();
    const auto ts = top_scores.accessor<double, 2>();
    const auto ti = top_ids.accessor<int64_t, 2>();
    if (weights.defined()) weights = weights.to(torch::kCPU);

    std::vector<int64_t> next_active, rows, next_tokens;
    std::vector<Partial> next_beams;
    std::vector<double> next_scores;
    for (int64_t a = 0; a < static_cast<int64_t>(active.size()); ++a) {
      const int64_t b = active[a];
      const bool at_limit = t + 1 >= limits[b];
      std::vector<std::pair<int64_t, Partial>> kept;  // (row, extended hypothesis)
      int64_t considered = 0;
      for (int64_t j = 0; j < top_scores.size(1); ++j) {
        const double s = ts[a][j];
        if (s == kNegInf || std::isnan(s)) continue;
        const int64_t row = a * k + ti[a][j] / vocab;
        const int64_t token = ti[a][j] % vocab;
        Partial p = beams[row];
        p.tokens.push_back(token);
        p.attention.push_back(weights.defined() ? weights[row] : torch::Tensor());
        p.log_prob = s;
        if (at_limit) {
          // Length limit: the k best candidates end here, <eos> or not.
          if (considered++ < k) finished[b].push_back(finish(std::move(p), o));
        } else if (token == o.eos) {
          finished[b].push_back(finish(std::move(p), o));
        } else {
          kept.emplace_back(row, std::move(p));
          if (static_cast<int64_t>(kept.size()) == k) break;
        }
      }
      bool done = at_limit || kept.empty();
      if (!done && static_cast<int64_t>(finished[b].size()) >= o.n_best) {
        // log P only falls as a hypothesis grows and lp only rises, so no live
        // beam can score above its log P / lp(limit).
        double best_finished = kNegInf;
        for (const auto& h : finished[b]) best_finished = std::max(best_finished, h.score);
        const double bound =
            kept.front().second.log_prob / gnmt_length_penalty(limits[b], o.length_penalty);
        done = best_finished >= bound;
      }
      if (done) continue;
      next_active.push_back(b);
      for (int64_t i = 0; i < k; ++i) {
        // Fewer than k candidates (tiny vocabularies): pad with dead beams.
        const bool live = i < static_cast<int64_t>(kept.size());
        auto& [row, p] = kept[live ? i : 0];
        rows.push_back(row);
        next_tokens.push_back(p.tokens.back());
        next_scores.push_back(live ? p.log_prob : kNegInf);
        next_beams.push_back(p);
      }
    }
    active = std::move(next_active);
    if (active.empty()) break;
    model.select(rows_tensor(rows, device));
    beams = std::move(next_beams);
    scores = std::move(next_scores);
    input = rows_tensor(next_tokens, device);
  }

  for (auto& list : finished) {
    std::stable_sort(list.begin(), list.end(),
                     [](const Hypothesis& x, const Hypothesis& y) { return x.score > y.score; });
    if (static_cast<int64_t>(list.size()) > o.n_best) list.resize(o.n_best);
  }
  return finished;
}

std::vector<std::vector<Hypothesis>> search(StepModel& model,
                                            const std::vector<int64_t>& max_lengths,
                                            const SearchOptions& options) {
  return options.beam > 1 ? beam_search(model, max_lengths, options)
                          : greedy_search(model, max_lengths, options);
}

}  // namespace attnzoo
