#pragma once
// The glimpse task end to end: Fashion-MNIST classified by the Recurrent
// Attention Model (models/glimpse.h), or by the whole-image baselines it is
// compared with (a CNN, a fully connected net); config, data (28x28,
// translated or cluttered canvases), training through the shared loop with
// the hybrid loss, and evaluation (error rate).
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "data/canvas.h"
#include "data/fashion_mnist.h"
#include "models/glimpse.h"
#include "train/checkpoint.h"
#include "train/loop.h"

namespace attnzoo {

nlohmann::json default_glimpse_config();
nlohmann::json load_glimpse_config(const std::string& path);

// Images (N,S,S) uint8 and labels (N) of each split: training items
// 0 .. 60000-valid_size-1 of Fashion-MNIST's training set, validation the
// rest of it, test its test set; each placed on data.canvas with data.clutter.
struct GlimpseSplits {
  CanvasSet train, valid, test;
};
GlimpseSplits load_glimpse_data(const nlohmann::json& data_config,
                                const std::vector<std::string>& splits = {"train", "valid",
                                                                          "test"});
CanvasOptions canvas_options(const nlohmann::json& data_config);

// uint8 images (N,S,S) -> the network's input (N,1,S,S), floats in [0,1].
torch::Tensor glimpse_input(const torch::Tensor& pixels);

// A classifier and its config: a checkpoint holds exactly this.
class GlimpseClassifier {
 public:
  explicit GlimpseClassifier(const nlohmann::json& config);
  explicit GlimpseClassifier(const Checkpoint& checkpoint);
  nlohmann::json meta() const { return {{"app", "glimpse"}, {"config", config}}; }
  int64_t image_size() const { return config.at("data").at("canvas"); }
  // Deterministic predictions (RAM looks at its policy's mean locations).
  RamOutput predict(const torch::Tensor& pixels, int64_t batch_size = 256);
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

// Whether each location (B,G,2), in the sensor's [-1,1] units on a side x side
// canvas, falls on the 28x28 square at places (B,2) (x, y of its top-left
// pixel): (B,G) bool.
torch::Tensor on_item(const torch::Tensor& locations, const torch::Tensor& places, int64_t side);

// Per glimpse (G), the least-squares slope of the glimpse centre's pixel on the
// item centre's pixel, the mean of the x and y slopes: 1 for a glimpse that
// moves one pixel with every pixel the item moves, 0 for one that ignores
// where the item is. Undefined (an empty tensor) when the items do not move.
torch::Tensor follows_item(const torch::Tensor& locations, const torch::Tensor& places,
                           int64_t side);

// The hybrid loss of a batch: cross-entropy of the classifier, plus for RAM
// REINFORCE on the locations (reward 1 for a right answer; the learned
// baseline subtracted; weighted by `reinforce_scale`) and the baseline's
// squared error. Returns the total and, in *terms, its parts.
torch::Tensor hybrid_loss(const RamOutput& out, const torch::Tensor& labels, double reinforce_scale,
                          std::vector<std::pair<std::string, torch::Tensor>>* terms);

std::unique_ptr<TrainTask> make_glimpse_task(GlimpseClassifier& classifier,
                                             const GlimpseSplits& data,
                                             const nlohmann::json& train_config);

// Trains (or, with resume, continues) in out_dir; returns the checkpoint path.
std::string train_glimpse(const nlohmann::json& config, const std::string& out_dir, bool resume);

}  // namespace attnzoo
