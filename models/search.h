#pragma once
// Greedy and batched beam search over any model that can take one decoding step.
//
// Beam search keeps `beam` hypotheses per sentence. Finished hypotheses are
// ranked by log P(y) / lp(y) with the GNMT length penalty
// lp(y) = ((5 + |y|) / 6)^alpha (|y| counts <eos>; alpha = 0 ranks by log P).
// A sentence is done when it has `n_best` finished hypotheses and no live one
// can still beat the best of them, or at its length limit
// floor(max_len_ratio * source_length) + max_len_offset.
#include <torch/torch.h>

#include <vector>

namespace attnzoo {

// A decoder the searches drive. It holds the state of N rows.
class StepModel {
 public:
  virtual ~StepModel() = default;
  // Log-probabilities (N,V) of the next token after `tokens` (N); advances the
  // state of every row. Writes this step's attention weights (N,S) to `weights`
  // when the model has them.
  virtual torch::Tensor step(const torch::Tensor& tokens, torch::Tensor* weights) = 0;
  // Keeps rows `rows` (M) of the state, in that order (repeats allowed): N -> M.
  virtual void select(const torch::Tensor& rows) = 0;
};

struct SearchOptions {
  int64_t beam = 1;
  double length_penalty = 0.0;  // alpha
  double max_len_ratio = 2.0;
  int64_t max_len_offset = 10;
  int64_t n_best = 1;
  int64_t bos = 2;
  int64_t eos = 3;
};

struct Hypothesis {
  std::vector<int64_t> tokens;  // without <bos>; ends with <eos> unless cut at the length limit
  double log_prob = 0.0;
  double score = 0.0;       // log_prob / lp
  torch::Tensor attention;  // (tokens.size(), S) when the model gives weights
};

double gnmt_length_penalty(int64_t length, double alpha);

// For each of the B sentences, up to n_best hypotheses, best first.
// `source_lengths` (B) sets each sentence's length limit.
std::vector<std::vector<Hypothesis>> greedy_search(StepModel& model, const torch::Tensor& source_lengths,
                                                   const SearchOptions& options);
std::vector<std::vector<Hypothesis>> beam_search(StepModel& model, const torch::Tensor& source_lengths,
                                                 const SearchOptions& options);
// beam_search when options.beam > 1, else greedy_search.
std::vector<std::vector<Hypothesis>> search(StepModel& model, const torch::Tensor& source_lengths,
                                            const SearchOptions& options);

}  // namespace attnzoo
