#pragma once
// The score-function (REINFORCE, Williams 1992) estimator, as surrogate losses
// that autograd differentiates. For a sample s ~ p_theta and its reward R(s),
//   d/dtheta E[R] = E[(R - b) d/dtheta log p_theta(s)]
// for any baseline b that does not depend on s; a good b lowers the variance.
// The surrogate -(R - b) log p(s), with R and b held constant, has exactly this
// gradient (negated, to minimise). Used by hard attention (the sampled
// location) and the Recurrent Attention Model (the sampled glimpse locations).
#include <torch/torch.h>
#include <functional>

namespace attnzoo {

// -scale * sum_b (rewards_b - baseline_b) * log_probs_b / normaliser; rewards
// and baseline are detached. log_probs, rewards (B); baseline (B) or a scalar.
// normaliser: what the rest of the loss is averaged over (e.g. its token
// count), so that scale 1 weighs the estimator like the likelihood's own gradient.
torch::Tensor reinforce_surrogate(const torch::Tensor& log_probs, const torch::Tensor& rewards,
                                  const torch::Tensor& baseline, double scale = 1.0,
                                  double normaliser = 1.0);

// Entropy of categorical distributions given as probabilities (B,S) (rows
// sum to 1; zeros, as on padding, contribute 0). Differentiable.
torch::Tensor categorical_entropy(const torch::Tensor& probs);

// An exponential moving average of the mean reward, b <- decay b + (1-decay) mean(R),
// started at the first batch's mean. A module, so that checkpoints keep it.
class MovingAverageBaselineImpl : public torch::nn::Module {
 public:
  explicit MovingAverageBaselineImpl(double decay = 0.9);
  // The current value (the first call's mean before any update).
  torch::Tensor value(const torch::Tensor& rewards) const;
  void update(const torch::Tensor& rewards);
  double decay;
  // The mean of a batch's rewards; data-parallel training replaces it with
  // the mean over every process's rewards, so the baseline stays one.
  std::function<torch::Tensor(const torch::Tensor&)> mean = [](const torch::Tensor& rewards) {
    return rewards.detach().mean();
  };
  torch::Tensor average, started;  // buffers: scalar float, scalar bool
};
TORCH_MODULE(MovingAverageBaseline);

// Hard attention's part of the loss for a batch of sequences (Xu et al. 2015,
// eq. 12): log_probs (B,T) the log-probabilities of the locations sampled at
// each real step (rows (B,T)), entropies (B,T) those steps' attention
// entropies. rewards (B), one per sequence (its log-likelihood log p(y | s, a)),
// credits every sampled location of the sequence:
//   loss = reinforce_surrogate(sum_t log_probs, rewards, baseline, scale, tokens)
//          - entropy_weight * sum_{b,t} entropies / tokens
// rewards (B,T), one per step, credits only that step's location:
//   loss = reinforce_surrogate(log_probs[rows], rewards[rows], baseline, scale, tokens) - (the same
//   entropy term)
// The baseline is updated afterwards with the mean reward.
struct HardAttentionLossOptions {
  double scale = 1.0;           // lambda_r
  double entropy_weight = 0.0;  // lambda_e
};
torch::Tensor hard_attention_loss(const torch::Tensor& log_probs, const torch::Tensor& entropies,
                                  const torch::Tensor& rows, const torch::Tensor& rewards,
                                  MovingAverageBaselineImpl& baseline,
                                  const HardAttentionLossOptions& options);

}  // namespace attnzoo
