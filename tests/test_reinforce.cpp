// REINFORCE and hard attention: the estimator is unbiased (against the exact
// gradient by enumeration), a baseline keeps it unbiased and lowers its
// variance, the entropy term's gradient matches finite differences, and the
// hard attention module samples, picks and reports what it should.
#include <catch2/catch.hpp>

#include "models/attention.h"
#include "models/reinforce.h"

using namespace attnzoo;

namespace {

constexpr int64_t kS = 4, kD = 3, kH = 5;

// One query over four locations, batched `n` times, through hard attention.
struct Problem {
  Attention attention{nullptr};
  torch::Tensor query, values, target;
  Problem() {
    torch::manual_seed(11);
    attention = Attention(AttentionOptions(AttentionKind::kHard, kH, kD).hidden_size(6));
    attention->to(torch::kDouble);
    query = torch::randn({1, kH}, torch::kDouble) * 2;
    values = torch::randn({1, kS, kD}, torch::kDouble);
    target = torch::randn({kD}, torch::kDouble);
  }
  // The reward of attending to a context: -|context - target|^2, plus an offset
  // that a baseline should remove.
  torch::Tensor reward(const torch::Tensor& context, double offset) const {
    return offset - (context - target).pow(2).sum(-1);
  }
  torch::Tensor run(int64_t n, AttentionResult* out) {
    const auto memory =
        attention->prepare(values.expand({n, kS, kD}), torch::ones({n, kS}, torch::kBool), {});
    *out = attention->forward(query.expand({n, kH}), memory);
    return out->weights;
  }
  std::vector<torch::Tensor> params() { return attention->parameters(); }
};

torch::Tensor flat_grad(const torch::Tensor& loss, const std::vector<torch::Tensor>& params) {
  std::vector<torch::Tensor> parts;
  for (const auto& g :
       torch::autograd::grad({loss}, params, {}, /*retain_graph=*/false, false, true))
    parts.push_back(g.defined() ? g.flatten() : torch::Tensor());
  for (size_t i = 0; i < parts.size(); ++i)
    if (!parts[i].defined()) parts[i] = torch::zeros({params[i].numel()}, torch::kDouble);
  return torch::cat(parts);
}

// The exact gradient of E_s[R(s)] = sum_s alpha_s R(v_s), by enumeration.
torch::Tensor exact_gradient(Problem& p, double offset) {
  p.attention->eval();
  AttentionResult r;
  const auto alpha = p.run(1, &r).squeeze(0);          // (S)
  const auto rewards = p.reward(p.values[0], offset);  // (S)
  return flat_grad((alpha * rewards).sum(), p.params());
}

// K estimates of that gradient, each the mean of n samples, through
// reinforce_surrogate (negated: the surrogate is minimised).
torch::Tensor estimates(Problem& p, double offset, bool with_baseline, double exact_mean_reward,
                        int k, int64_t n) {
  p.attention->train();
  p.attention->set_sampling(true);
  std::vector<torch::Tensor> rows;
  for (int i = 0; i < k; ++i) {
    AttentionResult r;
    p.run(n, &r);
    const auto rewards = p.reward(r.context, offset).detach();
    const auto b = torch::full({}, with_baseline ? exact_mean_reward : 0.0, torch::kDouble);
    rows.push_back(-flat_grad(
        reinforce_surrogate(r.log_prob, rewards, b, 1.0, static_cast<double>(n)), p.params()));
  }
  return torch::stack(rows);  // (K, P)
}

}  // namespace

TEST_CASE(
    "REINFORCE through hard attention is unbiased, a baseline keeps the mean and cuts the variance",
    "[reinforce]") {
  Problem p;
  const double offset = 20.0;
  const auto exact = exact_gradient(p, offset);
  p.attention->eval();
  AttentionResult r;
  const auto alpha = p.run(1, &r).squeeze(0);
  const double mean_reward = (alpha * p.reward(p.values[0], offset)).sum().item<double>();
  REQUIRE(exact.abs().max().item<double>() > 1e-3);  // a problem with a gradient to find

  torch::manual_seed(5);
  const int k = 40;
  const int64_t n = 500;
  const auto plain = estimates(p, offset, false, mean_reward, k, n);
  const auto based = estimates(p, offset, true, mean_reward, k, n);
  for (const auto& est : {plain, based}) {
    const auto mean = est.mean(0);
    const auto standard_error = est.std(0) / std::sqrt(static_cast<double>(k));
    // Every component within 4.5 standard errors (the K means are close to normal).
    const auto z = (mean - exact).abs() / (standard_error + 1e-12);
    INFO("exact " << exact << "\nmean " << mean << "\nz " << z);
    CHECK(z.max().item<double>() < 4.5);
  }
  // The offset inflates the plain estimator's variance; the baseline removes it.
  const double var_plain = plain.var(0).sum().item<double>();
  const double var_based = based.var(0).sum().item<double>();
  INFO("variance without baseline " << var_plain << ", with " << var_based);
  CHECK(var_based < 0.25 * var_plain);
}

TEST_CASE("the entropy term's gradient matches finite differences", "[reinforce]") {
  torch::manual_seed(2);
  auto logits = torch::randn({3, 5}, torch::kDouble).requires_grad_(true);
  const auto mask =
      torch::tensor({1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 0}, torch::kBool).view({3, 5});
  auto entropy_of = [&](const torch::Tensor& l) {
    return categorical_entropy(AttentionImpl::masked_softmax(l, mask)).sum();
  };
  const auto analytic = torch::autograd::grad({entropy_of(logits)}, {logits})[0];
  const double eps = 1e-6;
  auto numeric = torch::zeros_like(logits);
  for (int64_t i = 0; i < logits.numel(); ++i) {
    auto plus = logits.detach().clone(), minus = logits.detach().clone();
    plus.view(-1)[i] += eps;
    minus.view(-1)[i] -= eps;
    numeric.view(-1)[i] = (entropy_of(plus) - entropy_of(minus)).item<double>() / (2 * eps);
  }
  CHECK(torch::allclose(analytic, numeric, 1e-6, 1e-8));
  CHECK(analytic.masked_select(mask.logical_not()).abs().max().item<double>() == 0.0);
  // Uniform over k real positions: log k.
  const auto uniform = torch::tensor({{0.5, 0.5, 0.0}}, torch::kDouble);
  CHECK(categorical_entropy(uniform).item<double>() == Approx(std::log(2.0)));
}

TEST_CASE(
    "hard attention samples by alpha, never padding, with argmax and expectation at evaluation",
    "[reinforce]") {
  torch::manual_seed(4);
  const int64_t n = 20000;
  Attention hard(AttentionOptions(AttentionKind::kHard, kH, kD).hidden_size(6));
  const auto values = torch::randn({1, kS, kD}).expand({n, kS, kD});
  auto mask = torch::ones({n, kS}, torch::kBool);
  mask.select(1, 3).fill_(false);  // location 3 is padding
  const auto query = torch::randn({1, kH}).expand({n, kH});
  const auto memory = hard->prepare(values, mask, {});

  hard->train();
  const auto r = hard->forward(query, memory);
  const auto alpha = r.weights[0];
  REQUIRE(alpha[3].item<double>() == 0.0);
  // Which location each row took: its context equals that value.
  const auto distance = (r.context.unsqueeze(1) - values).abs().sum(2);  // (n,S)
  const auto taken = distance.argmin(1);
  CHECK(std::get<0>(distance.min(1)).max().item<double>() == 0.0);
  const auto counts = torch::bincount(taken, {}, kS).to(torch::kDouble);
  CHECK(counts[3].item<double>() == 0.0);
  for (int64_t s = 0; s < kS; ++s) {
    const double p = alpha[s].item<double>();
    const double sigma = std::sqrt(n * p * (1 - p)) + 1e-9;
    CHECK(std::abs(counts[s].item<double>() - n * p) < 5 * sigma + 1e-9);
  }
  CHECK(torch::allclose(r.log_prob, alpha.index_select(0, taken).log()));
  CHECK(r.entropy.sizes() == torch::IntArrayRef({n}));

  hard->set_sampling(false);  // an expectation batch
  const auto expected = hard->forward(query, memory);
  CHECK_FALSE(expected.log_prob.defined());
  CHECK(torch::allclose(expected.context[0], (alpha.unsqueeze(1) * values[0]).sum(0), 1e-5, 1e-6));

  hard->eval();
  const auto picked = hard->forward(query, memory);
  CHECK(torch::equal(picked.context[0], values[0][alpha.argmax().item<int64_t>()]));
  Attention soft_eval(AttentionOptions(AttentionKind::kHard, kH, kD)
                          .hidden_size(6)
                          .hard_eval(HardEval::kExpectation));
  soft_eval->eval();
  CHECK(soft_eval->forward(query, soft_eval->prepare(values, mask, {})).context.sizes() ==
        torch::IntArrayRef({n, kD}));
  CHECK_THROWS_WITH(parse_choice(std::string("mode"), "model.hard_eval", hard_evals()),
                    "model.hard_eval: \"mode\" is not one of argmax, expectation");
}

TEST_CASE("moving-average baseline and the hard attention loss by hand", "[reinforce]") {
  MovingAverageBaseline b(0.9);
  const auto first = torch::tensor({1.0, 3.0});
  CHECK(b->value(first).item<double>() == Approx(2.0));  // before any update: the batch mean
  b->update(first);
  CHECK(b->average.item<double>() == Approx(2.0));
  b->update(torch::tensor({12.0}));
  CHECK(b->average.item<double>() == Approx(0.9 * 2.0 + 0.1 * 12.0));

  // Two sequences, steps 2 and 1 real; rewards 1 and 4; baseline then 3.
  MovingAverageBaseline fresh(0.5);
  fresh->update(torch::tensor({3.0}));
  auto log_probs = torch::tensor({{-0.5, -1.0, -9.0}, {-2.0, -9.0, -9.0}}).requires_grad_(true);
  const auto entropies = torch::tensor({{0.3, 0.2, 9.0}, {0.7, 9.0, 9.0}});
  const auto rows = torch::tensor({{true, true, false}, {true, false, false}});
  HardAttentionLossOptions o;
  o.scale = 2.0;
  o.entropy_weight = 0.1;
  const auto loss =
      hard_attention_loss(log_probs, entropies, rows, torch::tensor({1.0, 4.0}), *fresh, o);
  // -2 * [(1-3)(-1.5) + (4-3)(-2)] / 3 - 0.1 * (0.3 + 0.2 + 0.7) / 3
  CHECK(loss.item<double>() == Approx(-2.0 * (3.0 - 2.0) / 3.0 - 0.1 * 1.2 / 3.0));
  loss.backward();
  const auto expected_grad = torch::tensor({{4.0 / 3, 4.0 / 3, 0.0}, {-2.0 / 3, 0.0, 0.0}});
  CHECK(torch::allclose(log_probs.grad(), expected_grad));
  CHECK(fresh->average.item<double>() == Approx(0.5 * 3.0 + 0.5 * 2.5));

  // Per-step rewards credit each step's location alone: rewards 1, 2 (row 0)
  // and 6 (row 1) against a baseline of 3.
  MovingAverageBaseline per_step(0.5);
  per_step->update(torch::tensor({3.0}));
  log_probs.mutable_grad().zero_();
  const auto step_rewards = torch::tensor({{1.0, 2.0, 99.0}, {6.0, 99.0, 99.0}});
  const auto step_loss =
      hard_attention_loss(log_probs, entropies, rows, step_rewards, *per_step, o);
  // -2 * [(1-3)(-0.5) + (2-3)(-1) + (6-3)(-2)] / 3 - 0.1 * 1.2 / 3
  CHECK(step_loss.item<double>() == Approx(-2.0 * (1.0 + 1.0 - 6.0) / 3.0 - 0.1 * 1.2 / 3.0));
  step_loss.backward();
  CHECK(torch::allclose(log_probs.grad(),
                        torch::tensor({{4.0 / 3, 2.0 / 3, 0.0}, {-6.0 / 3, 0.0, 0.0}})));
  CHECK(per_step->average.item<double>() ==
        Approx(0.5 * 3.0 + 0.5 * 3.0));  // mean reward (1+2+6)/3
}
