#include "train/item_pretrain.h"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <random>

#include "data/error.h"
#include "data/scenes.h"
#include "train/progress.h"
#include "train/schedule.h"

namespace attnzoo {

namespace {

int64_t uniform(std::mt19937_64& rng, int64_t lo, int64_t hi) {  // [lo, hi]
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
}

// The encoder's mean location -> class logits.
torch::Tensor classify(ResNetImpl& encoder, torch::nn::Linear& head, const torch::Tensor& images) {
  return head->forward(encoder.locations(images).mean(1));
}

}  // namespace

ItemPretrainReport pretrain_on_items(ResNetImpl& encoder, const FashionMnist& train, const FashionMnist& test,
                                     const ItemPretrainOptions& o, const PreparePixels& prepare) {
  if (o.steps < 1 || o.batch_size < 1 || !(o.lr > 0))
    throw UserError("config: encoder.pretrain needs steps >= 0, batch_size >= 1 and lr > 0 (not {}, {}, {})", o.steps,
                    o.batch_size, o.lr);
  if (o.min_size < 8 || o.max_size < o.min_size || o.canvas < o.max_size)
    throw UserError("config: encoder.pretrain: items of sides {} to {} do not fit a canvas of {}", o.min_size,
                    o.max_size, o.canvas);
  const int64_t side = o.canvas;
  const int64_t classes = train.labels.max().item<int64_t>() + 1;
  torch::nn::Linear head(encoder.feature_size(), classes);
  std::vector<torch::Tensor> parameters = head->parameters();
  for (const auto& p : encoder.parameters())
    if (p.requires_grad()) parameters.push_back(p);
  torch::optim::Adam optimizer(parameters, torch::optim::AdamOptions(o.lr));
  // Half a cosine from lr down to 0 over the steps (the shared schedule, read one step early: step 1 runs at lr).
  LrScheduleOptions cosine;
  cosine.kind = "cosine";
  cosine.min_lr = 0.0;
  cosine.total_steps = o.steps;
  const LrSchedule schedule(o.lr, cosine);
  std::mt19937_64 rng(o.seed * 0x9E3779B97F4A7C15ULL + 17);
  const auto labels = train.labels.contiguous();
  const int64_t* label = labels.data_ptr<int64_t>();
  const int64_t n = train.images.size(0);

  ItemPretrainReport report;
  report.steps = o.steps;
  const auto start = std::chrono::steady_clock::now();
  encoder.train();
  ProgressBar bar(o.steps, "pretraining the encoder on Fashion-MNIST items", 10.0);
  double tail_loss = 0.0;
  int64_t tail = 0;
  for (int64_t step = 1; step <= o.steps; ++step) {
    std::vector<torch::Tensor> canvases;
    std::vector<int64_t> targets;
    for (int64_t b = 0; b < o.batch_size; ++b) {
      const int64_t which = uniform(rng, 0, n - 1);
      const int64_t size = uniform(rng, o.min_size, o.max_size);
      const int64_t x = uniform(rng, 0, side - size), y = uniform(rng, 0, side - size);
      canvases.push_back(item_canvas(train.images[which], side, size, x, y));
      targets.push_back(label[which]);
    }
    std::vector<const torch::Tensor*> pixels;
    for (const auto& c : canvases) pixels.push_back(&c);
    const double lr = schedule.lr(step - 1);
    for (auto& group : optimizer.param_groups()) static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
    optimizer.zero_grad();
    const auto loss =
        torch::nn::functional::cross_entropy(classify(encoder, head, prepare(pixels)), torch::tensor(targets));
    loss.backward();
    optimizer.step();
    if (step > o.steps - std::max<int64_t>(1, o.steps / 10)) {
      tail_loss += loss.item<double>();
      ++tail;
    }
    if (step % 10 == 0 || step == o.steps) bar.update(step, fmt::format("loss {:.3f}", loss.item<double>()));
  }
  report.train_loss = tail_loss / static_cast<double>(tail);

  // Held-out accuracy: the first test items, centred at the middle size.
  encoder.eval();
  torch::NoGradGuard no_grad;
  const int64_t count = std::min<int64_t>(o.test_items, test.images.size(0));
  const int64_t size = (o.min_size + o.max_size) / 2, at = (side - size) / 2;
  int64_t correct = 0;
  for (int64_t first = 0; first < count; first += 256) {
    std::vector<torch::Tensor> canvases;
    for (int64_t i = first; i < std::min(count, first + 256); ++i)
      canvases.push_back(item_canvas(test.images[i], side, size, at, at));
    std::vector<const torch::Tensor*> pixels;
    for (const auto& c : canvases) pixels.push_back(&c);
    const auto predicted = classify(encoder, head, prepare(pixels)).argmax(1);
    const auto truth = test.labels.slice(0, first, first + static_cast<int64_t>(canvases.size()));
    correct += predicted.eq(truth).sum().item<int64_t>();
  }
  report.test_accuracy = count > 0 ? static_cast<double>(correct) / static_cast<double>(count) : 0.0;
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  bar.finish(fmt::format("loss {:.3f}, held-out accuracy {:.3f}", report.train_loss, report.test_accuracy));
  return report;
}

}  // namespace attnzoo
