#pragma once
// Greedy and batched beam search over any model that can take one decoding step.
//
// Beam search keeps `beam` hypotheses per sentence. Finished hypotheses are
// ranked by log P(y) / lp(y) with the GNMT length penalty
// lp(y) = ((5 + |y|) / 6)^alpha (|y| counts <eos>; alpha = 0 ranks by log P).
// A sentence is done when it has `n_best` finished hypotheses and no live one
// can still beat the best of them, or at its length limit, which the caller
// gives per row (the search knows nothing of sources: a translator derives it
// from the source length, a captioner uses one cap).
#include <torch/torch.h>

#include <memory>
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
  // Where the model's tensors live: the search puts its token tensors there.
  virtual torch::Device device() const { return torch::kCPU; }
};

// Several models of one vocabulary decoding as one (an ensemble, as
// OpenNMT's `-model a b` and Marian's `--models`): each step's
// log-probabilities are the mean of the members', and its attention the
// mean of theirs (when every member has one). Rows are selected in all.
class EnsembleStepModel : public StepModel {
 public:
  explicit EnsembleStepModel(std::vector<std::unique_ptr<StepModel>> members);
  torch::Tensor step(const torch::Tensor& tokens, torch::Tensor* weights) override;
  void select(const torch::Tensor& rows) override;
  torch::Device device() const override { return members_.front()->device(); }

 private:
  std::vector<std::unique_ptr<StepModel>> members_;
};

// bos and eos come from the model's vocabulary (Vocab::kBos, Vocab::kEos);
// the search refuses to start without bos. eos -1: no token ends a hypothesis.
struct SearchOptions {
  int64_t beam = 1;
  double length_penalty = 0.0;  // alpha
  // beta of Wu et al. (2016): a finished hypothesis's score gains
  // beta * sum_j log(min(sum_t a_tj, 1)) over the source positions j it
  // attends at all (padding, which gets exactly zero attention, is left
  // out), so that one that leaves source words unattended ranks lower. 0: off.
  double coverage_penalty = 0.0;
  int64_t n_best = 1;
  int64_t bos = -1;
  int64_t eos = -1;
};

struct Hypothesis {
  std::vector<int64_t> tokens;  // without <bos>; ends with <eos> unless cut at the length limit
  double log_prob = 0.0;
  double score = 0.0;       // log_prob / lp
  torch::Tensor attention;  // (tokens.size(), S) when the model gives weights
};

double gnmt_length_penalty(int64_t length, double alpha);
// SearchOptions::coverage_penalty of an attention matrix (T,S); 0 when beta is
// 0 or the attention undefined.
double gnmt_coverage_penalty(const torch::Tensor& attention, double beta);

// For each of the B sentences, up to n_best hypotheses, best first.
// `max_lengths` (B) is each sentence's length limit in tokens (<eos> counts; at least 1).
std::vector<std::vector<Hypothesis>> greedy_search(StepModel& model,
                                                   const std::vector<int64_t>& max_lengths,
                                                   const SearchOptions& options);
std::vector<std::vector<Hypothesis>> beam_search(StepModel& model,
                                                 const std::vector<int64_t>& max_lengths,
                                                 const SearchOptions& options);
// beam_search when options.beam > 1, else greedy_search.
std::vector<std::vector<Hypothesis>> search(StepModel& model,
                                            const std::vector<int64_t>& max_lengths,
                                            const SearchOptions& options);

}  // namespace attnzoo
