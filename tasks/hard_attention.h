#pragma once
// Training with hard attention (Xu et al. 2015, section 4.1), for any decoder
// whose Attention is of kind "hard": the config section train.hard, the
// per-batch choice between sampling a location and taking the expectation,
// and the REINFORCE term whose reward is the sequence's log-likelihood.
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <string>
#include <utility>
#include <vector>

#include "models/attention.h"
#include "models/reinforce.h"

namespace attnzoo {

// The train.hard section: expectation_prob (p), scale (lambda_r), entropy
// (lambda_e), baseline_decay, and reward: "sum" (the sequence's
// log-likelihood, as in the paper, credited to every location sampled for it),
// "mean" (the same per token: the sum grows with the target's length, so beside
// one baseline for all lengths its advantage says more about how long a caption
// is than about how well the model looked) or "token" (each step's location
// credited with its own word's log-likelihood only: far less variance, at the
// price of ignoring what a location does to the later words).
nlohmann::json default_hard_attention_config();
nlohmann::json hard_attention_config_help();  // its descriptions

class HardAttentionTraining {
 public:
  // `attention` may be of any kind; for all but "hard" this does nothing.
  HardAttentionTraining(Attention attention, const nlohmann::json& hard_config);
  bool active() const { return active_; }
  // Before a training batch's forward pass: sample (probability 1 - p) or
  // take the expectation (p), drawn from torch's generator.
  void begin_batch();
  // The REINFORCE loss of a batch (zero without samples): log_probs and
  // entropies (B,T) from the decoder, rows (B,T) its real steps, token_nll (N)
  // the negative log-likelihood of each real target token in rows' order.
  // With `terms`, adds the loss as "reinforce" and the mean reward as "reward".
  torch::Tensor loss(const torch::Tensor& log_probs, const torch::Tensor& entropies,
                     const torch::Tensor& rows, const torch::Tensor& token_nll,
                     std::vector<std::pair<std::string, torch::Tensor>>* terms = nullptr);

 private:
  Attention attention_;
  bool active_ = false;
  double expectation_prob_ = 0.5;
  std::string reward_ = "mean";
  HardAttentionLossOptions options_;
};

}  // namespace attnzoo
