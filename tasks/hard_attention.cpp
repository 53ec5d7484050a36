#include "tasks/hard_attention.h"

#include "data/error.h"
#include "train/distributed.h"

namespace attnzoo {

nlohmann::json default_hard_attention_config() {
  return {{"expectation_prob", 0.5},
          {"scale", 1.0},
          {"entropy", 0.01},
          {"baseline_decay", 0.9},
          {"reward", "mean"}};
}

nlohmann::json hard_attention_config_help() {
  return {
      {"expectation_prob",
       "hard attention: the share of steps trained with the expected context instead of a sample"},
      {"scale", "hard attention: weight of the REINFORCE term in the loss"},
      {"entropy", "hard attention: weight of the entropy bonus of the attention distribution"},
      {"baseline_decay", "hard attention: decay of the moving-average reward baseline, in [0, 1)"},
      {"reward",
       "hard attention: the reward, the target's log-likelihood: its mean per token (mean), its "
       "sum (sum, Xu et al.'s eq. 12), or each word's own credited to its step's location "
       "(token)"}};
}

HardAttentionTraining::HardAttentionTraining(Attention attention, const nlohmann::json& h)
    : attention_(std::move(attention)), active_(attention_->is_hard()) {
  if (!active_) return;
  expectation_prob_ = h.at("expectation_prob");
  options_.scale = h.at("scale");
  options_.entropy_weight = h.at("entropy");
  const double decay = h.at("baseline_decay");
  reward_ = h.at("reward");
  if (reward_ != "sum" && reward_ != "mean" && reward_ != "token")
    throw UserError("config: train.hard.reward \"{}\" is not one of sum, mean, token", reward_);
  if (expectation_prob_ < 0 || expectation_prob_ > 1)
    throw UserError("config: train.hard.expectation_prob {} is not in [0, 1]", expectation_prob_);
  if (decay < 0 || decay >= 1)
    throw UserError("config: train.hard.baseline_decay {} is not in [0, 1)", decay);
  if (options_.entropy_weight < 0) throw UserError("config: train.hard.entropy must be >= 0");
  attention_->baseline->decay = decay;
  if (world().distributed())
    attention_->baseline->mean = [](const torch::Tensor& rewards) {
      auto sums =
          torch::stack({rewards.detach().sum().to(torch::kCPU, torch::kDouble),
                        torch::tensor(static_cast<double>(rewards.numel()), torch::kDouble)});
      world().sum(sums, "every rank's rewards for the REINFORCE baseline");
      return (sums[0] / sums[1]).to(rewards.device(), rewards.scalar_type());
    };
}

void HardAttentionTraining::begin_batch() {
  // Rank 0's draw decides for every rank: one batch, one kind of attention.
  if (active_)
    attention_->set_sampling(world().agree(torch::rand({}).item<double>(),
                                           "rank 0's choice of sampled or expected attention") >=
                             expectation_prob_);
}

torch::Tensor HardAttentionTraining::loss(
    const torch::Tensor& log_probs, const torch::Tensor& entropies, const torch::Tensor& rows,
    const torch::Tensor& token_nll, std::vector<std::pair<std::string, torch::Tensor>>* terms) {
  if (!active_ || !log_probs.defined()) return torch::zeros({});
  // A sampled path's reward is the log-likelihood of the target under it.
  auto rewards =
      torch::zeros(rows.sizes(), token_nll.options()).masked_scatter(rows, -token_nll.detach());
  if (reward_ != "token") rewards = rewards.sum(1);
  if (reward_ == "mean") rewards = rewards / rows.sum(1).clamp_min(1).to(rewards.scalar_type());
  auto loss =
      hard_attention_loss(log_probs, entropies, rows, rewards, *attention_->baseline, options_);
  if (terms) {
    terms->push_back({"reinforce", loss.detach()});
    terms->push_back(
        {"reward", reward_ == "token" ? rewards.masked_select(rows).mean() : rewards.mean()});
  }
  return loss;
}

}  // namespace attnzoo
