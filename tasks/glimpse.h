#pragma once
// The glimpse task end to end: Fashion-MNIST (28x28, translated or cluttered
// canvases) or CIFAR-10 classified by the Recurrent Attention Model
// (models/glimpse.h), the Residual Attention Network, or the whole-image
// baselines they are compared with (a ResNet, a CNN, a fully connected net);
// config, data, training through the shared loop with the hybrid loss and
// optional augmentation (data/augment.h), and evaluation (error rate).
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "data/canvas.h"
#include "data/fashion_mnist.h"
#include "data/glimpse_data.h"
#include "eval/glimpse_metrics.h"
#include "models/glimpse.h"
#include "train/checkpoint.h"
#include "train/loop.h"

namespace attnzoo {

nlohmann::json default_glimpse_config();
// Its one-line descriptions, of the same shape (`glimpse config`).
nlohmann::json glimpse_config_help();
nlohmann::json load_glimpse_config(const std::string& path);

// uint8 images (N,S,S) grey or (N,S,S,3) RGB -> the network's input
// (N,1,S,S) or (N,3,S,S), floats in [0,1].
torch::Tensor glimpse_input(const torch::Tensor& pixels);

// A classifier and its config: a checkpoint holds exactly this.
class GlimpseClassifier {
 public:
  explicit GlimpseClassifier(const nlohmann::json& config);
  explicit GlimpseClassifier(const Checkpoint& checkpoint);
  nlohmann::json meta() const { return {{"app", "glimpse"}, {"config", config}}; }
  int64_t image_size() const { return config.at("data").at("canvas"); }
  // Deterministic predictions (RAM looks at its policy's mean locations);
  // `masks`: residual attention's masks too (C*H*W floats per image and module).
  RamOutput predict(const torch::Tensor& pixels, int64_t batch_size = 256, bool masks = false);
  nlohmann::json config;
  GlimpseNet model{nullptr};
};

struct GlimpseEval {
  double error_rate = 0.0;  // 0-1
  int64_t images = 0, errors = 0;
  double seconds = 0.0;
  // RAM only: per glimpse, the share of images where its centre fell on the
  // item's 28x28 square; and the same for a glimpse at the canvas's centre
  // (what a policy that never moves would score).
  std::vector<double> on_item;
  double centre_on_item = 0.0;
  // RAM on canvases where items move: per glimpse, how far its centre moves
  // with the item (follows_item below); 1 tracks the item, 0 ignores it.
  std::vector<double> follows_item;
  nlohmann::json to_json() const;
};
GlimpseEval evaluate_glimpse(GlimpseClassifier& classifier, const CanvasSet& images,
                             int64_t batch_size = 256);

std::unique_ptr<TrainTask> make_glimpse_task(GlimpseClassifier& classifier,
                                             const GlimpseSplits& data,
                                             const nlohmann::json& train_config);

// Trains in out_dir (fresh, resumed or started over: RunStart in train/loop.h);
// returns the checkpoint path.
std::string train_glimpse(const nlohmann::json& config, const std::string& out_dir, RunStart start);

}  // namespace attnzoo
