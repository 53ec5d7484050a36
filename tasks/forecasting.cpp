#include "tasks/forecasting.h"

#include <chrono>
#include <cstdio>

#include "data/error.h"
#include "data/text_io.h"
#include "train/config.h"
#include "train/device.h"
#include "train/distributed.h"

namespace attnzoo {

nlohmann::json default_forecast_config() {
  auto config = nlohmann::json::parse(R"({
    "data": {
      "csv": "", "time_column": "date", "target": "", "features": [], "split": "auto",
      "input_len": 96, "horizon": 24, "time_features": false,
      "synthetic": {"length": 6000, "seed": 1, "noise": 0.3}
    },
    "model": {
      "kind": "seq2seq", "embedding_size": 32, "hidden_size": 64, "layers": 1, "rnn": "gru",
      "attention": "additive", "decoder": "direct", "instance_norm": "last", "dropout": 0.1
    },
    "train": {
      "batch_size": 32, "early_stopping": 3, "teacher_forcing": 1.0, "teacher_forcing_end": 0.0
    },
    "eval": {"batch_size": 256}
  })");
  config["train"] = with_loop_defaults(config.at("train"));
  return config;
}

nlohmann::json forecast_config_help() {
  auto help = nlohmann::json::parse(R"json({
    "data": {
      "csv": "a CSV with a header, a time column and numeric columns (--csv); empty: the embedded synthetic series",
      "time_column": "the time column's name",
      "target": "the column to forecast (--target); empty: the last column",
      "features": "input columns besides the target (--features A,B); empty: univariate",
      "split": "auto: ETT's 12/4/4 months for ETTh*/ETTm* files, 70/10/20% for others",
      "input_len": "L: input steps of each window (--input-len)",
      "horizon": "H: steps forecast (--horizon)",
      "time_features": "add hour, day of week, day of month and day of year to every input step",
      "synthetic": {
        "length": "synthetic: rows generated",
        "seed": "synthetic: the generator's seed",
        "noise": "synthetic: the AR(1) noise's scale"
      }
    },
    "model": {
      "kind": "seq2seq (encoder, attention, decoder) or linear (NLinear-style baseline) (--model)",
      "embedding_size": "each input step's embedding size",
      "hidden_size": "encoder and decoder hidden size",
      "layers": "stacked encoder and decoder layers",
      "rnn": "gru or lstm",
      "attention": "",
      "decoder": "direct (a learned embedding per horizon step) or autoregressive (its previous value)",
      "instance_norm": "last (subtract each window's last value), mean (its mean) or none",
      "dropout": "dropout between layers"
    },
    "train": {
      "batch_size": "windows per batch (--batch-size)",
      "teacher_forcing": "autoregressive: probability of feeding the true previous value at the start",
      "teacher_forcing_end": "autoregressive: that probability at the end (linear in between)"
    },
    "eval": {
      "batch_size": "windows per batch in eval and validation"
    }
  })json");
  help["train"] = with_loop_help(help.at("train"));
  help["model"]["attention"] = attention_help({AttentionKind::kHard});
  return help;
}

nlohmann::json load_forecast_config(const std::string& path) {
  return merge_config(default_forecast_config(), read_json_file(path), path);
}

// ----------------------------------------------------------------------------
// Forecasting

namespace {

ForecasterOptions forecaster_options(const nlohmann::json& config, int64_t channels,
                                     int64_t target_channel) {
  const auto& d = config.at("data");
  return ForecasterOptions::from_json(config.at("model"), channels, d.at("input_len"),
                                      d.at("horizon"), target_channel,
                                      d.at("time_features").get<bool>() ? kTimeFeatures : 0);
}

int64_t target_index(const nlohmann::json& d, const std::vector<std::string>& channels) {
  const std::string target = d.at("target");
  if (target.empty()) return static_cast<int64_t>(channels.size()) - 1;
  for (size_t i = 0; i < channels.size(); ++i)
    if (channels[i] == target) return static_cast<int64_t>(i);
  throw UserError("the target \"{}\" is not among the channels", target);
}

}  // namespace

Forecasting::Forecasting(const nlohmann::json& config_, const TimeTable& table) : config(config_) {
  auto& d = config["data"];
  if (d.at("target").get<std::string>().empty()) d["target"] = table.columns.back();
  channels = table.columns;
  target_channel = target_index(d, channels);
  const auto rows =
      split_rows(d.at("split"), table.source, table.rows(), d.at("input_len"), d.at("horizon"));
  const auto train = table.values.slice(0, rows.train_begin, rows.train_end);
  mean = train.mean(0);
  std = train.std(0, /*unbiased=*/false);
  for (size_t c = 0; c < channels.size(); ++c)
    if (std[static_cast<int64_t>(c)].item<double>() == 0.0)
      throw UserError("{}: column \"{}\" is constant over the training rows", table.source,
                      channels[c]);
  model =
      Forecaster(forecaster_options(config, static_cast<int64_t>(channels.size()), target_channel));
}

Forecasting::Forecasting(const Checkpoint& checkpoint) {
  const auto& meta = checkpoint.meta();
  config = merge_config(default_forecast_config(), meta.at("config"), checkpoint.path());
  channels = meta.at("channels").get<std::vector<std::string>>();
  target_channel = target_index(config.at("data"), channels);
  mean = torch::tensor(meta.at("mean").get<std::vector<double>>(), torch::kDouble);
  std = torch::tensor(meta.at("std").get<std::vector<double>>(), torch::kDouble);
  model =
      Forecaster(forecaster_options(config, static_cast<int64_t>(channels.size()), target_channel));
  checkpoint.load_model(*model);
}

nlohmann::json Forecasting::meta() const {
  const auto m = mean.contiguous(), s = std.contiguous();
  return {{"app", "forecast"},
          {"config", config},
          {"channels", channels},
          {"mean", std::vector<double>(m.data_ptr<double>(), m.data_ptr<double>() + m.numel())},
          {"std", std::vector<double>(s.data_ptr<double>(), s.data_ptr<double>() + s.numel())}};
}

torch::Tensor Forecasting::normalise(const TimeTable& table) const {
  if (table.columns != channels)
    throw UserError("{}: columns {} do not match the model's channels {}", table.source,
                    fmt::format("{}", fmt::join(table.columns, ", ")),
                    fmt::format("{}", fmt::join(channels, ", ")));
  return ((table.values - mean) / std).to(torch::kFloat);
}

const Windows& ForecastSplits::named(const std::string& split) const {
  if (split == "train") return train;
  if (split == "valid") return valid;
  if (split == "test") return test;
  throw UserError("split \"{}\" is not one of train, valid, test", split);
}

ForecastSplits make_forecast_splits(const Forecasting& f, const TimeTable& table) {
  const auto& d = f.config.at("data");
  const int64_t l = f.input_len(), h = f.horizon();
  ForecastSplits s;
  s.rows = split_rows(d.at("split"), table.source, table.rows(), l, h);
  const auto series = f.normalise(table);
  const auto times = f.timed() ? time_features(table.times) : torch::Tensor();
  std::vector<int64_t> all(f.channels.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int64_t>(i);
  s.train =
      Windows(series, times, all, f.target_channel, s.rows.train_begin, s.rows.train_end, l, h);
  s.valid =
      Windows(series, times, all, f.target_channel, s.rows.valid_begin, s.rows.valid_end, l, h);
  s.test = Windows(series, times, all, f.target_channel, s.rows.test_begin, s.rows.test_end, l, h);
  return s;
}

// ----------------------------------------------------------------------------
// Evaluation

nlohmann::json ForecastEval::to_json() const {
  return {{"mse", mse},
          {"mae", mae},
          {"repeat_mse", repeat_mse},
          {"repeat_mae", repeat_mae},
          {"windows", windows},
          {"windows_per_sec", seconds > 0 ? static_cast<double>(windows) / seconds : 0.0}};
}

ForecastOutput forecast_batch(Forecasting& f, const Windows::Batch& b) {
  torch::NoGradGuard no_grad;
  const bool was_training = f.model->is_training();
  f.model->eval();
  const auto device = module_device(*f.model);
  auto out =
      f.model->forward(b.inputs.to(device), b.times.defined() ? b.times.to(device) : b.times);
  f.model->train(was_training);
  out.forecast = out.forecast.to(torch::kCPU);
  if (out.attention.defined()) out.attention = out.attention.to(torch::kCPU);
  return out;
}

ForecastEval evaluate_forecaster(Forecasting& f, const Windows& windows, int64_t batch_size) {
  const auto start = std::chrono::steady_clock::now();
  ForecastEval ev;
  double se = 0.0, ae = 0.0, repeat_se = 0.0, repeat_ae = 0.0;
  for (int64_t first = 0; first < windows.size(); first += batch_size) {
    std::vector<int64_t> indices;
    for (int64_t i = first; i < std::min(windows.size(), first + batch_size); ++i)
      indices.push_back(i);
    const auto b = windows.batch(indices);
    const auto out = forecast_batch(f, b);
    const auto error = (out.forecast - b.targets).to(torch::kDouble);
    se += error.pow(2).sum().item<double>();
    ae += error.abs().sum().item<double>();
    const auto repeat =
        (repeat_forecast(b.inputs, f.target_channel, f.horizon()) - b.targets).to(torch::kDouble);
    repeat_se += repeat.pow(2).sum().item<double>();
    repeat_ae += repeat.abs().sum().item<double>();
  }
  ev.windows = windows.size();
  const double n = static_cast<double>(std::max<int64_t>(1, windows.size() * f.horizon()));
  ev.mse = se / n;
  ev.mae = ae / n;
  ev.repeat_mse = repeat_se / n;
  ev.repeat_mae = repeat_ae / n;
  ev.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return ev;
}

// ----------------------------------------------------------------------------
// Training

namespace {

class ForecastTask : public TrainTask {
 public:
  ForecastTask(Forecasting& f, const ForecastSplits& data, const nlohmann::json& tc)
      : f_(f),
        data_(data),
        batch_size_(tc.at("batch_size")),
        teacher_start_(tc.at("teacher_forcing")),
        teacher_end_(tc.at("teacher_forcing_end")),
        eval_batch_(f.config.at("eval").at("batch_size")) {
    if (data.train.size() == 0) throw UserError("no training windows");
  }

  torch::nn::Module& model() override { return *f_.model; }
  std::string unit() const override { return "win"; }

  std::vector<std::vector<size_t>> epoch_batches(uint64_t seed) override {
    return shuffled_batches(static_cast<size_t>(data_.train.size()), batch_size_, seed);
  }

  // Teacher forcing falls linearly from train.teacher_forcing to
  // train.teacher_forcing_end over the run (autoregressive decoder only).
  void set_progress(int64_t step, int64_t planned) override {
    const double t =
        planned > 1 ? static_cast<double>(step - 1) / static_cast<double>(planned - 1) : 0.0;
    teacher_forcing_ = teacher_start_ + (teacher_end_ - teacher_start_) * std::min(1.0, t);
  }

  StepResult train_step(const std::vector<size_t>& batch) override {
    const auto device = module_device(*f_.model);
    auto b = data_.train.batch(std::vector<int64_t>(batch.begin(), batch.end()));
    for (auto* t : {&b.inputs, &b.times, &b.targets})
      if (t->defined()) *t = t->to(device);
    const auto out = f_.model->forward(b.inputs, b.times, b.targets, teacher_forcing_);
    StepResult r;
    r.loss = torch::nn::functional::mse_loss(out.forecast, b.targets);
    r.tokens = static_cast<int64_t>(batch.size());
    if (f_.model->options.decoder() == ForecastDecoder::kAutoregressive &&
        f_.model->options.kind() == ForecasterKind::kSeq2Seq)
      r.terms.push_back({"teacher", torch::tensor(teacher_forcing_)});
    return r;
  }

  Evaluation evaluate() override {
    const auto ev = evaluate_forecaster(f_, data_.valid, eval_batch_);
    Evaluation e;
    e.metrics = {{"valid_mse", ev.mse}, {"valid_mae", ev.mae}, {"valid_repeat_mse", ev.repeat_mse}};
    e.score = -ev.mse;
    e.summary = fmt::format("valid mse {:.4f} mae {:.4f} (repeat mse {:.4f})", ev.mse, ev.mae,
                            ev.repeat_mse);
    return e;
  }

  nlohmann::json meta() const override { return f_.meta(); }
  std::map<std::string, torch::Tensor> tensors() const override { return {}; }

 private:
  Forecasting& f_;
  const ForecastSplits& data_;
  int64_t batch_size_;
  double teacher_start_, teacher_end_, teacher_forcing_ = 1.0;
  int64_t eval_batch_;
};

}  // namespace

std::unique_ptr<TrainTask> make_forecast_task(Forecasting& f, const ForecastSplits& data,
                                              const nlohmann::json& train_config) {
  return std::make_unique<ForecastTask>(f, data, train_config);
}

std::string train_forecaster(const nlohmann::json& config_in, const std::string& out_dir,
                             RunStart start) {
  auto checkpoint =
      begin_run(LoopOptions::from_json(config_in.at("train")), out_dir, start, "forecast");
  std::unique_ptr<Forecasting> forecasting;
  TimeTable table;
  if (checkpoint) {
    forecasting = std::make_unique<Forecasting>(*checkpoint);
    forecasting->config["train"] = config_in.at("train");
    forecasting->config["eval"] = config_in.at("eval");
    table = load_forecast_table(forecasting->config.at("data"));
  } else {
    table = load_forecast_table(config_in.at("data"));
    forecasting = std::make_unique<Forecasting>(config_in, table);
  }
  Forecasting& f = *forecasting;
  const auto data = make_forecast_splits(f, table);
  if (world().main()) write_json_file(out_dir + "/config.json", f.config);
  int64_t parameters = 0;
  for (const auto& p : f.model->parameters()) parameters += p.numel();
  std::fprintf(
      stderr,
      "data: %s, %lld rows, channels %s -> %s | windows %lld train, %lld valid, %lld test | "
      "L %lld, H %lld | model: %s, %lld parameters\n",
      table.source.c_str(), static_cast<long long>(table.rows()),
      fmt::format("{}", fmt::join(f.channels, ",")).c_str(), f.channels[f.target_channel].c_str(),
      static_cast<long long>(data.train.size()), static_cast<long long>(data.valid.size()),
      static_cast<long long>(data.test.size()), static_cast<long long>(f.input_len()),
      static_cast<long long>(f.horizon()),
      choice_name(f.model->options.kind(), forecaster_kinds()).c_str(),
      static_cast<long long>(parameters));
  const auto task = make_forecast_task(f, data, f.config.at("train"));
  run_training(*task, LoopOptions::from_json(f.config.at("train")), out_dir, std::move(checkpoint));
  return out_dir + "/checkpoint.pt";
}

}  // namespace attnzoo
