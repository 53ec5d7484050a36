#include "tasks/item_pretrain.h"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <random>

#include "data/error.h"
#include "data/scenes.h"
#include "train/progress.h"
#include "train/runtime.h"
#include "train/schedule.h"

namespace attnzoo {

namespace {

int64_t uniform(std::mt19937_64& rng, int64_t lo, int64_t hi) {  // [lo, hi]
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
}

// The box of the item's ink on its canvas, as the scenes box items; the
// whole patch where there is no ink.
Box ink_or_patch(const torch::Tensor& canvas, int64_t x, int64_t y, int64_t size) {
  const Box ink = ink_box(canvas);
  return ink.x1 > ink.x0 ? ink : Box{x, y, x + size, y + size};
}

// Target "item": (B, C) logits from the mean location. Target "locations":
// (B, L, C + 1) logits, class C being the background; `inside` gets the
// locations inside each item's box (boxes: one per image, read for target "locations" only).
torch::Tensor classify(ResNetImpl& encoder, torch::nn::Linear& head, const torch::Tensor& images,
                       bool dense, const std::vector<Box>& boxes, int64_t side,
                       torch::Tensor* inside) {
  int64_t grid_h = 0, grid_w = 0;
  const auto features = encoder.locations(images, &grid_h, &grid_w);
  if (!dense) return head->forward(features.mean(1));
  *inside = locations_inside(encoder, boxes, side, grid_h, grid_w);
  return head->forward(features);
}

}  // namespace

torch::Tensor locations_inside(const ResNetImpl& encoder, const std::vector<Box>& boxes,
                               int64_t side, int64_t grid_h, int64_t grid_w) {
  const bool pooled = encoder.options.grid() > 0;
  const auto centre = [&](int64_t o, int64_t grid) {
    if (!pooled) return static_cast<double>(encoder.stride() * o) + 0.5;
    const double cell = static_cast<double>(side) / static_cast<double>(grid);
    return (static_cast<double>(o) + 0.5) * cell + encoder.location_offset();
  };
  auto inside = torch::zeros({static_cast<int64_t>(boxes.size()), grid_h * grid_w}, torch::kBool);
  auto a = inside.accessor<bool, 2>();
  for (size_t b = 0; b < boxes.size(); ++b) {
    const auto& box = boxes[b];
    for (int64_t i = 0; i < grid_h; ++i)
      for (int64_t j = 0; j < grid_w; ++j)
        a[static_cast<int64_t>(b)][i * grid_w + j] =
            box.contains(centre(j, grid_w), centre(i, grid_h));
  }
  return inside;
}

ItemPretrainReport pretrain_on_items(ResNetImpl& encoder, const FashionMnist& train,
                                     const FashionMnist& test, const ItemPretrainOptions& given,
                                     const PreparePixels& prepare) {
  ItemPretrainOptions o = given;
  o.steps = given.steps > 0 ? capped_steps(given.steps) : given.steps;
  if (o.steps < 1 || o.batch_size < 1 || !(o.lr > 0))
    throw UserError(
        "config: encoder.pretrain needs steps >= 0, batch_size >= 1 and lr > 0 (not {}, {}, {})",
        o.steps, o.batch_size, o.lr);
  if (o.min_size < 8 || o.max_size < o.min_size || o.canvas < o.max_size)
    throw UserError("config: encoder.pretrain: items of sides {} to {} do not fit a canvas of {}",
                    o.min_size, o.max_size, o.canvas);
  if (o.target != "item" && o.target != "locations")
    throw UserError("config: encoder.pretrain.target is \"item\" or \"locations\", not \"{}\"",
                    o.target);
  const bool dense = o.target == "locations";
  const int64_t side = o.canvas;
  const int64_t classes = train.labels.max().item<int64_t>() + 1;
  torch::nn::Linear head(encoder.feature_size(), classes + (dense ? 1 : 0));
  std::vector<torch::Tensor> parameters = head->parameters();
  for (const auto& p : encoder.parameters())
    if (p.requires_grad()) parameters.push_back(p);
  torch::optim::Adam optimizer(parameters, torch::optim::AdamOptions(o.lr));
  // Half a cosine from lr down to 0 over the steps (the shared schedule, read one step early: step
  // 1 runs at lr).
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
    std::vector<Box> boxes;
    for (int64_t b = 0; b < o.batch_size; ++b) {
      const int64_t which = uniform(rng, 0, n - 1);
      const int64_t size = uniform(rng, o.min_size, o.max_size);
      const int64_t x = uniform(rng, 0, side - size), y = uniform(rng, 0, side - size);
      canvases.push_back(item_canvas(train.images[which], side, size, x, y));
      targets.push_back(label[which]);
      if (dense) boxes.push_back(ink_or_patch(canvases.back(), x, y, size));
    }
    std::vector<const torch::Tensor*> pixels;
    for (const auto& c : canvases) pixels.push_back(&c);
    const double lr = schedule.lr(step - 1);
    for (auto& group : optimizer.param_groups())
      static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
    optimizer.zero_grad();
    torch::Tensor inside;
    const auto logits = classify(encoder, head, prepare(pixels), dense, boxes, side, &inside);
    auto truth = torch::tensor(targets);
    if (dense)  // the item's class inside its box, the background class elsewhere
      truth =
          torch::where(inside, truth.unsqueeze(1), torch::full_like(inside, classes, torch::kLong))
              .flatten();
    const auto loss =
        torch::nn::functional::cross_entropy(dense ? logits.flatten(0, 1) : logits, truth);
    loss.backward();
    optimizer.step();
    if (step > o.steps - std::max<int64_t>(1, o.steps / 10)) {
      tail_loss += loss.item<double>();
      ++tail;
    }
    if (step % 10 == 0 || step == o.steps)
      bar.update(step, fmt::format("loss {:.3f}", loss.item<double>()));
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
    std::vector<Box> boxes;
    for (int64_t i = first; i < std::min(count, first + 256); ++i) {
      canvases.push_back(item_canvas(test.images[i], side, size, at, at));
      if (dense) boxes.push_back(ink_or_patch(canvases.back(), at, at, size));
    }
    std::vector<const torch::Tensor*> pixels;
    for (const auto& c : canvases) pixels.push_back(&c);
    torch::Tensor inside;
    auto logits = classify(encoder, head, prepare(pixels), dense, boxes, side, &inside);
    if (dense) {  // the item classes' logits averaged over the locations inside the box (all, if
                  // none is)
      auto weight = inside.to(torch::kFloat);
      weight = torch::where(weight.sum(1, true).gt(0), weight, torch::ones_like(weight));
      logits = (logits.slice(2, 0, classes) * weight.unsqueeze(2)).sum(1) / weight.sum(1, true);
    }
    const auto predicted = logits.argmax(1);
    const auto truth = test.labels.slice(0, first, first + static_cast<int64_t>(canvases.size()));
    correct += predicted.eq(truth).sum().item<int64_t>();
  }
  report.test_accuracy =
      count > 0 ? static_cast<double>(correct) / static_cast<double>(count) : 0.0;
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  bar.finish(fmt::format("loss {:.3f}, held-out accuracy {:.3f}", report.train_loss,
                         report.test_accuracy));
  return report;
}

}  // namespace attnzoo
