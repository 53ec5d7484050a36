#include "models/reinforce.h"

namespace attnzoo {

torch::Tensor reinforce_surrogate(const torch::Tensor& log_probs, const torch::Tensor& rewards,
                                  const torch::Tensor& baseline, double scale, double normaliser) {
  const auto advantage = (rewards - baseline).detach();
  return -scale * (advantage * log_probs).sum() / normaliser;
}

torch::Tensor categorical_entropy(const torch::Tensor& probs) {
  // 0 log 0 = 0: where p is 0 take log 1 instead, which also keeps the gradient finite.
  const auto safe = torch::where(probs > 0, probs, torch::ones_like(probs));
  return -(probs * safe.log()).sum(-1);
}

MovingAverageBaselineImpl::MovingAverageBaselineImpl(double decay_) : decay(decay_) {
  average = register_buffer("average", torch::zeros({}));
  started = register_buffer("started", torch::zeros({}, torch::kBool));
}

torch::Tensor MovingAverageBaselineImpl::value(const torch::Tensor& rewards) const {
  return started.item<bool>() ? average.clone() : mean(rewards);
}

void MovingAverageBaselineImpl::update(const torch::Tensor& rewards) {
  torch::NoGradGuard no_grad;
  const auto batch_mean = mean(rewards).to(torch::kFloat);
  if (started.item<bool>()) {
    average.mul_(decay).add_(batch_mean * (1.0 - decay));
  } else {
    average.copy_(batch_mean);
    started.fill_(true);
  }
}

torch::Tensor hard_attention_loss(const torch::Tensor& log_probs, const torch::Tensor& entropies,
                                  const torch::Tensor& rows, const torch::Tensor& rewards,
                                  MovingAverageBaselineImpl& baseline,
                                  const HardAttentionLossOptions& o) {
  const auto real = rows.to(log_probs.scalar_type());
  const double tokens = std::max(1.0, real.sum().item<double>());
  TORCH_CHECK(rewards.dim() == 1 || rewards.sizes() == log_probs.sizes(),
              "hard_attention_loss: rewards must be (B) or (B,T) like log_probs");
  torch::Tensor loss, credited;
  if (rewards.dim() == 1) {
    credited = rewards;
    const auto sequence_log_prob = (log_probs * real).sum(1);  // log p(s_1..s_T | a)
    loss =
        reinforce_surrogate(sequence_log_prob, credited, baseline.value(credited), o.scale, tokens);
  } else {
    credited = rewards.masked_select(rows);
    loss = reinforce_surrogate(log_probs.masked_select(rows), credited, baseline.value(credited),
                               o.scale, tokens);
  }
  if (o.entropy_weight > 0) loss = loss - o.entropy_weight * (entropies * real).sum() / tokens;
  baseline.update(credited);
  return loss;
}

}  // namespace attnzoo
