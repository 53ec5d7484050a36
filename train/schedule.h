#pragma once
// Learning-rate schedules. lr(step) = base * warmup(step) * decay, where
//   warmup  rises linearly from 0 over `warmup_steps` (none when 0);
//   kind "constant"     decay = 1;
//   kind "plateau"      decay is multiplied by `factor` when the validation
//                       metric has not improved for `patience` evaluations;
//   kind "inverse_sqrt" decay = sqrt(warmup_steps / step) after warm-up;
//   kind "cosine"       decay falls from 1 to min_lr / base along half a
//                       cosine between warm-up's end and `total_steps`, then
//                       stays there (a horizon fixed in the config, so that a
//                       resumed run follows the same curve as an unbroken one).
#include <nlohmann/json.hpp>

#include <string>

namespace attnzoo {

struct LrScheduleOptions {
  std::string kind = "plateau";
  double factor = 0.5;
  int64_t patience = 1;
  double min_lr = 1e-5;
  int64_t warmup_steps = 0;
  int64_t total_steps = 0;  // cosine only
  static LrScheduleOptions from_json(const nlohmann::json& j);
};

class LrSchedule {
 public:
  LrSchedule(double base_lr, LrScheduleOptions options);
  double lr(int64_t step) const;  // step counts from 1
  // Reports a validation metric where higher is better; returns true if the
  // learning rate was reduced.
  bool on_evaluation(double metric);
  nlohmann::json state() const;
  void load_state(const nlohmann::json& state);

 private:
  double base_;
  LrScheduleOptions options_;
  double scale_ = 1.0;
  double best_ = -1e300;
  int64_t bad_evals_ = 0;
};

}  // namespace attnzoo
