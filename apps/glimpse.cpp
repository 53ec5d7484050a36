// glimpse: the image classifiers (train, eval, predict, export, samples): the
// Recurrent Attention Model, the Residual Attention Network and the
// whole-image baselines, on Fashion-MNIST canvases or CIFAR-10.
#include <attnzoo/version.h>
#include <CLI/CLI.hpp>

#include <filesystem>
#include <iostream>

#include "apps/cli_checks.h"
#include "apps/train_flags.h"
#include "data/error.h"
#include "data/files.h"
#include "data/images.h"
#include "eval/glimpse_plot.h"
#include "eval/heatmap.h"
#include "export/export.h"
#include "tasks/glimpse.h"
#include "train/config.h"
#include "train/device.h"
#include "train/runtime.h"

using namespace attnzoo;

namespace {

int run_train(const TrainFlags& a, const std::string& kind) {
  auto config = base_train_config(a, default_glimpse_config());
  if (!kind.empty()) apply_override(config, "model.kind=" + kind);
  apply_train_flags(config, a);
  train_glimpse(config, a.out, a.start());
  return 0;
}

int run_eval(const std::string& checkpoint_path, const std::string& split, int64_t limit,
             int64_t batch_size, int64_t threads, const std::string& device, bool json) {
  set_threads(static_cast<int>(threads), 0);
  const Checkpoint checkpoint(checkpoint_path, "glimpse");
  GlimpseClassifier classifier(checkpoint);
  classifier.model->to(parse_device(device));
  auto data_config = classifier.config.at("data");
  data_config["limit"][split] = limit;
  const auto data = load_glimpse_data(data_config, {split});
  const auto ev =
      evaluate_glimpse(classifier, split == "test" ? data.test : data.valid, batch_size);
  if (json) {
    auto j = ev.to_json();
    j["split"] = split;
    j["model"] = choice_name(classifier.model->kind, glimpse_kinds());
    int64_t parameters = 0;
    for (const auto& p : classifier.model->parameters()) parameters += p.numel();
    j["parameters"] = parameters;
    std::cout << j.dump() << std::endl;
  } else {
    std::printf("%s split, %lld images: error rate %.4f (%lld wrong), %.0f images/s\n",
                split.c_str(), static_cast<long long>(ev.images), ev.error_rate,
                static_cast<long long>(ev.errors),
                ev.seconds > 0 ? static_cast<double>(ev.images) / ev.seconds : 0.0);
    if (!ev.on_item.empty()) {
      std::string shares;
      for (double v : ev.on_item) shares += fmt::format(" {:.3f}", v);
      std::printf(
          "glimpse centres on the item, per glimpse:%s (a glimpse at the canvas's centre: %.3f)\n",
          shares.c_str(), ev.centre_on_item);
    }
    if (!ev.follows_item.empty()) {
      std::string slopes;
      for (double v : ev.follows_item) slopes += fmt::format(" {:.2f}", v);
      std::printf(
          "how far glimpse centres move with the item (1: track it, 0: ignore it), per "
          "glimpse:%s\n",
          slopes.c_str());
    }
  }
  return 0;
}

int run_predict(const std::string& checkpoint_path, const std::vector<std::string>& paths,
                const std::string& png, int64_t threads, const std::string& device) {
  set_threads(static_cast<int>(threads), 0);
  const Checkpoint checkpoint(checkpoint_path, "glimpse");
  GlimpseClassifier classifier(checkpoint);
  classifier.model->to(parse_device(device));
  if (!png.empty() && paths.size() != 1) throw UserError("predict: --png takes one --image");
  const auto kind = classifier.model->kind;
  const bool masks = kind == GlimpseKind::kResidualAttention;
  if (!png.empty() && kind != GlimpseKind::kRam && !masks)
    throw UserError(
        "predict: --png draws glimpses or attention masks, and this {} model has neither",
        choice_name(kind, glimpse_kinds()));
  ImageReadOptions options;
  options.side = classifier.image_size();
  options.grey = glimpse_channels(classifier.config.at("data")) == 1;
  options.centre_crop = false;
  std::vector<torch::Tensor> images;
  for (const auto& p : paths) images.push_back(read_image(p, options));
  const auto pixels = torch::stack(images);
  const auto out = classifier.predict(pixels, 256, /*masks=*/!png.empty() && masks);
  const auto probs = torch::softmax(out.logits, 1);
  const auto& classes = glimpse_classes(classifier.config.at("data"));
  for (size_t i = 0; i < paths.size(); ++i) {
    const int64_t label = probs[static_cast<int64_t>(i)].argmax().item<int64_t>();
    std::cout << (paths.size() > 1 ? paths[i] + "\t" : "") << classes[static_cast<size_t>(label)]
              << "\t" << fmt::format("{:.3f}", probs[static_cast<int64_t>(i)][label].item<double>())
              << std::endl;
  }
  if (!png.empty() && masks) {
    std::vector<torch::Tensor> first;
    for (const auto& m : out.masks) first.push_back(m[0]);
    write_mask_figure(png, pixels[0], first, classifier.model->residual->stage_of_block);
    std::cerr << "wrote " << png << std::endl;
  } else if (!png.empty()) {
    const auto sensor = classifier.model->ram->sensor();
    std::vector<int64_t> sides;
    for (int64_t k = 0; k < sensor.scales; ++k) sides.push_back(glimpse_side(sensor, k));
    const int64_t label = probs[0].argmax().item<int64_t>();
    write_glimpse_path(png, pixels[0], out.locations[0], sides,
                       fmt::format("{} ({:.0f}%), {} glimpses", classes[static_cast<size_t>(label)],
                                   100.0 * probs[0][label].item<double>(), out.locations.size(1)));
    std::cerr << "wrote " << png << std::endl;
  }
  return 0;
}

int run_export(const ExportFlags& f) {
  const Checkpoint checkpoint(f.checkpoint, "glimpse");
  const GlimpseClassifier classifier(checkpoint);
  write_export(export_glimpse(classifier), f, "glimpse", classifier.config,
               glimpse_methods(classifier));
  return 0;
}

// Writes the first `count` images of a split as PNG files named by their
// class, to try predict on.
int run_samples(const std::string& config_path, const std::vector<std::string>& overrides,
                const std::string& out, const std::string& split, int64_t count) {
  auto config = config_path.empty() ? default_glimpse_config() : load_glimpse_config(config_path);
  for (const auto& o : overrides) apply_override(config, o);
  config["data"]["limit"][split] = count;
  const auto data = load_glimpse_data(config.at("data"), {split});
  const auto& set = split == "test" ? data.test : split == "valid" ? data.valid : data.train;
  create_folder(out);
  for (int64_t i = 0; i < set.images.size(0); ++i) {
    const auto label =
        glimpse_classes(config.at("data"))[static_cast<size_t>(set.labels[i].item<int64_t>())];
    const std::string path = fmt::format("{}/{}-{}-{}.png", out, split, i, label);
    write_image(path, set.images[i]);
    std::cout << path << "\t" << label << std::endl;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "glimpse: image classifiers with attention, the Recurrent Attention Model and the Residual "
      "Attention Network, and their baselines, on Fashion-MNIST canvases or CIFAR-10 "
      "(attnzoo " ATTNZOO_VERSION ")"};
  app.require_subcommand(1);

  TrainFlags train;
  std::string kind;
  auto* cmd_train =
      app.add_subcommand("train", "Train a classifier; stop and --resume at any time");
  add_train_flags(cmd_train, train,
                  "JSON config (configs/glimpse/*.json; default: RAM on 28x28 Fashion-MNIST)",
                  "Images", "");
  cmd_train->add_option("--model", kind,
                        "ram | residual-attention | resnet | cnn | mlp (overrides model.kind)");

  std::string checkpoint, split = "test";
  int64_t limit = 0, batch_size = 256, threads = 0;
  std::string eval_device = "cpu", predict_device = "cpu";
  bool json = false;
  auto* cmd_eval = app.add_subcommand("eval", "Classify a split and print its error rate");
  cmd_eval->add_option("--checkpoint", checkpoint, "Checkpoint file (best.pt or checkpoint.pt)")
      ->required();
  cmd_eval->add_option("--split", split, "test | valid")
      ->check(CLI::IsMember({"test", "valid"}))
      ->capture_default_str();
  cmd_eval->add_option("--limit", limit, "Evaluate only the first N images")->check(at_least(0));
  cmd_eval->add_option("--batch-size", batch_size, "Images classified together")
      ->check(at_least(1))
      ->capture_default_str();
  cmd_eval->add_option("--threads", threads, "ATen threads (0: auto, see docs/formats.md)")
      ->check(at_least(0))
      ->capture_default_str();
  add_device_flag(cmd_eval, eval_device);
  cmd_eval->add_flag(
      "--json", json,
      "Print one JSON object (error_rate, accuracy, images, errors, images_per_sec, model, "
      "parameters; "
      "RAM: on_item, centre_on_item, follows_item)");

  std::string predict_checkpoint, png;
  std::vector<std::string> image_paths;
  int64_t predict_threads = 0;
  auto* cmd_predict = app.add_subcommand(
      "predict", "Classify image files; optionally draw the glimpse path or the masks");
  cmd_predict->add_option("--checkpoint", predict_checkpoint, "Checkpoint file")->required();
  cmd_predict
      ->add_option("--image", image_paths,
                   "Image file (Fashion-MNIST: light item on dark ground; repeat for several)")
      ->required();
  cmd_predict->add_option(
      "--png", png,
      "Draw where the model looked on the (one) image (RAM: glimpses; residual attention: masks)");
  cmd_predict->add_option("--threads", predict_threads, "ATen threads (0: auto)")
      ->check(at_least(0))
      ->capture_default_str();
  add_device_flag(cmd_predict, predict_device);

  ExportFlags export_flags;
  auto* cmd_export = add_export_command(app, export_flags, "a classifier");

  std::string samples_config, samples_out, samples_split = "test";
  std::vector<std::string> samples_overrides;
  int64_t samples_count = 8;
  auto* cmd_samples =
      app.add_subcommand("samples", "Write images of a split as PNG files, named by class");
  cmd_samples->add_option("--config", samples_config, "Glimpse config whose data section to use");
  cmd_samples->add_option("--set", samples_overrides,
                          "Any config value, e.g. --set data.clutter=4");
  cmd_samples->add_option("--out", samples_out, "Folder for the PNG files")->required();
  cmd_samples->add_option("--split", samples_split, "train | valid | test")
      ->check(CLI::IsMember({"train", "valid", "test"}))
      ->capture_default_str();
  cmd_samples->add_option("--count", samples_count, "How many images")
      ->check(at_least(0))
      ->capture_default_str();

  bool config_markdown = false;
  auto* cmd_config = add_config_command(app, config_markdown);
  CurvesFlags curves;
  auto* cmd_curves = add_curves_command(app, curves);

  return run_app(app, argc, argv, "glimpse", [&] {
    if (*cmd_config)
      return run_config(default_glimpse_config(), glimpse_config_help(), config_markdown);
    if (*cmd_curves) return run_curves(curves);
    if (*cmd_train) return run_train(train, kind);
    if (*cmd_eval)
      return run_eval(checkpoint, split, limit, batch_size, threads, eval_device, json);
    if (*cmd_predict) {
      auto inputs = image_paths;
      inputs.push_back(predict_checkpoint);
      refuse_overwriting_inputs(png, "--png", inputs);
      return run_predict(predict_checkpoint, image_paths, png, predict_threads, predict_device);
    }
    if (*cmd_export) return run_export(export_flags);
    if (*cmd_samples)
      return run_samples(samples_config, samples_overrides, samples_out, samples_split,
                         samples_count);
    return 0;
  });
}
