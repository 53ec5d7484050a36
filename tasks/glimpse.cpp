#include "tasks/glimpse.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "data/augment.h"
#include "data/config_checks.h"
#include "data/error.h"
#include "data/text_io.h"
#include "models/reinforce.h"
#include "train/config.h"
#include "train/device.h"
#include "train/distributed.h"

namespace attnzoo {

nlohmann::json default_glimpse_config() {
  auto config = nlohmann::json::parse(R"({
    "data": {
      "source": "fashion-mnist", "fashion_mnist": "/usr/share/datasets/fashion-mnist", "cifar10": "",
      "canvas": 28, "clutter": 0, "clutter_size": 8, "valid_size": 5000, "seed": 1,
      "limit": {"train": 0, "valid": 0, "test": 0}
    },
    "model": {
      "kind": "ram",
      "glimpses": 6, "patch": 8, "scales": 1, "zoom": 2,
      "glimpse_hidden": 128, "location_hidden": 128, "hidden": 256, "core": "rnn", "location_std": 0.15,
      "policy_reaches_core": false,
      "cnn": {"conv1": 16, "conv2": 32, "hidden": 64},
      "mlp": {"hidden": 256},
      "residual_attention": {"stem": 16, "stem_stride": 1, "widths": [32, 64, 128], "modules_per_stage": [1, 1, 1],
                             "p": 1, "t": 2, "r": 1, "mask": "mixed", "attention": "arl"}
    },
    "train": {
      "batch_size": 64, "clip": 5.0, "schedule": {"patience": 2},
      "reinforce_scale": 1.0, "policy_lr_scale": 1.0, "policy_decay": 0.0,
      "augment": {"crop_padding": 0, "flip": false}
    },
    "eval": {"batch_size": 256}
  })");
  config["train"] = with_loop_defaults(config.at("train"));
  return config;
}

nlohmann::json glimpse_config_help() {
  auto help = nlohmann::json::parse(R"json({
    "data": {
      "source": "fashion-mnist (Debian's IDX files) or cifar10 (CIFAR-10's binary batches)",
      "fashion_mnist": "fashion-mnist: the folder of its IDX files",
      "cifar10": "cifar10: the folder of data_batch_1.bin ... data_batch_5.bin and test_batch.bin",
      "canvas": "images are placed at random on a canvas x canvas field (28: Fashion-MNIST as it is; CIFAR-10: 32)",
      "clutter": "pieces of clutter (8x8 crops of other images) added to each canvas",
      "clutter_size": "the side of each piece of clutter",
      "valid_size": "training images held out for validation",
      "seed": "the seed of the split and the canvases",
      "limit": {
        "train": "use at most this many training images; 0: all",
        "valid": "use at most this many validation images; 0: all",
        "test": "use at most this many test images; 0: all"
      }
    },
    "model": {
      "kind": "ram (the Recurrent Attention Model), residual-attention, resnet, cnn or mlp",
      "glimpses": "ram: glimpses per image",
      "patch": "ram: the side of the smallest glimpse patch in pixels",
      "scales": "ram: patches per glimpse, each zoom times the last one's side",
      "zoom": "ram: the factor between a glimpse's scales",
      "glimpse_hidden": "ram: the glimpse network's patch layer size",
      "location_hidden": "ram: the glimpse network's location layer size",
      "hidden": "ram: the core network's state size",
      "core": "ram: rnn (rectifier units, the paper's) or lstm",
      "location_std": "ram: the policy's Gaussian noise, in the [-1, 1] units of a location",
      "policy_reaches_core": "ram: REINFORCE's gradient flows into the core through the policy (off: the location layer only)",
      "cnn": {
        "conv1": "cnn: channels of the first convolution",
        "conv2": "cnn: channels of the second convolution",
        "hidden": "cnn: the hidden layer's size"
      },
      "mlp": {
        "hidden": "mlp: the hidden layer's size"
      },
      "residual_attention": {
        "stem": "residual-attention, resnet: channels of the first convolution",
        "stem_stride": "residual-attention, resnet: the first convolution's stride",
        "widths": "residual-attention, resnet: channels of each stage",
        "modules_per_stage": "residual-attention: attention modules in each stage",
        "p": "residual-attention: residual units before the trunk/mask split and after",
        "t": "residual-attention: residual units of the trunk branch",
        "r": "residual-attention: residual units between the mask branch's poolings",
        "mask": "residual-attention: mixed (sigmoid), channel or spatial attention in the mask",
        "attention": "residual-attention: arl ((1 + M) x T), nal (M x T) or none (no mask branch)"
      }
    },
    "train": {
      "batch_size": "images per batch (--batch-size)",
      "reinforce_scale": "ram: weight of the REINFORCE term of the hybrid loss",
      "policy_lr_scale": "ram: the location policy's learning rate, as a multiple of train.lr",
      "policy_decay": "ram: decoupled weight decay of the location policy",
      "augment": {
        "crop_padding": "random crops after padding the image by this many pixels; 0: off",
        "flip": "images flipped left-right at random"
      }
    },
    "eval": {
      "batch_size": "images per batch in eval and validation"
    }
  })json");
  help["train"] = with_loop_help(help.at("train"));
  return help;
}

nlohmann::json load_glimpse_config(const std::string& path) {
  return merge_config(default_glimpse_config(), read_json_file(path), path);
}

torch::Tensor glimpse_input(const torch::Tensor& pixels) {
  const auto nchw = pixels.dim() == 4 ? pixels.permute({0, 3, 1, 2}) : pixels.unsqueeze(1);
  return nchw.to(torch::kFloat).div(255.0);
}

namespace {

// The model's options from its section, for the images its data gives.
GlimpseNetOptions glimpse_net_options(const nlohmann::json& config) {
  const auto& data = config.at("data");
  require_at_least(data, "data", {"canvas"}, 1);
  return GlimpseNetOptions::from_json(config.at("model"), data.at("canvas").get<int64_t>(),
                                      glimpse_channels(data));
}

}  // namespace

GlimpseClassifier::GlimpseClassifier(const nlohmann::json& c) : config(c) {
  model = GlimpseNet(glimpse_net_options(config));
}

GlimpseClassifier::GlimpseClassifier(const Checkpoint& checkpoint) {
  // Defaults first, so that a checkpoint from before a config key existed still loads.
  config =
      merge_config(default_glimpse_config(), checkpoint.meta().at("config"), checkpoint.path());
  model = GlimpseNet(glimpse_net_options(config));
  checkpoint.load_model(*model);
}

RamOutput GlimpseClassifier::predict(const torch::Tensor& pixels, int64_t batch_size, bool masks) {
  torch::NoGradGuard no_grad;
  const bool was_training = model->is_training();
  model->eval();
  std::vector<torch::Tensor> logits, locations;
  std::vector<std::vector<torch::Tensor>> mask_parts;  // per module, per batch
  const auto device = module_device(*model);
  for (int64_t start = 0; start < pixels.size(0); start += batch_size) {
    const auto out = model->forward(
        glimpse_input(pixels.slice(0, start, start + batch_size)).to(device), /*sample=*/false);
    logits.push_back(out.logits.to(torch::kCPU));
    if (out.locations.defined()) locations.push_back(out.locations.to(torch::kCPU));
    if (masks) {
      mask_parts.resize(out.masks.size());
      for (size_t i = 0; i < out.masks.size(); ++i)
        mask_parts[i].push_back(out.masks[i].to(torch::kCPU));
    }
  }
  model->train(was_training);
  RamOutput out;
  out.logits = torch::cat(logits);
  if (!locations.empty()) out.locations = torch::cat(locations);
  for (const auto& parts : mask_parts) out.masks.push_back(torch::cat(parts));
  return out;
}

// ----------------------------------------------------------------------------
// Evaluation and loss

nlohmann::json GlimpseEval::to_json() const {
  const double speed = seconds > 0 ? static_cast<double>(images) / seconds : 0.0;
  nlohmann::json j = {{"error_rate", error_rate},
                      {"accuracy", 1.0 - error_rate},
                      {"images", images},
                      {"errors", errors},
                      {"images_per_sec", speed}};
  if (!on_item.empty()) {
    j["on_item"] = on_item;
    j["centre_on_item"] = centre_on_item;
  }
  if (!follows_item.empty()) {
    j["follows_item"] = follows_item;
  }
  return j;
}

GlimpseEval evaluate_glimpse(GlimpseClassifier& classifier, const CanvasSet& data,
                             int64_t batch_size) {
  const auto start = std::chrono::steady_clock::now();
  const auto out = classifier.predict(data.images, batch_size);
  GlimpseEval ev;
  ev.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ev.images = data.images.size(0);
  ev.errors = out.logits.argmax(1).ne(data.labels).sum().item<int64_t>();
  ev.error_rate =
      ev.images > 0 ? static_cast<double>(ev.errors) / static_cast<double>(ev.images) : 0.0;
  if (out.locations.defined() && data.places.defined() && ev.images > 0) {
    const int64_t side = data.images.size(1);
    const auto hits = on_item(out.locations, data.places, side).to(torch::kDouble).mean(0);
    for (int64_t t = 0; t < hits.size(0); ++t) ev.on_item.push_back(hits[t].item<double>());
    const auto centre = torch::zeros({ev.images, 1, 2});
    ev.centre_on_item = on_item(centre, data.places, side).to(torch::kDouble).mean().item<double>();
    const auto slopes = follows_item(out.locations, data.places, side);
    for (int64_t t = 0; slopes.defined() && t < slopes.size(0); ++t)
      ev.follows_item.push_back(slopes[t].item<double>());
  }
  return ev;
}

// ----------------------------------------------------------------------------
// Training

namespace {

class GlimpseTask : public TrainTask {
 public:
  GlimpseTask(GlimpseClassifier& c, const GlimpseSplits& data, const nlohmann::json& tc)
      : c_(c),
        data_(data),
        batch_size_(tc.at("batch_size")),
        reinforce_scale_(tc.at("reinforce_scale")),
        policy_lr_scale_(tc.at("policy_lr_scale")),
        policy_decay_(tc.at("policy_decay")),
        eval_batch_(c.config.at("eval").at("batch_size")),
        augment_(AugmentOptions::from_json(tc.at("augment"))),
        seed_(tc.at("seed")) {
    if (data.train.images.size(0) == 0) throw UserError("no training images");
    if (!(policy_lr_scale_ > 0)) throw UserError("config: train.policy_lr_scale must be positive");
    if (!(policy_decay_ >= 0)) throw UserError("config: train.policy_decay must not be negative");
  }

  torch::nn::Module& model() override { return *c_.model; }

  // The location policy W_l learns from REINFORCE alone, whose gradient is
  // mostly noise: under Adam every weight then random-walks by about lr a step.
  // A smaller rate for W_l shrinks that walk while a consistent gradient still
  // moves it steadily (train.policy_lr_scale); train.policy_decay shrinks W_l
  // toward zero after each step, keeping glimpses near the centre unless the
  // gradient pulls them away (both at their defaults: one group, as other tasks).
  std::vector<ParameterGroup> parameter_groups() override {
    if (!c_.model->ram || (policy_lr_scale_ == 1.0 && policy_decay_ == 0.0))
      return TrainTask::parameter_groups();
    const auto policy = c_.model->ram->policy->parameters();
    std::vector<torch::Tensor> rest;
    for (const auto& p : c_.model->parameters()) {
      const bool in_policy =
          std::any_of(policy.begin(), policy.end(), [&](const auto& q) { return q.is_same(p); });
      if (!in_policy) rest.push_back(p);
    }
    return {{rest, 1.0, 0.0}, {policy, policy_lr_scale_, policy_decay_}};
  }
  std::string unit() const override { return "img"; }
  void set_progress(int64_t step, int64_t) override { step_ = step; }

  std::vector<std::vector<size_t>> epoch_batches(uint64_t seed) override {
    return shuffled_batches(static_cast<size_t>(data_.train.images.size(0)), batch_size_, seed);
  }

  StepResult train_step(const std::vector<size_t>& batch) override {
    const auto index =
        torch::tensor(std::vector<int64_t>(batch.begin(), batch.end()), torch::kLong);
    const auto device = module_device(*c_.model);
    auto pixels = data_.train.images.index_select(0, index);
    // Each step's crops and flips follow from the seed, the step and the process:
    // the same after a resume, different on every rank.
    if (augment_.any())
      pixels = augment_images(pixels, augment_,
                              (seed_ * 1000003ULL + static_cast<uint64_t>(step_)) * 131ULL +
                                  static_cast<uint64_t>(world().rank()));
    const auto images = glimpse_input(pixels).to(device);
    const auto labels = data_.train.labels.index_select(0, index).to(device);
    StepResult r;
    r.loss =
        hybrid_loss(c_.model->forward(images, /*sample=*/true), labels, reinforce_scale_, &r.terms);
    r.tokens = static_cast<int64_t>(batch.size());
    return r;
  }

  Evaluation evaluate() override {
    const auto ev = evaluate_glimpse(c_, data_.valid, eval_batch_);
    Evaluation e;
    e.metrics = {{"valid_error_rate", ev.error_rate}};
    e.score = 1.0 - ev.error_rate;
    e.summary = fmt::format("valid error {:.4f} ({} of {})", ev.error_rate, ev.errors, ev.images);
    return e;
  }

  nlohmann::json meta() const override { return c_.meta(); }
  std::map<std::string, torch::Tensor> tensors() const override { return {}; }

 private:
  GlimpseClassifier& c_;
  const GlimpseSplits& data_;
  int64_t batch_size_;
  double reinforce_scale_;
  double policy_lr_scale_;
  double policy_decay_;
  int64_t eval_batch_;
  AugmentOptions augment_;
  uint64_t seed_;
  int64_t step_ = 0;
};

}  // namespace

std::unique_ptr<TrainTask> make_glimpse_task(GlimpseClassifier& classifier,
                                             const GlimpseSplits& data,
                                             const nlohmann::json& train_config) {
  return std::make_unique<GlimpseTask>(classifier, data, train_config);
}

std::string train_glimpse(const nlohmann::json& config_in, const std::string& out_dir,
                          RunStart start) {
  auto checkpoint =
      begin_run(LoopOptions::from_json(config_in.at("train")), out_dir, start, "glimpse");
  std::unique_ptr<GlimpseClassifier> classifier;
  if (checkpoint) {
    classifier = std::make_unique<GlimpseClassifier>(*checkpoint);
    classifier->config["train"] = config_in.at("train");
    classifier->config["eval"] = config_in.at("eval");
  } else {
    classifier = std::make_unique<GlimpseClassifier>(config_in);
  }
  GlimpseClassifier& c = *classifier;
  const auto& d = c.config.at("data");
  if (d.at("source") == "cifar10")
    std::fprintf(stderr, "reading CIFAR-10 from %s\n", d.at("cifar10").get<std::string>().c_str());
  else
    std::fprintf(stderr, "making %lldx%lld canvases (%lld pieces of clutter)\n",
                 static_cast<long long>(d.at("canvas").get<int64_t>()),
                 static_cast<long long>(d.at("canvas").get<int64_t>()),
                 static_cast<long long>(d.at("clutter").get<int64_t>()));
  const auto data = load_glimpse_data(d, {"train", "valid"});
  if (world().main()) write_json_file(out_dir + "/config.json", c.config);
  int64_t parameters = 0;
  for (const auto& p : c.model->parameters()) parameters += p.numel();
  std::fprintf(stderr, "data: %lld train images, %lld valid | model: %s, %lld parameters\n",
               static_cast<long long>(data.train.images.size(0)),
               static_cast<long long>(data.valid.images.size(0)),
               choice_name(c.model->kind, glimpse_kinds()).c_str(),
               static_cast<long long>(parameters));
  const auto task = make_glimpse_task(c, data, c.config.at("train"));
  run_training(*task, LoopOptions::from_json(c.config.at("train")), out_dir, std::move(checkpoint));
  return out_dir + "/checkpoint.pt";
}

}  // namespace attnzoo
