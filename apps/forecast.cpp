// forecast: seq2seq with attention for multi-step time-series forecasting.
//
//   forecast train --config configs/forecast/etth1.json --csv ../shared/data/ett/ETTh1.csv --out
//   runs/etth1 forecast eval --checkpoint runs/etth1/best.pt --json forecast predict --checkpoint
//   runs/etth1/best.pt --at 14000 --png forecast.png > forecast.csv forecast export --checkpoint
//   runs/etth1/best.pt --out etth1.pt [--freeze] forecast train --out runs/demo            (the
//   embedded synthetic series)
#include <CLI/CLI.hpp>

#include <iostream>

#include "apps/cli_checks.h"
#include "apps/train_flags.h"
#include "attnzoo/version.h"
#include "data/error.h"
#include "eval/forecast_plot.h"
#include "export/export.h"
#include "tasks/forecasting.h"
#include "train/config.h"
#include "train/device.h"
#include "train/runtime.h"

using namespace attnzoo;

namespace {

// The data flags of train, eval and predict.
struct DataFlags {
  std::string csv, target, features;
  int64_t input_len = -1, horizon = -1;
};

void add_data_flags(CLI::App* cmd, DataFlags& d, bool shape) {
  cmd->add_option("--csv", d.csv,
                  "CSV file with a time column (data.time_column) and numeric columns");
  if (!shape) return;
  cmd->add_option("--target", d.target, "Column to forecast (default: the last column)");
  cmd->add_option("--features", d.features,
                  "Comma-separated input columns besides the target (default: none)");
  cmd->add_option("--input-len", d.input_len, "L: input steps (overrides data.input_len)")
      ->check(at_least(1));
  cmd->add_option("--horizon", d.horizon, "H: steps to forecast (overrides data.horizon)")
      ->check(at_least(1));
}

void apply_data_flags(nlohmann::json& config, const DataFlags& d) {
  auto& data = config["data"];
  if (!d.csv.empty()) data["csv"] = d.csv;
  if (!d.target.empty()) data["target"] = d.target;
  if (!d.features.empty()) {
    std::vector<std::string> names;
    std::string rest = d.features;
    for (size_t comma; (comma = rest.find(',')) != std::string::npos; rest = rest.substr(comma + 1))
      if (comma > 0) names.push_back(rest.substr(0, comma));
    if (!rest.empty()) names.push_back(rest);
    data["features"] = names;
  }
  if (d.input_len >= 0) data["input_len"] = d.input_len;
  if (d.horizon >= 0) data["horizon"] = d.horizon;
}

int run_train(const TrainFlags& a, const DataFlags& d, const std::string& kind,
              const std::string& decoder) {
  auto config = base_train_config(a, default_forecast_config());
  apply_data_flags(config, d);
  if (!kind.empty()) config["model"]["kind"] = kind;
  if (!decoder.empty()) config["model"]["decoder"] = decoder;
  apply_train_flags(config, a);
  if (config.at("model").at("kind") == "linear") {  // flags it would ignore are mistakes
    if (!a.attention.empty())
      throw UserError("--attention does not apply to the linear model (it has no attention)");
    if (!decoder.empty())
      throw UserError("--decoder does not apply to the linear model (it has no decoder)");
  }
  train_forecaster(config, a.out, a.start());
  return 0;
}

// The checkpoint's model and the table it is evaluated on (its own data, or --csv).
struct Loaded {
  std::unique_ptr<Forecasting> f;
  TimeTable table;
};

Loaded load(const std::string& checkpoint_path, const std::string& csv, int64_t threads,
            const std::string& device) {
  set_threads(static_cast<int>(threads), 0);
  Loaded l;
  l.f = std::make_unique<Forecasting>(Checkpoint(checkpoint_path, "forecast"));
  l.f->model->to(parse_device(device));
  auto data = l.f->config.at("data");
  if (!csv.empty()) data["csv"] = csv;
  l.table = load_forecast_table(data);
  return l;
}

int run_eval(const std::string& checkpoint, const std::string& csv, const std::string& split,
             int64_t threads, const std::string& device, bool json) {
  auto l = load(checkpoint, csv, threads, device);
  const auto data = make_forecast_splits(*l.f, l.table);
  const auto ev =
      evaluate_forecaster(*l.f, data.named(split), l.f->config.at("eval").at("batch_size"));
  auto j = ev.to_json();
  j["split"] = split;
  j["model"] = choice_name(l.f->model->options.kind(), forecaster_kinds());
  j["input_len"] = l.f->input_len();
  j["horizon"] = l.f->horizon();
  j["target"] = l.f->channels[static_cast<size_t>(l.f->target_channel)];
  if (json) {
    std::cout << j.dump() << std::endl;
  } else {
    std::printf(
        "%s split, %lld windows, L %lld, H %lld: MSE %.4f MAE %.4f | Repeat: MSE %.4f MAE %.4f "
        "(normalised)\n",
        split.c_str(), static_cast<long long>(ev.windows), static_cast<long long>(l.f->input_len()),
        static_cast<long long>(l.f->horizon()), ev.mse, ev.mae, ev.repeat_mse, ev.repeat_mae);
  }
  return 0;
}

// Forecasts rows [at, at+H) from rows [at-L, at): the CSV on stdout (original
// units), and the figure with the attention matrix.
int run_predict(const std::string& checkpoint, const std::string& csv, int64_t at,
                const std::string& png, int64_t threads, const std::string& device) {
  auto l = load(checkpoint, csv, threads, device);
  auto& f = *l.f;
  const int64_t rows = l.table.rows(), len = f.input_len(), h = f.horizon();
  if (at < 0) at = rows - h;  // the last H rows, which have a truth
  if (at < len || at > rows)
    throw UserError(
        "predict: --at {} needs {} input rows before it and at most {} (the rows in {})", at, len,
        rows, l.table.source);
  // A window series padded past the data's end, so the last rows can be forecast.
  const auto series = f.normalise(l.table);
  const int64_t end = std::min(rows, at + h);
  auto padded = torch::zeros({at + h, series.size(1)}, series.options());
  padded.slice(0, 0, end).copy_(series.slice(0, 0, end));
  torch::Tensor times;
  if (f.timed()) {
    std::vector<std::string> stamps(l.table.times.begin(), l.table.times.begin() + end);
    stamps.resize(static_cast<size_t>(at + h),
                  stamps.back());  // unknown future times: the last one repeated
    times = time_features(stamps);
  }
  std::vector<int64_t> all(f.channels.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int64_t>(i);
  const Windows window(padded, times, all, f.target_channel, at - len, at + h, len, h);
  const auto out = forecast_batch(f, window.batch({0}));
  const double mu = f.mean[f.target_channel].item<double>(),
               sigma = f.std[f.target_channel].item<double>();
  const auto forecast = (out.forecast[0].to(torch::kDouble) * sigma + mu).contiguous();
  const auto target = l.table.values.select(1, f.target_channel);
  const std::string name = f.channels[static_cast<size_t>(f.target_channel)];
  std::cout << "row,time," << name << "_forecast," << name << "_truth\n";
  ForecastFigure figure;
  for (int64_t i = at - len; i < at; ++i) figure.history.push_back(target[i].item<double>());
  for (int64_t k = 0; k < h; ++k) {
    const int64_t row = at + k;
    const double y = forecast[k].item<double>();
    figure.forecast.push_back(y);
    std::cout << row << ',' << (row < rows ? l.table.times[static_cast<size_t>(row)] : "") << ','
              << y << ',';
    if (row < rows) {
      figure.truth.push_back(target[row].item<double>());
      std::cout << figure.truth.back();
    }
    std::cout << '\n';
  }
  if (!png.empty()) {
    if (f.model->options.kind() == ForecasterKind::kSeq2Seq &&
        f.model->options.attention() != AttentionKind::kNone) {
      const auto a = out.attention[0].to(torch::kDouble).contiguous();
      for (int64_t k = 0; k < h; ++k)
        figure.attention.emplace_back(a[k].data_ptr<double>(), a[k].data_ptr<double>() + len);
    }
    figure.title =
        fmt::format("{}: {} steps from row {} ({}), from the {} before", name, h, at,
                    at < rows ? l.table.times[static_cast<size_t>(at)] : "past the end", len);
    write_forecast_figure(png, figure);
    std::cerr << "wrote " << png << std::endl;
  }
  return 0;
}

int run_export(const ExportFlags& flags) {
  const Forecasting f(Checkpoint(flags.checkpoint, "forecast"));
  write_export(export_forecaster(f), flags, "forecast", f.config, forecaster_methods(f));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "forecast: seq2seq with attention for multi-step time-series forecasting "
      "(attnzoo " ATTNZOO_VERSION ")"};
  app.require_subcommand(1);

  TrainFlags train;
  DataFlags train_data;
  std::string kind, decoder;
  auto* cmd_train =
      app.add_subcommand("train", "Train a forecaster; stop and --resume at any time");
  add_train_flags(cmd_train, train,
                  "JSON config (configs/forecast/*.json; default: the synthetic series)", "Windows",
                  choice_names(attention_kinds(), {AttentionKind::kHard}, " | "));
  add_data_flags(cmd_train, train_data, true);
  cmd_train->add_option("--model", kind, "seq2seq | linear (the NLinear-style baseline)");
  cmd_train->add_option("--decoder", decoder, "direct | autoregressive (seq2seq)");

  std::string eval_checkpoint, eval_csv, split = "test";
  int64_t eval_threads = 0;
  std::string eval_device = "cpu", predict_device = "cpu";
  bool json = false;
  auto* cmd_eval = app.add_subcommand(
      "eval", "MSE and MAE (normalised) of a split, next to the Repeat baseline");
  cmd_eval->add_option("--checkpoint", eval_checkpoint, "Checkpoint file")->required();
  cmd_eval->add_option("--csv", eval_csv, "CSV to evaluate on (default: the checkpoint's data)");
  cmd_eval->add_option("--split", split, "test | valid | train")
      ->check(CLI::IsMember({"test", "valid", "train"}))
      ->capture_default_str();
  cmd_eval->add_option("--threads", eval_threads, "ATen threads (0: auto)")
      ->check(at_least(0))
      ->capture_default_str();
  add_device_flag(cmd_eval, eval_device);
  cmd_eval->add_flag("--json", json, "Print one JSON object");

  std::string predict_checkpoint, predict_csv, png;
  int64_t at = -1, predict_threads = 0;
  auto* cmd_predict = app.add_subcommand(
      "predict", "Forecast H steps from one row: CSV on stdout, and a figure with the attention");
  cmd_predict->add_option("--checkpoint", predict_checkpoint, "Checkpoint file")->required();
  cmd_predict->add_option("--csv", predict_csv, "CSV to read (default: the checkpoint's data)");
  cmd_predict
      ->add_option("--at", at,
                   "First forecast row, 0-based over the data rows (default: the last H rows)")
      ->check(at_least(0));
  cmd_predict->add_option("--png", png, "Write the forecast and attention figure here");
  cmd_predict->add_option("--threads", predict_threads, "ATen threads (0: auto)")
      ->check(at_least(0))
      ->capture_default_str();
  add_device_flag(cmd_predict, predict_device);

  ExportFlags export_flags;
  auto* cmd_export = add_export_command(app, export_flags, "a forecaster (its scaler inside)");

  bool config_markdown = false;
  auto* cmd_config = add_config_command(app, config_markdown);
  CurvesFlags curves;
  auto* cmd_curves = add_curves_command(app, curves);

  return run_app(app, argc, argv, "forecast", [&] {
    if (*cmd_config)
      return run_config(default_forecast_config(), forecast_config_help(), config_markdown);
    if (*cmd_curves) return run_curves(curves);
    if (*cmd_train) return run_train(train, train_data, kind, decoder);
    if (*cmd_eval)
      return run_eval(eval_checkpoint, eval_csv, split, eval_threads, eval_device, json);
    if (*cmd_predict) {
      refuse_overwriting_inputs(png, "--png", {predict_checkpoint, predict_csv});
      return run_predict(predict_checkpoint, predict_csv, at, png, predict_threads, predict_device);
    }
    if (*cmd_export) return run_export(export_flags);
    return 0;
  });
}
