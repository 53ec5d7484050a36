// Greedy and beam search, on a hand-made model and on a real Seq2Seq.
#include <catch2/catch.hpp>

#include <cmath>

#include "models/search.h"
#include "models/seq2seq.h"

using namespace attnzoo;

namespace {

// Tokens: 0 pad, 1 unk, 2 bos, 3 eos, 4 "a", 5 "b". The next-token
// distribution depends only on the previous token:
//   after bos: a 0.6, b 0.4;  after a: a 0.4, b 0.3, eos 0.3;  after b: eos 1.
// Greedy: a a ... (0.6 * 0.4 * ...) but "b eos" has probability 0.4, the best.
class ToyModel : public StepModel {
 public:
  explicit ToyModel(int64_t rows) : last_(torch::full({rows}, 2, torch::kLong)) {}
  torch::Tensor step(const torch::Tensor& tokens, torch::Tensor* weights) override {
    last_ = tokens;
    auto p = torch::full({tokens.size(0), 6}, 1e-9, torch::kDouble);
    for (int64_t r = 0; r < tokens.size(0); ++r) {
      const int64_t t = tokens[r].item<int64_t>();
      if (t == 2) {
        p[r][4] = 0.6;
        p[r][5] = 0.4;
      } else if (t == 4) {
        p[r][4] = 0.4;
        p[r][5] = 0.3;
        p[r][3] = 0.3;
      } else {
        p[r][3] = 1.0;
      }
    }
    if (weights) *weights = torch::ones({tokens.size(0), 1});
    return torch::log(p / p.sum(1, true)).to(torch::kFloat);
  }
  void select(const torch::Tensor& rows) override { last_ = last_.index_select(0, rows); }

 private:
  torch::Tensor last_;
};

// The toy's special ids, as a vocabulary would give them.
SearchOptions toy_options() {
  SearchOptions o;
  o.bos = 2;
  o.eos = 3;
  return o;
}

}  // namespace

TEST_CASE("GNMT length penalty", "[search]") {
  CHECK(gnmt_length_penalty(7, 0.0) == 1.0);
  CHECK(gnmt_length_penalty(1, 0.6) == Approx(1.0));
  CHECK(gnmt_length_penalty(7, 1.0) == Approx(2.0));
  CHECK(gnmt_length_penalty(10, 0.6) == Approx(std::pow(15.0 / 6.0, 0.6)));
}

TEST_CASE("beam search finds the sequence greedy search misses", "[search]") {
  SearchOptions o = toy_options();
  const std::vector<int64_t> lengths = {6};
  ToyModel greedy_model(1);
  const auto greedy = greedy_search(greedy_model, lengths, o);
  CHECK(greedy[0][0].tokens.front() == 4);  // greedy commits to "a"

  o.beam = 2;
  o.n_best = 2;
  ToyModel beam_model(1);
  const auto beam = beam_search(beam_model, lengths, o);
  REQUIRE(beam[0].size() == 2);
  CHECK(beam[0][0].tokens == std::vector<int64_t>{5, 3});  // "b <eos>"
  CHECK(beam[0][0].log_prob == Approx(std::log(0.4)).epsilon(1e-4));
  CHECK(beam[0][1].tokens == std::vector<int64_t>{4, 3});  // "a <eos>", 0.18
  CHECK(beam[0][0].score >= beam[0][1].score);
  CHECK(beam[0][0].attention.sizes() == torch::IntArrayRef({2, 1}));
}

TEST_CASE("the length limit ends a hypothesis", "[search]") {
  ToyModel model(1);
  const auto out = greedy_search(model, {1}, toy_options());
  CHECK(out[0][0].tokens.size() == 1);
  ToyModel beam_model(1);
  SearchOptions o = toy_options();
  o.beam = 2;
  const auto beam = beam_search(beam_model, {2}, o);
  for (const auto& h : beam[0]) CHECK(h.tokens.size() <= 2);
}

TEST_CASE("the search refuses a missing <bos> and a zero length limit", "[search]") {
  ToyModel model(1);
  CHECK_THROWS_WITH(greedy_search(model, {6}, SearchOptions{}), Catch::Contains("bos"));
  CHECK_THROWS_WITH(beam_search(model, {0}, toy_options()), Catch::Contains("at least 1"));
}

TEST_CASE("translation length limits come from the source lengths", "[search]") {
  const auto lengths = torch::tensor({0, 1, 4, 10}, torch::kLong);
  CHECK(source_length_limits(lengths, 1.5, 3) == std::vector<int64_t>{3, 4, 9, 18});
  CHECK(source_length_limits(lengths, 0.0, 0) == std::vector<int64_t>{1, 1, 1, 1});
  CHECK(source_length_limits(lengths, 2.0, 10, 12) == std::vector<int64_t>{10, 12, 12, 12});
}

TEST_CASE("beam search with beam 1 equals greedy search on a trained-size Seq2Seq", "[search]") {
  torch::manual_seed(3);
  Seq2Seq model(Seq2SeqOptions(30, 25)
                    .embedding_size(16)
                    .encoder_hidden_size(16)
                    .decoder_hidden_size(24)
                    .attention(AttentionKind::kAdditive)
                    .dropout(0.0));
  model->eval();
  torch::NoGradGuard no_grad;
  const auto src = torch::randint(4, 30, {6, 9}, torch::kLong);
  auto lengths = torch::tensor({9, 4, 7, 1, 9, 5}, torch::kLong);
  for (int64_t b = 0; b < 6; ++b)
    src[b].narrow(0, lengths[b].item<int64_t>(), 9 - lengths[b].item<int64_t>()).fill_(0);
  SearchOptions o = toy_options();
  const auto limits = source_length_limits(lengths, 1.5, 3);
  Seq2SeqStepper a(model, src, lengths);
  const auto greedy = greedy_search(a, limits, o);
  Seq2SeqStepper b(model, src, lengths);
  const auto beam = beam_search(b, limits, o);
  for (int64_t i = 0; i < 6; ++i) {
    CHECK(greedy[i][0].tokens == beam[i][0].tokens);
    CHECK(greedy[i][0].log_prob == Approx(beam[i][0].log_prob).epsilon(1e-4));
    CHECK(torch::allclose(greedy[i][0].attention, beam[i][0].attention, 1e-5, 1e-6));
  }
  // A wider beam never finds a less likely best hypothesis (alpha = 0).
  o.beam = 4;
  Seq2SeqStepper c(model, src, lengths);
  const auto wide = beam_search(c, limits, o);
  for (int64_t i = 0; i < 6; ++i) CHECK(wide[i][0].log_prob >= greedy[i][0].log_prob - 1e-4);
}
