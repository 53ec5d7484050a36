// Encoder pretraining on single Fashion-MNIST items (tasks/item_pretrain.h)
// and its place in caption training (encoder.pretrain).
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <filesystem>

#include "data/error.h"
#include "data/fashion_mnist.h"
#include "data/scenes.h"
#include "tasks/caption_config.h"
#include "tasks/captioner_training.h"
#include "tasks/item_pretrain.h"
#include "temp_dir.h"
#include "train/config.h"

using namespace attnzoo;
namespace fs = std::filesystem;

namespace {

std::string scratch(const std::string& name) { return (testing::scratch_dir() / name).string(); }

torch::Tensor normalise(const std::vector<const torch::Tensor*>& pixels) {
  std::vector<torch::Tensor> images;
  for (const auto* p : pixels)
    images.push_back(p->to(torch::kFloat).div(255.0).sub(0.3).unsqueeze(0).expand({3, -1, -1}));
  return torch::stack(images);
}

// Pretraining on a 32-pixel canvas, batches of 32, items of sides min_size..max_size, 500 held-out
// items.
ItemPretrainOptions small_pretraining(int64_t steps, int64_t min_size, int64_t max_size) {
  ItemPretrainOptions o;
  o.steps = steps;
  o.batch_size = 32;
  o.lr = 5e-3;
  o.min_size = min_size;
  o.max_size = max_size;
  o.canvas = 32;
  o.test_items = 500;
  return o;
}

}  // namespace

TEST_CASE(
    "item_canvas: the resized item at its place, black elsewhere, errors when it does not fit",
    "[pretrain]") {
  auto item = torch::full({28, 28}, 200, torch::kUInt8);
  const auto canvas = item_canvas(item, 40, 14, 5, 20);
  REQUIRE(canvas.sizes() == torch::IntArrayRef({40, 40}));
  CHECK(canvas.slice(0, 20, 34).slice(1, 5, 19).eq(200).all().item<bool>());
  CHECK(canvas.sum().item<int64_t>() == 200 * 14 * 14);
  CHECK_THROWS_AS(item_canvas(item, 40, 28, 13, 0), UserError);
  CHECK_THROWS_AS(item_canvas(item, 40, 28, -1, 0), UserError);
}

TEST_CASE(
    "pretrain_on_items: a small encoder learns the classes, deterministically, and leaves frozen "
    "layers",
    "[pretrain]") {
  const auto train = load_fashion_mnist(kFashionMnistDir, "train");
  const auto test = load_fashion_mnist(kFashionMnistDir, "test");
  auto o = small_pretraining(150, 24, 28);
  auto run = [&](uint64_t seed, int64_t trainable) {
    torch::manual_seed(seed);
    ResNet encoder(ResNetOptions(18).width(16).last_stage(1));
    if (trainable >= 0) encoder->freeze(trainable);
    const auto stem = encoder->conv1->weight.clone();
    o.seed = seed;
    const auto report = pretrain_on_items(*encoder, train, test, o, normalise);
    return std::make_pair(report, encoder->conv1->weight.equal(stem));
  };
  const auto [a, a_stem_kept] = run(1, -1);
  CHECK(a.steps == 150);
  // Chance is 0.1 and ln 10 = 2.30; seeds 1-5, with OpenBLAS Haswell or
  // Sandybridge, AVX2 or AVX-512, 1 or 2 threads: accuracy 0.67-0.73, loss 0.90-0.98.
  CHECK(a.test_accuracy > 0.5);
  CHECK(a.train_loss < 1.3);
  CHECK_FALSE(a_stem_kept);
  const auto [b, b_stem_kept] = run(1, -1);
  CHECK(b.test_accuracy == a.test_accuracy);
  CHECK(b.train_loss == a.train_loss);
  const auto [frozen, stem_kept] = run(2, 1);  // only the last stage learns
  CHECK(stem_kept);

  o.steps = -1;
  CHECK_THROWS_WITH(pretrain_on_items(*ResNet(ResNetOptions(18).width(8).last_stage(1)), train,
                                      test, o, normalise),
                    Catch::Contains("encoder.pretrain"));
  o.steps = 10;
  o.canvas = 20;
  CHECK_THROWS_WITH(pretrain_on_items(*ResNet(ResNetOptions(18).width(8).last_stage(1)), train,
                                      test, o, normalise),
                    Catch::Contains("do not fit"));
}

TEST_CASE("locations_inside: the locations whose receptive fields are centred in each box",
          "[pretrain]") {
  ResNet encoder(
      ResNetOptions(18).width(8).last_stage(2));  // S = 8: location o centred at pixel 8 o + 0.5
  int64_t grid_h = 0, grid_w = 0;
  {
    torch::NoGradGuard no_grad;
    encoder->eval();
    encoder->locations(torch::zeros({1, 3, 36, 36}), &grid_h, &grid_w);
  }
  REQUIRE(grid_h == 5);  // 36 does not divide into cells of 8: centres at 0.5, 8.5, ..., 32.5
  REQUIRE(grid_w == 5);
  const auto inside = locations_inside(*encoder, {{8, 16, 20, 28}, {0, 0, 1, 1}, {33, 0, 36, 3}},
                                       36, grid_h, grid_w);
  REQUIRE(inside.sizes() == torch::IntArrayRef({3, 25}));
  // x in [8, 20): columns 1, 2; y in [16, 28): rows 2, 3.
  CHECK(inside[0].nonzero().flatten().equal(torch::tensor({11, 12, 16, 17}, torch::kLong)));
  CHECK(inside[1].nonzero().flatten().equal(torch::tensor({0}, torch::kLong)));
  CHECK(inside[2].sum().item<int64_t>() == 0);  // [33, 36) holds no centre

  // A pooled 2 x 2 map of a 32-pixel canvas: cells of 16, centres 3.5 pixels up and left of theirs.
  ResNet pooled(ResNetOptions(18).width(8).last_stage(2).grid(2));
  const auto cells = locations_inside(*pooled, {{16, 0, 32, 16}, {0, 0, 4, 4}}, 32, 2, 2);
  CHECK(cells[0].nonzero().flatten().equal(
      torch::tensor({1}, torch::kLong)));      // 20.5 in [16, 32), 4.5 in [0, 16)
  CHECK(cells[1].sum().item<int64_t>() == 0);  // 4.5 is not in [0, 4)
}

TEST_CASE("pretrain_on_items, target locations: each location learns what is at its centre",
          "[pretrain]") {
  const auto train = load_fashion_mnist(kFashionMnistDir, "train");
  const auto test = load_fashion_mnist(kFashionMnistDir, "test");
  auto o = small_pretraining(300, 16, 20);
  o.target = "locations";
  auto run = [&](uint64_t seed) {
    torch::manual_seed(seed);
    ResNet encoder(ResNetOptions(18).width(16).last_stage(1));  // 8 x 8 locations of 4 pixels
    o.seed = seed;
    return pretrain_on_items(*encoder, train, test, o, normalise);
  };
  const auto a = run(1);
  // The accuracy averages the item classes' logits over the locations inside the box. Seeds 1-5 on
  // the six numeric paths of scripts/robustness: 0.638-0.698.
  CHECK(a.test_accuracy > 0.5);
  const auto b = run(1);
  CHECK(b.test_accuracy == a.test_accuracy);
  CHECK(b.train_loss == a.train_loss);

  o.target = "boxes";
  CHECK_THROWS_WITH(run(1), Catch::Contains("encoder.pretrain.target"));
}

TEST_CASE(
    "encoder.pretrain in caption training: the whole encoder learns, trainable_stages applies "
    "after",
    "[pretrain][captioner]") {
  auto config = default_caption_config();
  for (const char* s :
       {"data.scenes.train_size=8", "data.scenes.valid_size=2", "data.scenes.test_size=2",
        "data.scenes.canvas=48", "data.scenes.min_size=28", "data.scenes.max_size=28",
        "encoder.width=8", "encoder.last_stage=1", "encoder.trainable_stages=0",
        "encoder.pretrain.steps=3", "encoder.pretrain.batch_size=4", "encoder.pretrain.canvas=32"})
    apply_override(config, s);
  auto data = load_caption_data(config.at("data"));
  torch::manual_seed(1);
  Captioner captioner(config, data.train);
  const auto stem = captioner.model->encoder->conv1->weight.clone();
  const std::string report = scratch("pretrain.json");
  fs::remove(report);
  pretrain_caption_encoder(captioner, report);
  CHECK_FALSE(captioner.model->encoder->conv1->weight.equal(
      stem));  // frozen for captioning, not for pretraining
  for (const auto& p : captioner.model->encoder->parameters()) CHECK_FALSE(p.requires_grad());
  const auto written = read_json_file(report);
  CHECK(written.at("steps") == 3);
  CHECK(written.at("test_accuracy").get<double>() >= 0.0);

  // No steps, or an encoder that starts from encoder.weights: nothing changes, nothing is written.
  auto none = config;
  none["encoder"]["pretrain"]["steps"] = 0;
  auto weighted = config;
  weighted["encoder"]["weights"] = "some-resnet.pt";
  Captioner untouched(none, data.train);
  const auto before = untouched.model->encoder->conv1->weight.clone();
  for (const auto* skipped : {&none, &weighted}) {
    untouched.config = *skipped;
    fs::remove(report);
    pretrain_caption_encoder(untouched, report);
    CHECK(untouched.model->encoder->conv1->weight.equal(before));
    CHECK_FALSE(fs::exists(report));
  }

  // Captions from a Karpathy folder have no items to classify.
  auto karpathy = config;
  karpathy["data"]["source"] = "karpathy";
  captioner.config = karpathy;
  CHECK_THROWS_WITH(pretrain_caption_encoder(captioner, report),
                    Catch::Contains("data.source scenes"));
}
