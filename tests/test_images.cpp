// Image files, augmentation, the Karpathy split format, and the feature cache
// of a frozen encoder.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <set>

#include "data/error.h"
#include "data/images.h"
#include "data/karpathy.h"
#include "tasks/caption_config.h"
#include "tasks/captioner_training.h"
#include "temp_dir.h"
#include "train/config.h"

using namespace attnzoo;
namespace fs = std::filesystem;

namespace {

std::string scratch(const std::string& name) { return (testing::scratch_dir() / name).string(); }

void write_text(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// A small scenes set (frozen encoder, no dropout) for the data and cache tests.
nlohmann::json small_scenes_config() {
  auto config = default_caption_config();
  for (const char* o :
       {"data.scenes.train_size=40", "data.scenes.valid_size=4", "data.scenes.test_size=6",
        "data.scenes.canvas=64", "data.scenes.min_size=24", "data.scenes.max_size=30",
        "encoder.trainable_stages=0", "model.dropout=0", "train.batch_size=8"})
    apply_override(config, o);
  return config;
}

}  // namespace

TEST_CASE("read_image: centre crop, stretch, grey, and errors that name the file", "[images]") {
  // 40 wide, 20 high: left half black, right half white, with a grey stripe
  // in the middle 20 columns' centre.
  auto px = torch::zeros({20, 40, 3}, torch::kUInt8);
  px.slice(1, 20, 40).fill_(255);
  const std::string png = scratch("wide.png");
  write_image(png, px);
  ImageReadOptions o;
  o.side = 10;
  const auto crop = read_image(png, o);  // scale to 20x10, keep columns 5..15
  REQUIRE(crop.sizes() == torch::IntArrayRef({10, 10, 3}));
  CHECK(crop.index({0, 0, 0}).item<int>() < 10);
  CHECK(crop.index({0, 9, 0}).item<int>() > 245);
  o.centre_crop = false;
  o.grey = true;
  const auto stretched = read_image(png, o);
  REQUIRE(stretched.sizes() == torch::IntArrayRef({10, 10}));
  CHECK(stretched.index({5, 0}).item<int>() < 10);
  CHECK(stretched.index({5, 9}).item<int>() > 245);
  // Colour survives the round trip in RGB order.
  auto red = torch::zeros({8, 8, 3}, torch::kUInt8);
  red.select(2, 0).fill_(200);
  write_image(scratch("red.png"), red);
  ImageReadOptions same;
  same.side = 8;
  CHECK(torch::equal(read_image(scratch("red.png"), same), red));

  write_text(scratch("junk.jpg"), "not an image");
  CHECK_THROWS_WITH(read_image(scratch("junk.jpg"), o),
                    Catch::Contains("junk.jpg") && Catch::Contains("decode"));
  CHECK_THROWS_WITH(read_image(scratch("absent.png"), o), Catch::Contains("absent.png"));
  CHECK_THROWS_WITH(write_image(scratch("no/such/dir/x.png"), red), Catch::Contains("x.png"));
}

TEST_CASE("augment: each image flipped or not, shifted windows, intensities in range", "[images]") {
  torch::manual_seed(0);
  const auto images = torch::rand({16, 3, 6, 6});
  CHECK(augment(images, AugmentOptions()).is_same(images));
  AugmentOptions flip;
  flip.flip = true;
  const auto flipped = augment(images, flip);
  int mirrored = 0;
  for (int64_t i = 0; i < 16; ++i) {
    const bool same = torch::equal(flipped[i], images[i]);
    const bool mirror = torch::equal(flipped[i], images[i].flip({2}));
    CHECK((same || mirror));
    mirrored += mirror ? 1 : 0;
  }
  CHECK(mirrored > 0);
  CHECK(mirrored < 16);

  AugmentOptions shift;
  shift.shift = 2;
  // A one-hot image: a shift moves the hot pixel by at most 2 each way.
  auto dot = torch::zeros({16, 1, 9, 9});
  dot.index_put_({torch::indexing::Slice(), 0, 4, 4}, 1.0);
  const auto moved = augment(dot, shift);
  CHECK(moved.sizes() == dot.sizes());
  int shifted = 0;
  for (int64_t i = 0; i < 16; ++i) {
    const auto where = moved[i][0].argmax().item<int64_t>();
    const int64_t y = where / 9, x = where % 9;
    CHECK(std::abs(y - 4) <= 2);
    CHECK(std::abs(x - 4) <= 2);
    CHECK(moved[i].sum().item<double>() == Approx(1.0));
    shifted += (y != 4 || x != 4) ? 1 : 0;
  }
  CHECK(shifted > 0);

  AugmentOptions colour;
  colour.brightness = 0.5;
  colour.contrast = 0.5;
  const auto c = augment(images, colour);
  CHECK(c.min().item<double>() >= 0.0);
  CHECK(c.max().item<double>() <= 1.0);
  CHECK_FALSE(torch::equal(c, images));
}

TEST_CASE("Karpathy split files: round trip, split names, filepath, raw captions, errors",
          "[karpathy]") {
  const std::vector<KarpathyImage> images = {{"a.jpg", "train", {"a dog runs", "the dog"}},
                                             {"b.jpg", "valid", {"a cat"}},
                                             {"c.jpg", "test", {}}};
  const std::string path = scratch("dataset_x.json");
  write_karpathy(path, "x", images);
  const auto back = read_karpathy(path);
  REQUIRE(back.size() == 3);
  for (size_t i = 0; i < 3; ++i) {
    CHECK(back[i].file == images[i].file);
    CHECK(back[i].split == images[i].split);
    CHECK(back[i].captions == images[i].captions);
  }
  write_text(scratch("coco.json"), R"({"images": [
      {"filepath": "val2014", "filename": "v.jpg", "split": "restval",
       "sentences": [{"raw": "  A man.  "}, {"tokens": ["a", "man"], "raw": "ignored"}]},
      {"filename": "t.jpg", "split": "val"}]})");
  const auto coco = read_karpathy(scratch("coco.json"));
  REQUIRE(coco.size() == 2);
  CHECK(coco[0].file == "val2014/v.jpg");
  CHECK(coco[0].split == "train");
  CHECK(coco[0].captions == std::vector<std::string>{"A man.", "a man"});
  CHECK(coco[1].split == "valid");
  CHECK(coco[1].captions.empty());

  write_text(scratch("bad1.json"), "{\"images\": [");
  CHECK_THROWS_WITH(read_karpathy(scratch("bad1.json")),
                    Catch::Contains("bad1.json") && Catch::Contains("JSON"));
  write_text(scratch("bad2.json"),
             R"({"images": [{"filename": "a.jpg", "split": "train"}, {"split": "test"}]})");
  CHECK_THROWS_WITH(read_karpathy(scratch("bad2.json")),
                    Catch::Contains("images[1]") && Catch::Contains("filename"));
  write_text(scratch("bad3.json"), R"({"images": [{"filename": "a.jpg", "split": "dev"}]})");
  CHECK_THROWS_WITH(read_karpathy(scratch("bad3.json")),
                    Catch::Contains("images[0]") && Catch::Contains("dev"));
  write_text(scratch("bad4.json"), R"({"annotations": []})");
  CHECK_THROWS_WITH(read_karpathy(scratch("bad4.json")), Catch::Contains("images"));
  CHECK_THROWS_WITH(read_karpathy(scratch("absent.json")), Catch::Contains("absent.json"));
}

TEST_CASE("scenes written as a Karpathy set load back as the same images and captions",
          "[karpathy]") {
  auto config = small_scenes_config();
  auto scenes = load_caption_data(config.at("data"));
  // Write them as the scenes app does, then break one image and remove another.
  const fs::path dir = testing::scratch_dir() / "karpathy_scenes";
  fs::create_directories(dir / "images");
  std::vector<KarpathyImage> entries;
  for (auto [name, split] : scenes.named()) {
    for (const auto& image : *split) {
      write_image((dir / "images" / (image.name + ".png")).string(), image.pixels);
      entries.push_back({image.name + ".png", name, image.captions});
    }
  }
  write_karpathy((dir / "dataset.json").string(), "scenes", entries);
  write_text((dir / "images" / "train-1.png").string(), "broken");
  fs::remove(dir / "images" / "train-2.png");

  config["data"]["source"] = "karpathy";
  config["data"]["images"] = (dir / "images").string();
  config["data"]["captions"] = (dir / "dataset.json").string();
  config["data"]["image_size"] = 64;
  const auto loaded = load_caption_data(config.at("data"));
  REQUIRE(loaded.train.size() == scenes.train.size() - 2);
  REQUIRE(loaded.valid.size() == scenes.valid.size());
  REQUIRE(loaded.test.size() == scenes.test.size());
  CHECK(loaded.train[1].name == "train-3.png");
  for (size_t i = 0; i < loaded.test.size(); ++i) {
    // Grey scenes come back as three equal channels; the network sees the same input.
    CHECK(torch::equal(loaded.test[i].pixels.select(2, 0), scenes.test[i].pixels));
    CHECK(torch::equal(loaded.test[i].pixels.select(2, 2), scenes.test[i].pixels));
    CHECK(loaded.test[i].captions == scenes.test[i].captions);
    CHECK(loaded.test[i].items.empty());
  }
  // Only the splits asked for are loaded; data.limit caps a split.
  config["data"]["limit"]["test"] = 2;
  const auto test_only = load_caption_data(config.at("data"), {"test"});
  CHECK(test_only.train.empty());
  CHECK(test_only.test.size() == 2);
  config["data"]["images"] = (dir / "nowhere").string();
  CHECK_THROWS_WITH(load_caption_data(config.at("data")), Catch::Contains("nowhere"));
}

TEST_CASE("train.all_captions: batches of images with every caption, each image encoded once",
          "[captioner]") {
  auto config = small_scenes_config();
  config["train"]["batch_size"] = 3;
  config["train"]["all_captions"] = true;
  config["train"]["doubly_stochastic"] = 0.0;  // the loss is then the mean NLL per token
  auto data = load_caption_data(config.at("data"));
  torch::manual_seed(1);
  Captioner captioner(config, data.train);
  auto by_image = make_caption_task(captioner, data, config.at("train"), "");
  const auto batches = by_image->epoch_batches(5);
  const size_t per_image = data.train[0].captions.size();
  REQUIRE(batches.size() == (data.train.size() + 2) / 3);
  std::set<size_t> seen;
  for (const auto& b : batches) {
    CHECK(b.size() % per_image == 0);
    seen.insert(b.begin(), b.end());
  }
  CHECK(seen.size() == data.train.size() * per_image);  // every (image, caption) once per epoch
  CHECK(batches[0].size() == 3 * per_image);
  // The loss of a batch does not depend on how its rows are grouped by image:
  // the same rows, one image's captions apart, give the same loss.
  captioner.model->eval();  // no dropout, BatchNorm statistics fixed
  config["train"]["all_captions"] = false;
  auto by_caption = make_caption_task(captioner, data, config.at("train"), "");
  torch::NoGradGuard no_grad;
  const auto whole = by_image->train_step(batches[0]);
  double weighted = 0;
  int64_t tokens = 0;
  for (size_t r = 0; r < batches[0].size(); r += per_image) {
    const std::vector<size_t> rows(batches[0].begin() + static_cast<std::ptrdiff_t>(r),
                                   batches[0].begin() + static_cast<std::ptrdiff_t>(r + per_image));
    const auto part = by_caption->train_step(rows);
    weighted += part.loss.item<double>() * static_cast<double>(part.tokens);
    tokens += part.tokens;
  }
  REQUIRE(tokens == whole.tokens);
  CHECK(whole.loss.item<double>() > 0);
  CHECK(weighted / static_cast<double>(tokens) == Approx(whole.loss.item<double>()).epsilon(1e-5));
}

TEST_CASE("feature cache: training on cached features gives the losses of the live frozen encoder",
          "[captioner]") {
  const auto config = small_scenes_config();
  auto data = load_caption_data(config.at("data"));
  torch::manual_seed(1);
  Captioner captioner(config, data.train);
  auto live_data = data;
  auto live = make_caption_task(captioner, live_data, config.at("train"), "");
  const std::string cache_path = scratch("features.pt");
  auto cached_data = data;
  auto cached = make_caption_task(captioner, cached_data, config.at("train"), cache_path);
  REQUIRE(fs::exists(cache_path));
  CHECK_FALSE(cached_data.train[0].pixels.defined());  // released once cached
  captioner.model->train();
  for (const auto& batch : live->epoch_batches(7)) {
    const double a = live->train_step(batch).loss.item<double>();
    const double b = cached->train_step(batch).loss.item<double>();
    CHECK(b == Approx(a).epsilon(2e-3));  // the cache holds fp16
  }
  // A second task reads the file instead of encoding again; another encoder
  // config (or other images) rebuilds it.
  const auto stamp = fs::last_write_time(cache_path);
  auto again_data = data;
  make_caption_task(captioner, again_data, config.at("train"), cache_path);
  CHECK(fs::last_write_time(cache_path) == stamp);
  auto fewer = data;
  fewer.train.pop_back();
  const auto rebuilt = load_or_build_feature_cache(captioner, fewer.train, cache_path, 16);
  CHECK(rebuilt.size(0) == static_cast<int64_t>(fewer.train.size()));
  // Same config and images, other encoder weights (as after encoder pretraining):
  // rebuilt, holding the new weights' features.
  const auto old_features = load_or_build_feature_cache(captioner, data.train, cache_path, 16);
  const auto old_stamp = fs::last_write_time(cache_path);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : captioner.model->encoder->parameters()) p.mul_(0.5);
  }
  const auto new_features = load_or_build_feature_cache(captioner, data.train, cache_path, 16);
  CHECK(fs::last_write_time(cache_path) != old_stamp);
  {
    captioner.model->eval();
    torch::NoGradGuard no_grad;
    const auto live_features =
        captioner.model->encode(captioner.prepare({&data.train[0].pixels})).squeeze(0);
    const double scale = live_features.abs().max().item<double>();
    CHECK((new_features[0].to(torch::kFloat) - live_features).abs().max().item<double>() <=
          2e-3 * scale);
    CHECK((old_features[0].to(torch::kFloat) - live_features).abs().max().item<double>() >
          0.05 * scale);
  }

  // The cache needs a frozen encoder, and cannot go with augmentation.
  auto trainable = config;
  trainable["encoder"]["trainable_stages"] = 1;
  Captioner fine_tuned(trainable, data.train);
  auto d2 = data;
  CHECK_THROWS_WITH(make_caption_task(fine_tuned, d2, trainable.at("train"), cache_path),
                    Catch::Contains("frozen"));
  auto augmented = config;
  augmented["data"]["augment"]["flip"] = true;
  Captioner flipper(augmented, data.train);
  CHECK_THROWS_WITH(make_caption_task(flipper, d2, augmented.at("train"), cache_path),
                    Catch::Contains("augment"));
}
