#include "tasks/captioner_training.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <numeric>
#include <random>

#include "data/error.h"
#include "data/fashion_mnist.h"
#include "data/images.h"
#include "data/karpathy.h"
#include "data/text_io.h"
#include "eval/bleu.h"
#include "eval/cider.h"
#include "eval/heatmap.h"
#include "tasks/hard_attention.h"
#include "tasks/item_pretrain.h"
#include "train/config.h"
#include "train/device.h"
#include "train/distributed.h"
#include "train/loop.h"
#include "train/progress.h"
#include "train/runtime.h"

namespace attnzoo {

// ----------------------------------------------------------------------------
// Training

namespace {

struct CaptionExample {
  size_t image;
  std::vector<int64_t> ids;  // with <eos>
};

// Captioning as a TrainTask: every (image, reference) pair is an example;
// loss = cross-entropy + the doubly stochastic penalty + the attention entropy.
class CaptionTask : public TrainTask {
 public:
  CaptionTask(Captioner& c, CaptionSplits& data, const nlohmann::json& tc,
              const std::string& cache_path)
      : c_(c),
        data_(data),
        batch_size_(tc.at("batch_size")),
        lambda_(tc.at("doubly_stochastic")),
        entropy_weight_(tc.at("attention_entropy")),
        all_captions_(tc.at("all_captions")),
        select_metric_(tc.at("select_metric")),
        search_(c.search_options()),
        decode_batch_(c.config.at("decode").at("batch_size")),
        augment_(c.augment_options().any()),
        hard_(c.model->decoder->attention, tc.at("hard")) {
    if (lambda_ < 0 || entropy_weight_ < 0)
      throw UserError("config: train.doubly_stochastic and train.attention_entropy must be >= 0");
    if (select_metric_ != "bleu4" && select_metric_ != "cider")
      throw UserError("config: train.select_metric \"{}\" is not one of bleu4, cider",
                      select_metric_);
    for (size_t i = 0; i < data.train.size(); ++i) {
      image_examples_.emplace_back();
      for (const auto& caption : data.train[i].captions) {
        image_examples_.back().push_back(examples_.size());
        examples_.push_back({i, c.encode_caption(caption)});
      }
    }
    const int64_t valid_max = tc.at("valid_max_images");
    valid_.assign(data.valid.begin(),
                  valid_max > 0 && static_cast<size_t>(valid_max) < data.valid.size()
                      ? data.valid.begin() + valid_max
                      : data.valid.end());
    if (examples_.empty()) throw UserError("no training captions");
    if (!cache_path.empty()) {
      check_cache_config(c.config);
      cache_ = load_or_build_feature_cache(c, data.train, cache_path, decode_batch_);
      // The pixels are no longer needed for training.
      for (auto& image : data.train) image.pixels = torch::Tensor();
    }
  }

  torch::nn::Module& model() override { return *c_.model; }

  // train.all_captions: batch_size images, each with every one of its captions
  // (the encoder, most of a step's arithmetic, runs once per image); else
  // batch_size (image, caption) pairs.
  std::vector<std::vector<size_t>> epoch_batches(uint64_t seed) override {
    if (!all_captions_) return shuffled_batches(examples_.size(), batch_size_, seed);
    auto batches = shuffled_batches(image_examples_.size(), batch_size_, seed);
    for (auto& batch : batches) {
      std::vector<size_t> rows;
      for (size_t image : batch)
        rows.insert(rows.end(), image_examples_[image].begin(), image_examples_[image].end());
      batch = std::move(rows);
    }
    return batches;
  }

  // The doubly stochastic penalty is a mean per caption while the loop
  // weighs each process's loss by its words: this factor (1 in one process)
  // makes N processes' weighted penalties add up to the whole batch's mean.
  static double caption_share(double captions, int64_t words) {
    if (!world().distributed()) return 1.0;
    auto sums = torch::tensor({captions, static_cast<double>(words)}, torch::kDouble);
    world().sum(sums, "every rank's caption and word counts");
    const double all_captions = sums[0].item<double>(), all_words = sums[1].item<double>();
    return (captions / static_cast<double>(words)) * (all_words / all_captions);
  }

  StepResult train_step(const std::vector<size_t>& batch) override {
    // Each image of the batch is encoded once, however many of its captions the batch holds.
    std::vector<const torch::Tensor*> pixels;
    std::vector<int64_t> image_ids, image_of_row;
    std::map<size_t, int64_t> slot;
    size_t longest = 0;
    for (size_t i : batch) {
      const size_t image = examples_[i].image;
      const auto [it, added] = slot.emplace(image, static_cast<int64_t>(image_ids.size()));
      if (added) {
        pixels.push_back(&data_.train[image].pixels);
        image_ids.push_back(static_cast<int64_t>(image));
      }
      image_of_row.push_back(it->second);
      longest = std::max(longest, examples_[i].ids.size());
    }
    // captions_in = <bos> y_1 .. y_{n-1}; captions_out = y_1 .. <eos>; padded.
    std::vector<int64_t> in_ids(batch.size() * longest, Vocab::kPad),
        out_ids(batch.size() * longest, Vocab::kPad);
    int64_t tokens = 0;
    for (size_t r = 0; r < batch.size(); ++r) {
      const auto& ids = examples_[batch[r]].ids;
      for (size_t t = 0; t < ids.size(); ++t) {
        in_ids[r * longest + t] = t == 0 ? Vocab::kBos : ids[t - 1];
        out_ids[r * longest + t] = ids[t];
      }
      tokens += static_cast<int64_t>(ids.size());
    }
    const std::vector<int64_t> shape = {static_cast<int64_t>(batch.size()),
                                        static_cast<int64_t>(longest)};
    const auto device = module_device(*c_.model);
    const auto in = torch::tensor(in_ids, torch::kLong).view(shape).to(device);
    const auto out = torch::tensor(out_ids, torch::kLong).view(shape).to(device);
    const auto rows = out.ne(Vocab::kPad);
    hard_.begin_batch();
    const auto images = cache_.defined()
                            ? cache_.index_select(0, torch::tensor(image_ids, torch::kLong))
                                  .to(device, torch::kFloat)
                            : c_.model->encode(c_.prepare(pixels, augment_));
    const auto features =
        images.index_select(0, torch::tensor(image_of_row, torch::kLong).to(device));
    const auto result = c_.model->decoder->forward(features, in, rows);
    const auto token_nll = torch::nn::functional::cross_entropy(
        result.logits, out.masked_select(rows),
        torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
    auto loss = token_nll.mean();
    StepResult step;
    step.terms.push_back({"nll", loss.detach()});
    if (lambda_ > 0)
      loss = loss + doubly_stochastic_penalty(result.alphas, rows, lambda_) *
                        caption_share(static_cast<double>(batch.size()), tokens);
    if (entropy_weight_ > 0) {
      const auto entropy = attention_entropy(result.alphas, rows);
      step.terms.push_back({"attn_entropy", entropy.detach()});
      loss = loss + entropy_weight_ * entropy;
    }
    if (hard_.active())
      loss = loss + hard_.loss(result.log_probs, result.entropies, rows, token_nll, &step.terms);
    step.loss = loss;
    step.tokens = tokens;
    return step;
  }

  Evaluation evaluate() override {
    const auto ev = evaluate_captioner(c_, valid_, search_, decode_batch_);
    Evaluation e;
    e.metrics = {{"valid_bleu4", ev.bleu[3]}, {"valid_cider", ev.cider}};
    if (ev.pointing_accuracy >= 0) {
      e.metrics["valid_pointing_accuracy"] = ev.pointing_accuracy;
      e.metrics["valid_item_recall"] = ev.item_recall;
    }
    e.score = select_metric_ == "cider" ? ev.cider : ev.bleu[3];
    e.summary = fmt::format("valid bleu4 {:.2f} cider {:.3f}", ev.bleu[3], ev.cider);
    if (ev.pointing_accuracy >= 0)
      e.summary +=
          fmt::format(" pointing {:.3f} items {:.3f}", ev.pointing_accuracy, ev.item_recall);
    if (!ev.results.empty()) e.summary += " | \"" + ev.results[0].text + "\"";
    return e;
  }

  nlohmann::json meta() const override { return c_.meta(); }
  std::map<std::string, torch::Tensor> tensors() const override { return c_.tensors(); }

 private:
  Captioner& c_;
  CaptionSplits& data_;
  std::vector<CaptionExample> examples_;
  std::vector<std::vector<size_t>> image_examples_;  // the examples of each training image
  std::vector<CaptionImage> valid_;
  int64_t batch_size_;
  double lambda_, entropy_weight_;
  bool all_captions_;
  std::string select_metric_;
  SearchOptions search_;
  int64_t decode_batch_;
  bool augment_;
  HardAttentionTraining hard_;
  torch::Tensor cache_;  // (images, L, D) fp16 when encoder.cache is on
};

}  // namespace

std::unique_ptr<TrainTask> make_caption_task(Captioner& captioner, CaptionSplits& data,
                                             const nlohmann::json& train_config,
                                             const std::string& cache_path) {
  return std::make_unique<CaptionTask>(captioner, data, train_config, cache_path);
}

void pretrain_caption_encoder(Captioner& c, const std::string& report_path) {
  const auto& p = c.config.at("encoder").at("pretrain");
  ItemPretrainOptions o;
  o.steps = p.at("steps");
  if (o.steps == 0) return;
  if (!c.config.at("encoder").at("weights").get<std::string>().empty()) {
    std::fprintf(stderr, "encoder pretraining skipped: the encoder starts from encoder.weights\n");
    return;
  }
  const auto& d = c.config.at("data");
  if (d.at("source") != "scenes")
    throw UserError(
        "config: encoder.pretrain classifies Fashion-MNIST items, so it needs data.source scenes "
        "(--set encoder.pretrain.steps=0 to caption other images)");
  o.batch_size = p.at("batch_size");
  o.lr = p.at("lr");
  o.min_size = d.at("scenes").at("min_size");
  o.max_size = d.at("scenes").at("max_size");
  o.canvas = p.at("canvas");
  o.target = p.at("target");
  if (o.canvas == 0) o.canvas = d.at("scenes").at("canvas");
  o.seed = c.config.at("train").at("seed");
  const std::string dir = d.at("fashion_mnist");
  // The whole encoder learns the items; encoder.trainable_stages applies to captioning.
  c.model->encoder->unfreeze();
  const auto prepare = [&](const std::vector<const torch::Tensor*>& pixels) {
    return c.prepare(pixels);
  };
  const auto report = pretrain_on_items(*c.model->encoder, load_fashion_mnist(dir, "train"),
                                        load_fashion_mnist(dir, "test"), o, prepare);
  if (world().main())
    write_json_file(report_path, {{"steps", report.steps},
                                  {"seconds", report.seconds},
                                  {"train_loss", report.train_loss},
                                  {"test_accuracy", report.test_accuracy}});
  c.apply_freezing();
}

std::string train_captioner(const nlohmann::json& config_in, const std::string& out_dir,
                            RunStart start) {
  const auto& tc = config_in.at("train");
  auto checkpoint = begin_run(LoopOptions::from_json(tc), out_dir, start, "caption");

  if (config_in.at("encoder").at("cache").get<bool>()) check_cache_config(config_in);
  if (start != RunStart::resume) check_encoder_weights(config_in);
  std::fprintf(stderr, "loading data (%s)\n",
               config_in.at("data").at("source").get<std::string>().c_str());
  auto data = load_caption_data(config_in.at("data"), {"train", "valid", "test"},
                                stage_progress_bars("images"));
  std::unique_ptr<Captioner> captioner;
  if (checkpoint) {
    captioner = std::make_unique<Captioner>(*checkpoint);
    captioner->config["train"] = config_in.at("train");
    captioner->config["decode"] = config_in.at("decode");
  } else {
    captioner = std::make_unique<Captioner>(config_in, data.train);
  }
  Captioner& c = *captioner;
  if (!checkpoint) pretrain_caption_encoder(c, out_dir + "/pretrain.json");
  if (world().main()) {
    write_json_file(out_dir + "/config.json", c.config);
    c.vocab.save(out_dir + "/vocab.json");
  }
  int64_t parameters = 0, trainable = 0;
  for (const auto& p : c.model->parameters()) {
    parameters += p.numel();
    if (p.requires_grad()) trainable += p.numel();
  }
  // One image through the encoder (eval mode: BatchNorm statistics untouched;
  // the loop switches to training) gives the number of locations for the log.
  int64_t grid_h = 0, grid_w = 0;
  {
    torch::NoGradGuard no_grad;
    c.model->eval();
    c.model->encode(c.prepare({&data.train.front().pixels}), &grid_h, &grid_w);
  }
  std::fprintf(stderr,
               "data: %zu train images, %zu valid, %zu test | vocab: %lld | model: %lld parameters "
               "(%lld trained), "
               "%lld locations x %lld features\n",
               data.train.size(), data.valid.size(), data.test.size(),
               static_cast<long long>(c.vocab.size()), static_cast<long long>(parameters),
               static_cast<long long>(trainable), static_cast<long long>(grid_h * grid_w),
               static_cast<long long>(c.model->decoder->options.feature_size()));
  const bool cache = c.config.at("encoder").at("cache");
  const auto task = make_caption_task(c, data, tc, cache ? out_dir + "/features.pt" : "");
  run_training(*task, LoopOptions::from_json(tc), out_dir, std::move(checkpoint));
  return out_dir + "/checkpoint.pt";
}

}  // namespace attnzoo
