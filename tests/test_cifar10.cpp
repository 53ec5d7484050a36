// CIFAR-10's binary batches on records this test writes itself (pixel order,
// labels, the split into train, validation and test, errors for damaged
// files), the crop-and-flip augmentation, and colour images through every
// classifier kind and its export.
#include <catch2/catch.hpp>

#include <fstream>
#include <set>

#include "data/augment.h"
#include "data/cifar10.h"
#include "data/error.h"
#include "data/glimpse_data.h"
#include "export/export.h"
#include "tasks/glimpse.h"
#include "temp_dir.h"

using namespace attnzoo;
namespace fs = std::filesystem;

namespace {

// Record `record`'s pixel in plane c (0 red, 1 green, 2 blue), row y, column x.
uint8_t pixel(int record, int c, int y, int x) {
  return static_cast<uint8_t>((c * 80 + y * 7 + x * 3 + record * 11) % 256);
}

std::string record_bytes(int record, int label) {
  std::string bytes(1, static_cast<char>(label));
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < 32; ++y)
      for (int x = 0; x < 32; ++x) bytes.push_back(static_cast<char>(pixel(record, c, y, x)));
  return bytes;
}

// Records first .. first+count-1, labelled record % 10, into `path`.
void write_batch(const fs::path& path, int first, int count, const std::string& tail = "") {
  std::ofstream out(path, std::ios::binary);
  for (int r = first; r < first + count; ++r) out << record_bytes(r, r % 10);
  out << tail;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const UserError& e) {
    return e.what();
  }
  return "(no error)";
}

// A CIFAR-10 folder of six small batches: 5 x 4 training records, 3 test records.
fs::path handmade_cifar(const std::string& name) {
  const auto dir = attnzoo::testing::scratch_dir() / name;
  fs::create_directories(dir);
  for (int b = 1; b <= 5; ++b)
    write_batch(dir / fmt::format("data_batch_{}.bin", b), (b - 1) * 4, 4);
  write_batch(dir / "test_batch.bin", 100, 3);
  return dir;
}

// The glimpse defaults with CIFAR-10 from `dir` as the data.
nlohmann::json cifar_config(const fs::path& dir, int64_t valid_size) {
  auto config = default_glimpse_config();
  auto& d = config["data"];
  d["source"] = "cifar10";
  d["cifar10"] = dir.string();
  d["canvas"] = 32;
  d["valid_size"] = valid_size;
  return config;
}

}  // namespace

TEST_CASE("CIFAR-10 batches: label byte, then red, green and blue planes row by row", "[cifar10]") {
  const auto path = attnzoo::testing::scratch_dir() / "batch.bin";
  write_batch(path, 0, 3);
  const auto data = read_cifar10_batch(path.string());
  REQUIRE(data.images.sizes() == torch::IntArrayRef({3, 32, 32, 3}));
  REQUIRE(data.images.scalar_type() == torch::kUInt8);
  CHECK(data.labels.equal(torch::tensor({0, 1, 2}, torch::kLong)));
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c)
      for (int y : {0, 5, 31})
        for (int x : {0, 17, 31}) {
          CAPTURE(r, c, y, x);
          CHECK(data.images[r][y][x][c].item<int>() == pixel(r, c, y, x));
        }
}

TEST_CASE("CIFAR-10 batches: damaged files are refused with the file and the record",
          "[cifar10][errors]") {
  const auto dir = attnzoo::testing::scratch_dir();
  const auto cut = dir / "cut.bin";
  write_batch(cut, 0, 2, record_bytes(2, 2).substr(0, 100));
  const auto message = error_of([&] { read_cifar10_batch(cut.string()); });
  CHECK_THAT(message, Catch::Contains("cut.bin: truncated or not a CIFAR-10 batch"));
  CHECK_THAT(message, Catch::Contains("2 whole records of 3073 bytes and 100 bytes of record 3"));

  const auto empty = dir / "empty.bin";
  std::ofstream(empty).close();
  CHECK_THAT(error_of([&] { read_cifar10_batch(empty.string()); }), Catch::Contains("empty"));

  const auto labels = dir / "label.bin";
  {
    std::ofstream out(labels, std::ios::binary);
    out << record_bytes(0, 4) << record_bytes(1, 10);
  }
  CHECK_THAT(error_of([&] { read_cifar10_batch(labels.string()); }),
             Catch::Contains("label.bin: record 2 has label 10, not 0-9"));
  CHECK_THAT(error_of([&] { read_cifar10_batch((dir / "absent.bin").string()); }),
             Catch::Contains("absent.bin: no such file"));
  CHECK_THAT(error_of([&] { load_cifar10((dir / "nowhere").string(), "train"); }),
             Catch::Contains("nowhere/data_batch_1.bin: no such file"));
  CHECK_THAT(error_of([&] { load_cifar10("", "train"); }),
             Catch::Contains("data.cifar10 is empty"));
}

TEST_CASE("CIFAR-10 splits: five training batches in order, validation their tail, the test batch",
          "[cifar10]") {
  const auto dir = handmade_cifar("cifar");
  const auto train = load_cifar10(dir.string(), "train");
  CHECK(train.images.size(0) == 20);
  CHECK(train.labels.equal(torch::arange(20, torch::kLong).remainder(10)));
  // The folder that holds the extracted cifar-10-batches-bin is found too.
  const auto outer = attnzoo::testing::scratch_dir() / "outer";
  fs::create_directories(outer);
  fs::rename(handmade_cifar("inner"), outer / "cifar-10-batches-bin");
  CHECK(load_cifar10(outer.string(), "test").images.size(0) == 3);

  auto config = cifar_config(dir, 5);
  auto& d = config["data"];
  const auto s = load_glimpse_data(d);
  CHECK(s.train.images.size(0) == 15);
  CHECK(s.valid.images.size(0) == 5);
  CHECK(s.test.images.size(0) == 3);
  CHECK(s.valid.images.equal(train.images.slice(0, 15)));
  CHECK(s.test.labels.equal(torch::tensor({0, 1, 2}, torch::kLong)));
  CHECK(glimpse_channels(d) == 3);
  CHECK(glimpse_classes(d).at(9) == "truck");

  auto bad = d;
  bad["canvas"] = 60;
  CHECK_THAT(error_of([&] { load_glimpse_data(bad); }),
             Catch::Contains("data.canvas is 60, and CIFAR-10's images are 32x32"));
  bad = d;
  bad["clutter"] = 3;
  CHECK_THAT(error_of([&] { glimpse_channels(bad); }), Catch::Contains("CIFAR-10 takes none"));
  bad = d;
  bad["source"] = "imagenet";
  CHECK_THAT(error_of([&] { glimpse_channels(bad); }),
             Catch::Contains("data.source \"imagenet\" is not one of fashion-mnist, cifar10"));
  bad = d;
  bad["valid_size"] = 20;
  CHECK_THAT(error_of([&] { load_glimpse_data(bad); }), Catch::Contains("data.valid_size 20"));
}

TEST_CASE("augmentation: a padded random crop shifts each image, a flip mirrors it",
          "[cifar10][augment]") {
  const auto grey = torch::randint(1, 256, {16, 12, 12}, torch::kLong).to(torch::kUInt8);
  const auto rgb = torch::randint(1, 256, {16, 12, 12, 3}, torch::kLong).to(torch::kUInt8);
  CHECK(augment_images(grey, AugmentOptions{}, 1).equal(grey));  // off: unchanged

  for (const auto& images : {grey, rgb}) {
    AugmentOptions o;
    o.crop_padding = 2;
    o.flip = true;
    const auto out = augment_images(images, o, 7);
    REQUIRE(out.sizes() == images.sizes());
    CHECK(augment_images(images, o, 7).equal(out));  // the seed decides
    CHECK_FALSE(augment_images(images, o, 8).equal(out));
    // Each output is the input shifted by at most 2 pixels each way (black
    // where the shift uncovers the padding), mirrored or not.
    std::set<std::tuple<int64_t, int64_t, bool>> seen;
    const auto padded = images.dim() == 3
                            ? torch::constant_pad_nd(images, {2, 2, 2, 2}, 0)
                            : torch::constant_pad_nd(images.permute({0, 3, 1, 2}), {2, 2, 2, 2}, 0)
                                  .permute({0, 2, 3, 1});
    for (int64_t i = 0; i < images.size(0); ++i) {
      bool found = false;
      for (int64_t dy = 0; dy <= 4 && !found; ++dy)
        for (int64_t dx = 0; dx <= 4 && !found; ++dx)
          for (bool mirror : {false, true}) {
            auto window = padded[i].narrow(0, dy, 12).narrow(1, dx, 12);
            if (mirror) window = window.flip({1});
            if (window.equal(out[i])) {
              found = true;
              seen.insert({dy, dx, mirror});
              break;
            }
          }
      CAPTURE(i);
      CHECK(found);
    }
    CHECK(seen.size() > 4);  // 16 images do not all get the same crop
  }
  AugmentOptions flip_only;
  flip_only.flip = true;
  const auto flipped = augment_images(grey, flip_only, 3);
  int64_t mirrored = 0;
  for (int64_t i = 0; i < 16; ++i) {
    const bool same = flipped[i].equal(grey[i]), mirror = flipped[i].equal(grey[i].flip({1}));
    CHECK(same != mirror);
    mirrored += mirror;
  }
  CHECK(mirrored > 0);
  CHECK(mirrored < 16);
  CHECK_THROWS_AS(AugmentOptions::from_json({{"crop_padding", -1}, {"flip", false}}), UserError);
}

TEST_CASE("colour images through every classifier kind, trained with augmentation and exported",
          "[cifar10][export]") {
  const auto dir = handmade_cifar("cifar-kinds");
  for (const std::string kind : {"ram", "residual-attention", "resnet", "cnn", "mlp"}) {
    CAPTURE(kind);
    auto config = cifar_config(dir, 4);
    auto& d = config["data"];
    config["model"]["kind"] = kind;
    config["model"]["hidden"] = 16;
    config["model"]["glimpses"] = 2;
    auto& r = config["model"]["residual_attention"];
    r["stem"] = 4;
    r["widths"] = {8, 8};
    r["modules_per_stage"] = {1, 1};
    config["train"]["batch_size"] = 8;
    config["train"]["max_steps"] = 3;
    config["train"]["augment"] = {{"crop_padding", 4}, {"flip", true}};
    torch::manual_seed(3);
    GlimpseClassifier classifier(config);
    const auto data = load_glimpse_data(d);
    const auto task = make_glimpse_task(classifier, data, config.at("train"));
    const auto run = attnzoo::testing::scratch_dir() / ("cifar-run-" + kind);
    const auto before = classifier.predict(data.test.images).logits;
    run_training(*task, LoopOptions::from_json(config.at("train")), run.string(), nullptr);
    const auto after = classifier.predict(data.test.images);
    REQUIRE(after.logits.sizes() == torch::IntArrayRef({3, 10}));
    CHECK(torch::isfinite(after.logits).all().item<bool>());
    CHECK_FALSE(after.logits.equal(before));  // it trained

    // The export takes the same (B,32,32,3) pixels through its preprocess.
    const auto path = (attnzoo::testing::scratch_dir() / ("cifar-" + kind + ".pt")).string();
    save_export(export_glimpse(classifier), path, "glimpse", classifier.config);
    auto loaded = torch::jit::load(path);
    CHECK_FALSE(loaded.attr("image_grey").toBool());
    CHECK(loaded.attr("classes").toList().get(0).toStringRef() == "airplane");
    const auto input = loaded.get_method("preprocess")({data.test.images}).toTensor();
    CHECK(input.equal(glimpse_input(data.test.images)));
    CHECK(input.sizes() == torch::IntArrayRef({3, 3, 32, 32}));
    const auto logits = loaded.forward({input}).toTuple()->elements()[0].toTensor();
    const double scale = std::max(1.0, after.logits.abs().max().item<double>());
    CHECK((logits - after.logits).abs().max().item<double>() <= 1e-5 * scale);
  }
}
