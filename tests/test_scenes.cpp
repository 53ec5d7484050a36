// Fashion-MNIST (IDX reader) and the scenes generator.
#include <catch2/catch.hpp>

#include "tests/temp_dir.h"

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "data/error.h"
#include "data/fashion_mnist.h"
#include "data/scenes.h"

using namespace attnzoo;

namespace {

std::string temp_file(const std::string& name, const std::string& bytes) {
  const auto path = (attnzoo::testing::scratch_dir() / name).string();
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

const FashionMnist& test_split() {
  static const FashionMnist data = load_fashion_mnist(kFashionMnistDir, "test");
  return data;
}

}  // namespace

TEST_CASE("read_idx reads unsigned-byte IDX and names the file in its errors", "[fashion]") {
  const std::string header("\x00\x00\x08\x02\x00\x00\x00\x02\x00\x00\x00\x03", 12);
  const auto good = temp_file("good.idx", header + std::string("\x01\x02\x03\x04\x05\xff", 6));
  const auto t = read_idx(good);
  REQUIRE(t.sizes() == torch::IntArrayRef({2, 3}));
  CHECK(t[1][2].item<int>() == 255);
  CHECK(t[0][1].item<int>() == 2);

  const auto truncated = temp_file("truncated.idx", header + "\x01\x02");
  CHECK_THROWS_WITH(read_idx(truncated),
                    Catch::Contains(truncated) && Catch::Contains("header says 6"));
  const auto floats =
      temp_file("floats.idx", std::string("\x00\x00\x0d\x01\x00\x00\x00\x01", 8) + "abcd");
  CHECK_THROWS_WITH(read_idx(floats), Catch::Contains("not unsigned byte"));
  const auto text = temp_file("text.idx", "hello world");
  CHECK_THROWS_WITH(read_idx(text), Catch::Contains("bad magic"));
  for (const auto& p : {good, truncated, floats, text}) std::remove(p.c_str());
}

TEST_CASE("load_fashion_mnist reads Debian's package and explains its absence", "[fashion]") {
  CHECK_THROWS_WITH(load_fashion_mnist("/nonexistent", "train"),
                    Catch::Contains("dataset-fashion-mnist"));
  CHECK_THROWS_AS(load_fashion_mnist(kFashionMnistDir, "valid"), UserError);
  const auto& d = test_split();
  REQUIRE(d.images.sizes() == torch::IntArrayRef({10000, 28, 28}));
  CHECK(d.labels.min().item<int64_t>() == 0);
  CHECK(d.labels.max().item<int64_t>() == 9);
  // Each class holds 1,000 test images.
  CHECK(torch::bincount(d.labels).eq(1000).all().item<bool>());
}

TEST_CASE("place and relation phrases", "[scenes]") {
  CHECK(place_phrase(10, 10, 120) == "at the top left");
  CHECK(place_phrase(60, 60, 120) == "in the middle");
  CHECK(place_phrase(110, 60, 120) == "on the right");
  CHECK(place_phrase(60, 110, 120) == "at the bottom");
  const Box left{0, 40, 20, 60}, right{80, 30, 100, 50}, low{5, 100, 15, 120};
  CHECK(relation_phrase(left, right) == "to the left of");
  CHECK(relation_phrase(right, left) == "to the right of");
  CHECK(relation_phrase(left, low) == "above");
  CHECK(relation_phrase(low, left) == "below");
}

TEST_CASE("ink_box: the bounding box of pixels above the faint threshold", "[scenes]") {
  auto image = torch::zeros({20, 30}, torch::kUInt8);
  image.slice(0, 4, 9).slice(1, 10, 13).fill_(200);  // rows 4-8, columns 10-12
  image[15][25] = 24;                                // faint: not ink
  const Box box = ink_box(image);
  CHECK(box.x0 == 10);
  CHECK(box.x1 == 13);
  CHECK(box.y0 == 4);
  CHECK(box.y1 == 9);
  image[15][25] = 25;
  CHECK(ink_box(image).y1 == 16);
  CHECK(ink_box(image).x1 == 26);
  const Box none = ink_box(torch::zeros({5, 5}, torch::kUInt8));
  CHECK(none.x0 == none.x1);
  CHECK_THROWS_AS(ink_box(torch::zeros({5, 5})), UserError);
}

TEST_CASE("scenes are reproducible, well formed, and their captions name every item", "[scenes]") {
  SceneOptions o;
  const auto scenes = make_scenes(test_split(), 7, 0, 200, o);
  const auto again = make_scene(test_split(), 7, 123, o);
  CHECK(torch::equal(again.image, scenes[123].image));
  CHECK(again.captions == scenes[123].captions);
  CHECK_FALSE(torch::equal(scenes[0].image, scenes[1].image));
  CHECK_FALSE(torch::equal(make_scene(test_split(), 8, 0, o).image, scenes[0].image));

  std::vector<int> by_count(4, 0);
  for (const auto& s : scenes) {
    REQUIRE(s.image.sizes() == torch::IntArrayRef({o.canvas, o.canvas}));
    REQUIRE(s.items.size() >= 1);
    REQUIRE(s.items.size() <= 3);
    ++by_count[s.items.size()];
    CHECK(static_cast<int64_t>(s.captions.size()) == o.captions_per_image);
    for (const auto& c : s.captions)
      for (const auto& it : s.items) CHECK(c.find(it.name) != std::string::npos);
    // Boxes lie on the canvas, do not overlap, and hold all the bright ink.
    auto covered = torch::zeros({o.canvas, o.canvas}, torch::kBool);
    for (size_t i = 0; i < s.items.size(); ++i) {
      const auto& b = s.items[i].box;
      CHECK(b.x0 >= 0);
      CHECK(b.y0 >= 0);
      CHECK(b.x1 <= o.canvas);
      CHECK(b.y1 <= o.canvas);
      CHECK(b.x1 > b.x0);
      CHECK(b.y1 > b.y0);
      CHECK_FALSE(covered.slice(0, b.y0, b.y1).slice(1, b.x0, b.x1).any().item<bool>());
      covered.slice(0, b.y0, b.y1).slice(1, b.x0, b.x1).fill_(true);
    }
    CHECK_FALSE(s.image.gt(24).logical_and(covered.logical_not()).any().item<bool>());
  }
  // All three item counts occur.
  CHECK(by_count[1] > 20);
  CHECK(by_count[2] > 20);
  CHECK(by_count[3] > 20);
}
