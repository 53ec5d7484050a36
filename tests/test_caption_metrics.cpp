// Captioning metrics: BLEU-1..4 from one set of statistics, and CIDEr-D on
// cases small enough to work out by hand.
#include <catch2/catch.hpp>

#include <cmath>

#include "eval/bleu.h"
#include "eval/cider.h"

using namespace attnzoo;

TEST_CASE("BLEU-n is the geometric mean of the first n precisions times the brevity penalty",
          "[bleu]") {
  const auto s = bleu_from_statistics({9, 7, 5, 3}, {10, 8, 6, 4}, 11, 11);
  CHECK(bleu_at_order(s, 1) == Approx(90.0));
  CHECK(bleu_at_order(s, 2) == Approx(100.0 * std::sqrt(0.9 * 0.875)));
  CHECK(bleu_at_order(s, 4) == Approx(s.score));
  const auto shorter = bleu_from_statistics({9, 7, 5, 3}, {10, 8, 6, 4}, 9, 11);
  CHECK(bleu_at_order(shorter, 1) == Approx(90.0 * std::exp(1.0 - 11.0 / 9.0)));
  // Orders above n do not matter to BLEU-n: no 3-gram matches, BLEU-2 unchanged.
  const auto no_trigrams = bleu_from_statistics({9, 7, 0, 0}, {10, 8, 6, 4}, 11, 11);
  CHECK(bleu_at_order(no_trigrams, 2) == Approx(bleu_at_order(s, 2)));
  CHECK_THROWS(bleu_at_order(s, 5));
}

TEST_CASE("CIDEr-D by hand", "[cider]") {
  SECTION("a perfect two-word caption scores 10 * (1 + 1 + 0 + 0) / 4") {
    const auto c = cider_d({"a b", "c d"}, {{"a b"}, {"c d"}});
    CHECK(c.per_image[0] == Approx(5.0));
    CHECK(c.score == Approx(5.0));
  }
  SECTION("an n-gram in every image's references weighs nothing") {
    // "a" occurs for both images: idf = log 2 - log 2 = 0. Only "b"/"c" and the bigrams count.
    CHECK(cider_d({"a b", "a c"}, {{"a b"}, {"a c"}}).score == Approx(5.0));
    CHECK(cider_d({"a c", "a b"}, {{"a b"}, {"a c"}}).score == Approx(0.0));
  }
  SECTION("counts are clipped by the reference's") {
    // "b b" against "a b": unigram weights c = {b: 2w}, r = {a: w, b: w}, w = ln 2;
    // min(2w, w) * w / (|c| |r|) = w^2 / (2w * sqrt(2) w); no bigram in common.
    const auto c = cider_d({"b b", "c d"}, {{"a b"}, {"c d"}});
    CHECK(c.per_image[0] == Approx(10.0 * (1.0 / (2.0 * std::sqrt(2.0))) / 4.0));
    CHECK(c.score == Approx((c.per_image[0] + 5.0) / 2.0));
  }
  SECTION("a length difference costs exp(-delta^2 / (2 sigma^2))") {
    // "a b x" against "a b": unigrams 2/sqrt(6), bigrams 1/sqrt(2), delta 1.
    const auto c = cider_d({"a b x", "c d"}, {{"a b"}, {"c d"}});
    const double expected =
        10.0 * (2.0 / std::sqrt(6.0) + 1.0 / std::sqrt(2.0)) * std::exp(-1.0 / 72.0) / 4.0;
    CHECK(c.per_image[0] == Approx(expected));
  }
  SECTION("the score averages over references") {
    const auto one = cider_d({"a b", "c d"}, {{"a b"}, {"c d"}});
    const auto two = cider_d({"a b", "c d"}, {{"a b", "e f"}, {"c d", "g h"}});
    // The unrelated second reference scores 0 and halves image 1's score, while
    // the idf of the shared n-grams is unchanged.
    CHECK(two.per_image[0] == Approx(one.per_image[0] / 2.0));
  }
  CHECK_THROWS(cider_d({"a"}, {}));
  CHECK_THROWS(cider_d({"a"}, {{}}));
}
