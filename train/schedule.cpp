#include "train/schedule.h"

#include <algorithm>
#include <cmath>

#include "data/error.h"

namespace attnzoo {

LrScheduleOptions LrScheduleOptions::from_json(const nlohmann::json& j) {
  LrScheduleOptions o;
  o.kind = j.value("kind", o.kind);
  o.factor = j.value("factor", o.factor);
  o.patience = j.value("patience", o.patience);
  o.min_lr = j.value("min_lr", o.min_lr);
  o.warmup_steps = j.value("warmup_steps", o.warmup_steps);
  o.total_steps = j.value("total_steps", o.total_steps);
  if (o.kind != "constant" && o.kind != "plateau" && o.kind != "inverse_sqrt" && o.kind != "cosine")
    throw UserError(
        "config: train.schedule.kind \"{}\" is not one of constant, plateau, inverse_sqrt, cosine",
        o.kind);
  if (o.kind == "cosine" && o.total_steps <= o.warmup_steps)
    throw UserError(
        "config: train.schedule.kind cosine needs total_steps > warmup_steps (got {} and {})",
        o.total_steps, o.warmup_steps);
  if (o.kind == "inverse_sqrt" && o.warmup_steps <= 0)
    throw UserError("config: train.schedule.kind inverse_sqrt needs warmup_steps > 0");
  return o;
}

LrSchedule::LrSchedule(double base_lr, LrScheduleOptions options)
    : base_(base_lr), options_(std::move(options)) {}

double LrSchedule::lr(int64_t step) const {
  double lr = base_ * scale_;
  const int64_t warm = options_.warmup_steps;
  if (warm > 0 && step < warm) lr *= static_cast<double>(step) / warm;
  if (options_.kind == "inverse_sqrt" && step > warm)
    lr *= std::sqrt(static_cast<double>(warm) / step);
  if (options_.kind == "cosine" && step > warm) {
    const double pi = 3.14159265358979323846;
    const double done = std::min(
        1.0, static_cast<double>(step - warm) / static_cast<double>(options_.total_steps - warm));
    const double lowest = std::min(1.0, options_.min_lr / base_);
    lr *= lowest + (1.0 - lowest) * 0.5 * (1.0 + std::cos(pi * done));
  }
  return lr;
}

bool LrSchedule::on_evaluation(double metric) {
  if (metric > best_) {
    best_ = metric;
    bad_evals_ = 0;
    return false;
  }
  if (options_.kind != "plateau" || ++bad_evals_ < options_.patience) return false;
  bad_evals_ = 0;
  const double before = base_ * scale_;
  scale_ *= options_.factor;
  if (base_ * scale_ < options_.min_lr) scale_ = options_.min_lr / base_;
  return base_ * scale_ < before;
}

nlohmann::json LrSchedule::state() const {
  return {{"scale", scale_}, {"best", best_}, {"bad_evals", bad_evals_}};
}

void LrSchedule::load_state(const nlohmann::json& s) {
  scale_ = s.at("scale").get<double>();
  best_ = s.at("best").get<double>();
  bad_evals_ = s.at("bad_evals").get<int64_t>();
}

}  // namespace attnzoo
