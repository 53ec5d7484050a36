// Benchmark: captioning training throughput (images/s) with a frozen encoder
// run at every step ("live"), with its feature maps cached once ("cache",
// encoder.cache), and fine-tuning the encoder's top stage ("finetune"). The
// model is that of a caption config (default: configs/caption/flickr8k.json,
// ResNet-50 up to layer3, 14x14 locations at 224 pixels); the images are
// Fashion-MNIST scenes drawn at that size (the pixels do not change the work)
// and the encoder weights random (neither does that).
//
//   build/bin/bench_caption --config configs/caption/flickr8k.json --repeats 3
//
// Prints one JSON object: medians over repeats, every sample, and the cost of
// building the cache (images encoded per second).
#include <CLI/CLI.hpp>

#include <chrono>
#include <filesystem>
#include <iostream>

#include "bench/stats.h"
#include "data/error.h"
#include "tasks/caption_config.h"
#include "tasks/captioner_training.h"
#include "train/config.h"
#include "train/runtime.h"

using namespace attnzoo;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

struct ModeResult {
  std::vector<double> images_per_sec;
  double encode_images_per_sec = 0.0;  // cache only
  int64_t trained_parameters = 0;
};

// Times `repeats` x `steps` training steps (forward, backward, Adam) of one mode.
ModeResult run_mode(const std::string& mode, nlohmann::json config, CaptionSplits data, int steps,
                    int repeats) {
  config["encoder"]["trainable_stages"] = mode == "finetune" ? 1 : 0;
  config["encoder"]["cache"] = mode == "cache";
  torch::manual_seed(1);
  Captioner c(config, data.train);
  ModeResult r;
  const std::string cache_path =
      mode == "cache"
          ? (std::filesystem::temp_directory_path() / "attnzoo_bench_features.pt").string()
          : "";
  std::error_code ec;
  std::filesystem::remove(cache_path, ec);
  const auto start = Clock::now();
  auto task = make_caption_task(c, data, config.at("train"), cache_path);
  if (mode == "cache")
    r.encode_images_per_sec = static_cast<double>(data.train.size()) / seconds_since(start);
  std::filesystem::remove(cache_path, ec);
  std::vector<torch::Tensor> params;
  for (const auto& p : c.model->parameters())
    if (p.requires_grad()) {
      params.push_back(p);
      r.trained_parameters += p.numel();
    }
  torch::optim::Adam adam(params, torch::optim::AdamOptions(4e-4));
  task->set_training(true);
  const auto batches = task->epoch_batches(1);
  if (static_cast<int>(batches.size()) < steps + 1) throw UserError("bench: too few batches");
  auto step = [&](const std::vector<size_t>& batch) {
    adam.zero_grad();
    task->train_step(batch).loss.backward();
    adam.step();
    return static_cast<double>(batch.size());
  };
  step(batches.back());  // warm-up
  for (int rep = 0; rep < repeats; ++rep) {
    double images = 0;
    const auto t0 = Clock::now();
    for (int s = 0; s < steps; ++s) images += step(batches[static_cast<size_t>(s)]);
    r.images_per_sec.push_back(images / seconds_since(t0));
    std::cerr << mode << " repeat " << rep + 1 << ": " << r.images_per_sec.back() << " images/s"
              << std::endl;
  }
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "bench_caption: captioning training speed, live frozen encoder vs cached feature maps vs "
      "fine-tuning"};
  std::string config_path = "configs/caption/flickr8k.json";
  std::vector<std::string> modes = {"live", "cache", "finetune"};
  int threads = 0, repeats = 3, steps = 3, image_size = 224, batch_size = 0;
  app.add_option("--config", config_path, "Caption config whose model to time")
      ->capture_default_str();
  app.add_option("--modes", modes, "Any of live, cache, finetune")->capture_default_str();
  app.add_option("--image-size", image_size, "Image side in pixels")->capture_default_str();
  app.add_option("--batch-size", batch_size, "Captions per batch (0: the config's)");
  app.add_option("--threads", threads, "ATen intra-op threads (0: auto)")->capture_default_str();
  app.add_option("--repeats", repeats, "Timed repeats (the median is reported)")
      ->capture_default_str();
  app.add_option("--steps", steps, "Training steps per repeat")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    set_threads(threads, 0);
    auto config = load_caption_config(config_path);
    if (batch_size > 0) config["train"]["batch_size"] = batch_size;
    batch_size = config.at("train").at("batch_size");
    config["encoder"]["weights"] = "";
    nlohmann::json data_config = default_caption_config().at("data");
    // Enough scenes for steps + 1 batches (five captions each), drawn at image_size.
    const int64_t images = (static_cast<int64_t>(steps) + 2) * batch_size / 5 + 1;
    for (const std::string& o : std::vector<std::string>{
             "scenes.canvas=" + std::to_string(image_size),
             "scenes.min_size=" + std::to_string(image_size / 4),
             "scenes.max_size=" + std::to_string(image_size * 3 / 8),
             "scenes.train_size=" + std::to_string(images), std::string("scenes.valid_size=1"),
             std::string("scenes.test_size=1")})
      apply_override(data_config, o);
    config["data"] = data_config;
    const auto data = load_caption_data(data_config);
    nlohmann::json result = {{"config", config_path},    {"image_size", image_size},
                             {"batch_size", batch_size}, {"steps", steps},
                             {"repeats", repeats},       {"threads", at::get_num_threads()}};
    for (const auto& mode : modes) {
      if (mode != "live" && mode != "cache" && mode != "finetune")
        throw UserError("bench: --modes {} is not one of live, cache, finetune", mode);
      const auto r = run_mode(mode, config, data, steps, repeats);
      result[mode] = {{"images_per_sec_median", bench::median(r.images_per_sec)},
                      {"images_per_sec", r.images_per_sec},
                      {"trained_parameters", r.trained_parameters}};
      if (mode == "cache") result[mode]["encode_images_per_sec"] = r.encode_images_per_sec;
    }
    if (result.contains("live") && result.contains("cache"))
      result["cache_speedup"] = result["cache"]["images_per_sec_median"].get<double>() /
                                result["live"]["images_per_sec_median"].get<double>();
    std::cout << result.dump(2) << std::endl;
  } catch (const UserError& e) {
    std::cerr << "bench_caption: error: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
