#pragma once
// The forecasting task end to end: config, data (a CSV or the synthetic
// default, the ETT splits, z-scoring with the training rows' statistics,
// windows), the Forecasting model and its scaler, training through the shared
// loop (MSE), and evaluation (MSE and MAE on the normalised scale, next to Repeat).
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "data/timeseries.h"
#include "models/forecaster.h"
#include "train/checkpoint.h"
#include "train/loop.h"

namespace attnzoo {

nlohmann::json default_forecast_config();
// Its one-line descriptions, of the same shape (`forecast config`).
nlohmann::json forecast_config_help();
nlohmann::json load_forecast_config(const std::string& path);

// A forecaster with its channels and scaler: a checkpoint holds exactly this.
class Forecasting {
 public:
  // A new model for `config`, its scaler fitted on the training rows of `table`.
  Forecasting(const nlohmann::json& config, const TimeTable& table);
  explicit Forecasting(const Checkpoint& checkpoint);
  nlohmann::json meta() const;
  int64_t input_len() const { return config.at("data").at("input_len"); }
  int64_t horizon() const { return config.at("data").at("horizon"); }
  bool timed() const { return config.at("data").at("time_features").get<bool>(); }
  // The table's values (rows, channels) z-scored with this model's scaler, float32.
  torch::Tensor normalise(const TimeTable& table) const;

  nlohmann::json config;
  std::vector<std::string> channels;  // input columns; channels[target_channel] is the target
  int64_t target_channel = 0;
  torch::Tensor mean, std;  // (channels) float64, of the training rows
  Forecaster model{nullptr};
};

struct ForecastSplits {
  SplitRows rows;
  Windows train, valid, test;
  const Windows& named(const std::string& split) const;
};
// Windows of each split of `table` (which has the model's channels).
ForecastSplits make_forecast_splits(const Forecasting& f, const TimeTable& table);

struct ForecastEval {
  double mse = 0.0, mae = 0.0, repeat_mse = 0.0, repeat_mae = 0.0;
  int64_t windows = 0;
  double seconds = 0.0;
  nlohmann::json to_json() const;
};
// MSE and MAE over every window and horizon step of the target, normalised.
ForecastEval evaluate_forecaster(Forecasting& f, const Windows& windows, int64_t batch_size = 256);

// Forecasts (B,H) and attention (B,H,L) of a batch of windows (eval mode, no gradient).
ForecastOutput forecast_batch(Forecasting& f, const Windows::Batch& batch);

std::unique_ptr<TrainTask> make_forecast_task(Forecasting& f, const ForecastSplits& data,
                                              const nlohmann::json& train_config);

// Trains in out_dir (fresh, resumed or started over: RunStart in train/loop.h);
// returns the checkpoint path.
std::string train_forecaster(const nlohmann::json& config, const std::string& out_dir,
                             RunStart start);

}  // namespace attnzoo
