// Decoding speed-ups: int8 layers (models/quantize.h) against their fp32
// selves, and the lexical shortlist (data/shortlist.h) and the stepper that
// projects onto it.
#include <catch2/catch.hpp>

#include "data/shortlist.h"
#include "data/vocab.h"
#include "models/quantize.h"
#include "models/seq2seq.h"

using namespace attnzoo;

namespace {

// max|a - b| / max|b|: int8 error relative to the output's scale.
double relative_error(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>() / b.abs().max().item<double>();
}

}  // namespace

TEST_CASE("int8 linear layers and cells follow their fp32 selves", "[speedups]") {
  REQUIRE_FALSE(int8_engine().empty());
  torch::manual_seed(5);
  torch::NoGradGuard no_grad;
  torch::nn::Linear fp32(torch::nn::LinearOptions(96, 200));
  fp32->bias.uniform_(-1, 1);
  const auto x = torch::randn({7, 3, 96});
  const Int8Linear int8(fp32->weight, fp32->bias);
  const auto want = fp32->forward(x);
  const auto got = int8.forward(x);
  REQUIRE(got.sizes() == want.sizes());
  // 8 bits of weights and activations: about 1% of the output's scale; a
  // wrong layer (another row's weights, a lost bias) is far off.
  CHECK(relative_error(got, want) < 0.03);
  auto shuffled = fp32->weight.roll(1, 0);
  CHECK(relative_error(Int8Linear(shuffled, fp32->bias).forward(x), want) > 0.3);
  CHECK(relative_error(Int8Linear(fp32->weight, {}).forward(x), want) > 0.2);
  // Rows are quantised each with its own scale: a row 1000x smaller keeps its precision.
  auto scaled = fp32->weight.clone();
  scaled[0].mul_(1e-3);
  const auto row0 = Int8Linear(scaled, torch::zeros({200})).forward(x).select(-1, 0);
  const auto row0_fp32 = torch::matmul(x, scaled[0]);
  CHECK(relative_error(row0, row0_fp32) < 0.03);

  torch::nn::GRUCell gru(40, 24);
  torch::nn::LSTMCell lstm(40, 24);
  const auto in = torch::randn({5, 40});
  const auto h = torch::randn({5, 24}).tanh(), c = torch::randn({5, 24});
  const Int8Cell gru8(gru->weight_ih, gru->weight_hh, gru->bias_ih, gru->bias_hh);
  const Int8Cell lstm8(lstm->weight_ih, lstm->weight_hh, lstm->bias_ih, lstm->bias_hh);
  CHECK(relative_error(gru8.gru(in, h), gru->forward(in, h)) < 0.03);
  const Int8Cell swapped(gru->weight_ih, gru->weight_hh, gru->bias_hh, gru->bias_ih);
  CHECK(relative_error(swapped.gru(in, h), gru->forward(in, h)) > 0.05);
  const auto [h8, c8] = lstm8.lstm(in, h, c);
  const auto [h32, c32] = lstm->forward(in, std::make_tuple(h, c));
  CHECK(relative_error(h8, h32) < 0.03);
  CHECK(relative_error(c8, c32) < 0.03);
  const auto q = quantize_rows_int8(scaled);
  CHECK(q.q_per_channel_scales()[0].item<double>() ==
        Approx(scaled[0].abs().max().item<double>() / 127).epsilon(1e-6));
}

TEST_CASE("lexical shortlist: each source word's co-occurring targets, frequent words, specials",
          "[speedups]") {
  // Source words 4..7 each translate to target 10 + (s - 4); target 20 is in every sentence.
  std::vector<Example> pairs;
  for (int rep = 0; rep < 5; ++rep)
    for (int64_t s = 4; s < 8; ++s) {
      pairs.push_back({{s, Vocab::kEos}, {10 + (s - 4), 20}});
      pairs.push_back(
          {{s, (s + 1 - 4) % 4 + 4, Vocab::kEos}, {10 + (s - 4), 10 + (s + 1 - 4) % 4, 20}});
    }
  const auto list = LexicalShortlist::build(pairs, 8, 25, {1, 1});
  REQUIRE(list.table().sizes() == torch::IntArrayRef({8, 1}));
  for (int64_t s = 4; s < 8; ++s) CHECK(list.table()[s][0].item<int64_t>() == 10 + (s - 4));
  // The frequent word, and the specials.
  CHECK(list.always().equal(torch::tensor({0, 1, 2, 3, 20}, torch::kLong)));
  const auto src = torch::tensor({{5, 3, 0}, {7, 6, 3}}, torch::kLong);
  CHECK(list.candidates(src).equal(torch::tensor({0, 1, 2, 3, 11, 12, 13, 20}, torch::kLong)));
  CHECK_THROWS_WITH(LexicalShortlist(torch::full({2, 1}, 30, torch::kLong), list.always(), 25),
                    Catch::Contains("outside the vocabulary of 25"));
  CHECK_THROWS_WITH(LexicalShortlist::build(pairs, 8, 25, {0, 1}),
                    Catch::Contains("per_word must be at least 1"));
}

TEST_CASE(
    "a shortlisted stepper: the full model's log-probabilities renormalised over the "
    "candidates, -inf elsewhere",
    "[speedups]") {
  torch::manual_seed(9);
  Seq2Seq model(Seq2SeqOptions(12, 30)
                    .embedding_size(8)
                    .encoder_hidden_size(6)
                    .decoder_hidden_size(10)
                    .dropout(0.0));
  model->eval();
  torch::NoGradGuard no_grad;
  const auto src = torch::tensor({{4, 5, 6, 3}, {7, 8, 3, 0}}, torch::kLong);
  const auto lengths = torch::tensor({4, 3}, torch::kLong);
  const auto tokens = torch::tensor({Vocab::kBos, Vocab::kBos}, torch::kLong);
  Seq2SeqStepper full(model, src, lengths);
  const auto all = full.step(tokens, nullptr);
  // Every word a candidate: the same distribution.
  Seq2SeqStepper everything(model, src, lengths, torch::arange(30, torch::kLong));
  CHECK(torch::allclose(everything.step(tokens, nullptr), all, 1e-5, 1e-6));
  // Some: their log-softmax among themselves, the others impossible.
  const auto ids = torch::tensor({0, 1, 2, 3, 9, 17, 25}, torch::kLong);
  Seq2SeqStepper some(model, src, lengths, ids);
  const auto got = some.step(tokens, nullptr);
  const auto want = torch::log_softmax(all.index_select(1, ids), 1);
  CHECK(torch::allclose(got.index_select(1, ids), want, 1e-5, 1e-6));
  auto others = torch::ones({30}, torch::kBool);
  others.index_fill_(0, ids, false);
  CHECK(torch::isinf(got.index({torch::indexing::Slice(), others})).all().item<bool>());
  // The next step continues from the same state as the full model's.
  const auto next = torch::tensor({9, 25}, torch::kLong);
  const auto all2 = full.step(next, nullptr);
  CHECK(torch::allclose(some.step(next, nullptr).index_select(1, ids),
                        torch::log_softmax(all2.index_select(1, ids), 1), 1e-5, 1e-6));
}
