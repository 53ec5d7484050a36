// BLEU against sacreBLEU's own published test values (sacrebleu/test/test_bleu.py).
#include <catch2/catch.hpp>

#include "tests/temp_dir.h"

#include "data/error.h"
#include "eval/bleu.h"

using namespace attnzoo;

namespace {
const std::vector<std::string> kHyps = {"The dog bit the man.", "It wasn't surprising.",
                                        "The man had just bitten him."};
const std::vector<std::vector<std::string>> kRefs = {
    {"The dog bit the man.", "It was not unexpected.", "The man bit him first."},
    {"The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."}};
}  // namespace

TEST_CASE("corpus BLEU equals sacreBLEU's published values", "[bleu]") {
  CHECK(corpus_bleu(kHyps, kRefs).score == Approx(48.530827).margin(1e-6));
  BleuOptions none;
  none.tokenize = "none";
  CHECK(corpus_bleu(kHyps, kRefs, none).score == Approx(49.1919566).margin(1e-6));
  CHECK(corpus_bleu({"", "", ""}, kRefs).score == 0.0);
}

TEST_CASE("BLEU sufficient statistics equal sacreBLEU's", "[bleu]") {
  const auto b =
      corpus_bleu({"am I am a character sequence"}, {{"I am a symbol string sequence a a"}});
  CHECK(b.correct == std::array<int64_t, 4>{4, 2, 1, 0});
  CHECK(b.total == std::array<int64_t, 4>{6, 5, 4, 3});
  CHECK(bleu_from_statistics({9, 7, 5, 3}, {10, 8, 6, 4}, 11, 11).score ==
        Approx(83.75922397).margin(1e-6));
}

TEST_CASE("exp smoothing, brevity penalty, closest reference length", "[bleu]") {
  // No 4-gram match: exp smoothing gives 100 / (2 * total).
  const auto b = corpus_bleu({"a b c d e"}, {{"a b c x e"}});
  CHECK(b.precisions[3] == Approx(100.0 / (2 * 2)));
  // Hypothesis of 2 tokens, references of 3 and 6: closest is 3.
  const auto short_hyp = corpus_bleu({"a b"}, {{"a b c"}, {"a b c d e f"}});
  CHECK(short_hyp.ref_len == 3);
  CHECK(short_hyp.bp == Approx(std::exp(1.0 - 3.0 / 2.0)));
  // Ties go to the shorter reference.
  CHECK(corpus_bleu({"a b c d"}, {{"a b c"}, {"a b c d e"}}).ref_len == 3);
  BleuOptions lower;
  lower.lowercase = true;
  CHECK(corpus_bleu({"THE DOG"}, {{"the dog"}}, lower).score ==
        Approx(corpus_bleu({"the dog"}, {{"the dog"}}).score));
}

TEST_CASE("13a tokenizer", "[bleu]") {
  CHECK(tokenize_13a("Hello, world.") == "Hello , world .");
  CHECK(tokenize_13a("It costs $3.50, or 1,000 yen.") == "It costs $ 3.50 , or 1,000 yen .");
  CHECK(tokenize_13a("2026-11-24") == "2026 - 11 - 24");
  CHECK(tokenize_13a("a &quot;b&quot; &amp; c") == "a \" b \" & c");
  CHECK(tokenize_13a("Grüße.") == "Grüße .");
  CHECK(tokenize_13a("e.g. this") == "e . g . this");
}

#include <filesystem>

#include "eval/line_plot.h"
#include "train/curves.h"

#include <fstream>

#include <opencv2/imgcodecs.hpp>

TEST_CASE("BLEU by source length: buckets, merged tail, per-bucket scores", "[bleu]") {
  std::vector<std::string> src, hyp, ref;
  for (int i = 0; i < 60; ++i) {
    const int words = i < 30 ? 3 : (i < 55 ? 8 : 14);  // 30 short, 25 medium, 5 long
    std::string s;
    for (int w = 0; w < words; ++w) s += (w ? " w" : "w") + std::to_string(w);
    src.push_back(s);
    ref.push_back("the cat sat on the mat");
    hyp.push_back(i < 30 ? "the cat sat on the mat" : "a dog");
  }
  const auto buckets = bleu_by_source_length(src, hyp, {ref}, 5, 10);
  REQUIRE(buckets.size() == 2);  // 1-5, and 6+ (the 11-15 tail of 5 merged in)
  CHECK(buckets[0].from == 1);
  CHECK(buckets[0].to == 5);
  CHECK(buckets[0].sentences == 30);
  CHECK(buckets[0].bleu == Approx(100.0));
  CHECK(buckets[1].from == 6);
  CHECK(buckets[1].to == 0);
  CHECK(buckets[1].sentences == 30);
  CHECK(buckets[1].bleu == 0.0);

  const auto png = (attnzoo::testing::scratch_dir() / "lines.png").string();
  plot_lines({"1-5", "6+"}, {{"a", {40, 30}}, {"b", {35, 20}}}, "t", "x", "y", png);
  CHECK(std::filesystem::file_size(png) > 1000);
  CHECK_THROWS(plot_lines({"1-5"}, {{"a", {1, 2}}}, "t", "x", "y", png));
}

TEST_CASE("training curves: runs overlaid, the best evaluation read from the log", "[plot]") {
  const auto dir = attnzoo::testing::scratch_dir() / "curves";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir / "a");
  {
    std::ofstream out(dir / "a" / "metrics.jsonl");
    out << R"({"step":50,"loss":2.0,"lr":0.001})"
        << "\n"
        << R"({"step":100,"loss":1.5,"lr":0.001,"valid_bleu":10.0,"score":10.0,"best":true})"
        << "\n"
        << "not json (a log cut short)\n"
        << R"({"step":150,"loss":1.2,"lr":0.0005,"valid_bleu":9.0,"valid_ppl":4.0,"score":9.0})"
        << "\n";
  }
  const auto a = read_run_log((dir / "a").string());
  CHECK(a.lines.size() == 3);
  RunLog b = a;
  b.label = "b";
  CHECK(curve_panels({a, b}) == std::vector<std::string>{"loss", "lr", "valid_bleu", "valid_ppl"});
  const auto png = (dir / "curves.png").string();
  plot_curves({a, b}, "two runs", png);
  const cv::Mat img = cv::imread(png);
  CHECK(img.cols == 940);
  CHECK(img.rows > 500);  // two rows of panels and the legend
  CHECK_THROWS_WITH(read_run_log((dir / "none").string()), Catch::Contains("no such file"));
  RunLog empty;
  CHECK_THROWS_AS(plot_curves({empty}, "t", png), UserError);
}
