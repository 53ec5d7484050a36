// The attention family: normalisation, masking, gradients (finite differences).
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "data/error.h"
#include "models/attention.h"

using namespace attnzoo;

namespace {

constexpr int64_t kB = 3, kS = 5, kH = 4, kD = 4;

struct Inputs {
  torch::Tensor query, values, mask, summary;
};

Inputs make_inputs(torch::Dtype dtype = torch::kFloat) {
  torch::manual_seed(0);
  Inputs in;
  in.query = torch::randn({kB, kH}, dtype);
  in.values = torch::randn({kB, kS, kD}, dtype);
  // Lengths 5, 3, 1: rows 1 and 2 have padding.
  in.mask =
      torch::tensor({1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 0, 0, 0, 0}, torch::kBool).view({kB, kS});
  in.summary = torch::randn({kB, kD}, dtype);
  return in;
}

// Largest |analytic - numeric| over every parameter and input entry of
// sum(context * r) + sum(weights * q) for fixed random r, q.
double max_gradient_error(Attention attention) {
  attention->to(torch::kDouble);
  auto in = make_inputs(torch::kDouble);
  const auto r = torch::randn({kB, kD}, torch::kDouble);
  const auto q = torch::randn({kB, kS}, torch::kDouble);
  in.query.requires_grad_(true);
  in.values.requires_grad_(true);
  auto objective = [&] {
    const auto memory = attention->prepare(in.values, in.mask, in.summary);
    const auto out = attention->forward(in.query, memory);
    return (out.context * r).sum() + (out.weights * q).sum();
  };
  std::vector<torch::Tensor> leaves = attention->parameters();
  leaves.push_back(in.query);
  leaves.push_back(in.values);
  for (auto& t : leaves)
    if (t.grad().defined()) t.grad().zero_();
  objective().backward();
  double worst = 0.0;
  constexpr double kEps = 1e-6;
  torch::NoGradGuard no_grad;
  for (auto& t : leaves) {
    const auto analytic = t.grad().clone();
    auto flat = t.view({-1});
    for (int64_t i = 0; i < flat.numel(); ++i) {
      const double original = flat[i].item<double>();
      flat[i] = original + kEps;
      const double up = objective().item<double>();
      flat[i] = original - kEps;
      const double down = objective().item<double>();
      flat[i] = original;
      const double numeric = (up - down) / (2 * kEps);
      worst = std::max(worst, std::abs(numeric - analytic.view({-1})[i].item<double>()));
    }
  }
  return worst;
}

AttentionKind kind_named(const std::string& name) {
  return parse_choice(name, "kind", attention_kinds());
}

// Every kind that weighs the values softly by scores (all but none and
// hard): a kind added to attention_kinds() is tested here by being listed.
std::vector<std::string> soft_kinds() {
  std::vector<std::string> out;
  for (const auto& [name, kind] : attention_kinds())
    if (kind != AttentionKind::kNone && kind != AttentionKind::kHard) out.push_back(name);
  return out;
}

}  // namespace

TEST_CASE("attention weights sum to 1 and are exactly 0 on padding", "[attention]") {
  for (const auto& name : soft_kinds()) {
    SECTION(name) {
      torch::manual_seed(1);
      Attention attention(AttentionOptions(kind_named(name), kH, kD));
      const auto in = make_inputs();
      const auto memory = attention->prepare(in.values, in.mask, in.summary);
      const auto out = attention->forward(in.query, memory);
      CHECK(out.weights.sizes() == torch::IntArrayRef({kB, kS}));
      CHECK(out.context.sizes() == torch::IntArrayRef({kB, kD}));
      CHECK(torch::allclose(out.weights.sum(1), torch::ones({kB}), 1e-6, 1e-6));
      CHECK(out.weights.masked_select(in.mask.logical_not()).abs().max().item<float>() == 0.0f);
      // The one-position sequence puts all its weight there.
      CHECK(out.weights[2][0].item<float>() == Approx(1.0f));
      // The context is the weighted average of the values.
      const auto expected = torch::bmm(out.weights.unsqueeze(1), in.values).squeeze(1);
      CHECK(torch::allclose(out.context, expected, 1e-5, 1e-6));
      // Padding content cannot change the result.
      auto noisy = in.values.clone();
      noisy.masked_fill_(in.mask.logical_not().unsqueeze(2), 1000.0);
      const auto out2 =
          attention->forward(in.query, attention->prepare(noisy, in.mask, in.summary));
      CHECK(torch::allclose(out.context, out2.context, 1e-5, 1e-6));
    }
  }
}

TEST_CASE("attention gradients match finite differences", "[attention]") {
  for (const auto& name : soft_kinds()) {
    SECTION(name) {
      torch::manual_seed(2);
      CHECK(max_gradient_error(
                Attention(AttentionOptions(kind_named(name), kH, kD).hidden_size(6))) < 1e-7);
    }
  }
}

TEST_CASE("attention 'none' returns the fixed context vector", "[attention]") {
  Attention attention(AttentionOptions(AttentionKind::kNone, kH, kD));
  CHECK(attention->parameters().empty());
  const auto in = make_inputs();
  const auto out = attention->forward(in.query, attention->prepare(in.values, in.mask, in.summary));
  CHECK(torch::equal(out.context, in.summary));
  CHECK(out.weights.abs().sum().item<float>() == 0.0f);
}

TEST_CASE("scaled-dot attention: softmax of q'k / sqrt(D), computed by hand", "[attention]") {
  const auto in = make_inputs(torch::kDouble);
  Attention scaled(AttentionOptions(AttentionKind::kScaledDot, kH, kD));
  CHECK(scaled->parameters().empty());  // q'k needs no weights
  const auto out = scaled->forward(in.query, scaled->prepare(in.values, in.mask, in.summary));
  for (int64_t b = 0; b < kB; ++b) {
    // By hand: each real position's score q . v_s / sqrt(4) = q . v_s / 2, then a softmax over
    // them.
    std::vector<double> scores;
    for (int64_t s = 0; s < kS; ++s)
      if (in.mask[b][s].item<bool>())
        scores.push_back((in.query[b] * in.values[b][s]).sum().item<double>() / 2.0);
    double total = 0;
    for (double v : scores) total += std::exp(v);
    for (size_t s = 0; s < scores.size(); ++s)
      CHECK(out.weights[b][static_cast<int64_t>(s)].item<double>() ==
            Approx(std::exp(scores[s]) / total).epsilon(1e-12));
  }
  // The same inputs under dot (no scaling) weigh differently: the kinds are not one.
  Attention dot(AttentionOptions(AttentionKind::kDot, kH, kD));
  const auto unscaled = dot->forward(in.query, dot->prepare(in.values, in.mask, in.summary));
  CHECK_FALSE(torch::allclose(out.weights, unscaled.weights));
  CHECK_THROWS_WITH(Attention(AttentionOptions(AttentionKind::kScaledDot, 4, 8)),
                    Catch::Contains("scaled-dot") && Catch::Contains("(8)"));
}

TEST_CASE("attention config errors are clear", "[attention]") {
  CHECK_THROWS_WITH(Attention(AttentionOptions(AttentionKind::kDot, 4, 8)),
                    Catch::Contains("dot") && Catch::Contains("8"));
  // A kind is read once, from its config, and a wrong one named with every allowed value.
  CHECK_THROWS_WITH(parse_choice(std::string("bahdanau!"), "model.attention", attention_kinds()),
                    "model.attention: \"bahdanau!\" is not one of additive, dot, general, "
                    "scaled-dot, none, hard");
  CHECK_THROWS_WITH(parse_choice(nlohmann::json(3), "model.attention", attention_kinds()),
                    "model.attention: 3 is not one of additive, dot, general, scaled-dot, none, "
                    "hard");
  for (const auto& [name, kind] : attention_kinds()) {
    CHECK(choice_name(kind, attention_kinds()) == name);
    CHECK(parse_choice(name, "model.attention", attention_kinds()) == kind);
  }
}

#include "models/encoder.h"

TEST_CASE("the encoder equals a packed-sequence bidirectional GRU on padded batches", "[encoder]") {
  torch::manual_seed(4);
  Encoder encoder(EncoderOptions(20, 6, 5).num_layers(2).bidirectional(true));
  encoder->eval();
  torch::nn::GRU reference(
      torch::nn::GRUOptions(6, 5).num_layers(2).bidirectional(true).batch_first(true));
  {
    torch::NoGradGuard no_grad;
    for (int layer = 0; layer < 2; ++layer) {
      for (const std::string suffix : {"", "_reverse"}) {
        auto params = encoder->named_parameters();
        for (const std::string kind : {"weight_ih", "weight_hh", "bias_ih", "bias_hh"}) {
          const std::string ours = "rnn_l" + std::to_string(layer) + suffix + "." + kind + "_l0";
          const std::string theirs = kind + "_l" + std::to_string(layer) + suffix;
          reference->named_parameters()[theirs].copy_(params[ours]);
        }
      }
    }
  }
  const auto lengths = torch::tensor({7, 3, 1, 5}, torch::kLong);
  auto src = torch::randint(4, 20, {4, 7}, torch::kLong);
  for (int64_t b = 0; b < 4; ++b)
    src[b].narrow(0, lengths[b].item<int64_t>(), 7 - lengths[b].item<int64_t>()).fill_(0);
  const auto out = encoder->forward(src, lengths);

  const auto embedded = encoder->embedding->forward(src);
  namespace rnn = torch::nn::utils::rnn;
  auto [packed_out, h_n] = reference->forward_with_packed_input(
      rnn::pack_padded_sequence(embedded, lengths, true, false));
  const auto expected = std::get<0>(rnn::pad_packed_sequence(packed_out, true, 0.0, 7));
  CHECK(torch::allclose(out.outputs, expected, 1e-5, 1e-6));
  CHECK(torch::allclose(out.summary, torch::cat({h_n[2], h_n[3]}, 1), 1e-5, 1e-6));
}
