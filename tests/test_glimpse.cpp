// The Recurrent Attention Model's pieces: translated and cluttered canvases,
// the glimpse sensor (exact pixels, scales, edges, (x, y) order), the Gaussian
// policy's log-density and its REINFORCE gradient, where each part of the
// hybrid loss sends its gradient, and the glimpse path figure.
#include <catch2/catch.hpp>

#include <cmath>
#include <set>

#include "data/canvas.h"
#include "data/error.h"
#include "eval/glimpse_plot.h"
#include "export/export.h"
#include "models/glimpse.h"
#include "models/reinforce.h"
#include "tasks/glimpse.h"
#include "temp_dir.h"

using namespace attnzoo;

namespace {

const FashionMnist& items() {
  static const FashionMnist data = [] {
    auto all = load_fashion_mnist(kFashionMnistDir, "test");
    return FashionMnist{all.images.slice(0, 0, 200).clone(), all.labels.slice(0, 0, 200).clone()};
  }();
  return data;
}

// A (1,1,28,28) image whose pixel (row r, column c) is 28 r + c.
torch::Tensor ramp() { return torch::arange(28 * 28, torch::kFloat).view({1, 1, 28, 28}); }

torch::Tensor location(double x, double y) { return torch::tensor({{x, y}}, torch::kFloat); }

}  // namespace

TEST_CASE("a 28-pixel canvas without clutter is the item itself", "[glimpse][canvas]") {
  CanvasOptions o;
  o.canvas = 28;
  const auto set = make_canvas_set(items(), 3, 0, 50, o);
  CHECK(torch::equal(set.images, items().images.slice(0, 0, 50)));
  CHECK(torch::equal(set.labels, items().labels.slice(0, 0, 50)));
}

TEST_CASE("translated canvases hold the whole item somewhere, the same for every order",
          "[glimpse][canvas]") {
  CanvasOptions o;
  o.canvas = 60;
  const auto set = make_canvas_set(items(), 7, 10, 20, o);
  REQUIRE(set.images.sizes() == torch::IntArrayRef({20, 60, 60}));
  std::set<std::pair<int64_t, int64_t>> places;
  for (int64_t i = 0; i < 20; ++i) {
    const auto canvas = set.images[i];
    const auto item = items().images[10 + i];
    CHECK(canvas.to(torch::kLong).sum().item<int64_t>() ==
          item.to(torch::kLong).sum().item<int64_t>());
    bool found = false;
    for (int64_t y = 0; y <= 32 && !found; ++y)
      for (int64_t x = 0; x <= 32 && !found; ++x)
        if (torch::equal(canvas.slice(0, y, y + 28).slice(1, x, x + 28), item)) {
          found = true;
          places.insert({x, y});
          // The set records where it put the item.
          CHECK(set.places[i][0].item<int64_t>() == x);
          CHECK(set.places[i][1].item<int64_t>() == y);
        }
    CHECK(found);
    // Image i of a seed does not depend on which others are made with it.
    CHECK(torch::equal(canvas, place_on_canvas(items(), 7, 10 + i, o)));
  }
  CHECK(places.size() > 10);  // random places, not one
  CHECK_FALSE(torch::equal(set.images[0],
                           place_on_canvas(items(), 8, 10, o)));  // another seed, another place
}

TEST_CASE("clutter adds pieces of other items under the item", "[glimpse][canvas]") {
  CanvasOptions plain, cluttered;
  plain.canvas = cluttered.canvas = 60;
  cluttered.clutter = 6;
  int64_t more = 0;
  for (int64_t i = 0; i < 20; ++i) {
    const auto a = place_on_canvas(items(), 1, i, plain).to(torch::kLong);
    const auto b = place_on_canvas(items(), 1, i, cluttered).to(torch::kLong);
    CHECK((b >= 0).all().item<bool>());
    if (b.sum().item<int64_t>() > a.sum().item<int64_t>()) ++more;
  }
  CHECK(more >= 18);  // a piece can land on black parts of its source, rarely on all six
  CanvasOptions bad;
  bad.canvas = 20;
  CHECK_THROWS_AS(place_on_canvas(items(), 1, 0, bad), UserError);
  bad.canvas = 60;
  bad.clutter = 2;
  bad.clutter_size = 40;
  CHECK_THROWS_WITH(make_canvas_set(items(), 1, 0, 5, bad), Catch::Contains("clutter_size"));
}

TEST_CASE("the glimpse sensor reads exact pixels, in (x, y) order", "[glimpse][sensor]") {
  const auto image = ramp();
  GlimpseSensorOptions o;
  o.patch = 8;
  // The centre of a 28-pixel image is the corner between pixels 13 and 14: an
  // 8-pixel patch there covers pixels 10..17 in both directions.
  auto p = glimpse_sensor(image, location(0, 0), o);
  REQUIRE(p.sizes() == torch::IntArrayRef({1, 1, 8, 8}));
  CHECK(torch::allclose(p[0][0], image[0][0].slice(0, 10, 18).slice(1, 10, 18)));
  // x = 0.5 is column 21, y = -0.5 is row 7: columns 17..24, rows 3..10.
  p = glimpse_sensor(image, location(0.5, -0.5), o);
  CHECK(torch::allclose(p[0][0], image[0][0].slice(0, 3, 11).slice(1, 17, 25)));
}

TEST_CASE("wider scales are averaged down, and outside the image is black", "[glimpse][sensor]") {
  const auto image = ramp();
  GlimpseSensorOptions o;
  o.patch = 4;
  o.scales = 3;  // 4, 8 and 16 pixels
  CHECK(glimpse_side(o, 2) == 16);
  const auto p = glimpse_sensor(image, location(0, 0), o);
  REQUIRE(p.sizes() == torch::IntArrayRef({1, 3, 4, 4}));
  const auto plane = image[0];
  CHECK(torch::allclose(p[0][0], plane[0].slice(0, 12, 16).slice(1, 12, 16)));
  CHECK(torch::allclose(p[0][1], torch::avg_pool2d(plane.slice(1, 10, 18).slice(2, 10, 18), 2)[0]));
  CHECK(torch::allclose(p[0][2], torch::avg_pool2d(plane.slice(1, 6, 22).slice(2, 6, 22), 4)[0]));
  // At the top left corner the patch's first half lies outside the image.
  const auto corner = glimpse_sensor(image, location(-1, -1), o)[0][0];
  CHECK(corner.slice(0, 0, 2).abs().sum().item<double>() <
        1e-3);  // zero up to rounding of the sampling grid
  CHECK(corner.slice(1, 0, 2).abs().sum().item<double>() <
        1e-3);  // zero up to rounding of the sampling grid
  CHECK(torch::allclose(corner.slice(0, 2, 4).slice(1, 2, 4),
                        plane[0].slice(0, 0, 2).slice(1, 0, 2)));
}

TEST_CASE("the Gaussian policy's log-density and its REINFORCE gradient", "[glimpse][reinforce]") {
  torch::manual_seed(5);
  const double sigma = 0.3;
  const auto x = torch::tensor({{0.2, -0.1}}, torch::kDouble);
  auto mean = torch::tensor({{0.0, 0.4}}, torch::kDouble).requires_grad_();
  const auto lp = gaussian_log_prob(x, mean, sigma);
  const double expected =
      -(0.04 + 0.25) / (2 * sigma * sigma) - 2 * std::log(sigma) - std::log(2 * M_PI);
  CHECK(lp.item<double>() == Approx(expected).epsilon(1e-12));
  lp.backward();
  CHECK(mean.grad()[0][0].item<double>() == Approx(0.2 / (sigma * sigma)));
  CHECK(mean.grad()[0][1].item<double>() == Approx(-0.5 / (sigma * sigma)));

  // d/dmu E[-(l - c)^2] over l ~ N(mu, sigma^2) is -2 (mu - c) exactly; the
  // mean of REINFORCE's estimates must agree within 4 standard errors.
  const int64_t n = 20000;
  const double c = 0.5;
  auto mu = torch::zeros({1, 1}, torch::kDouble).requires_grad_();
  const auto samples = mu.detach().expand({n, 1}) + sigma * torch::randn({n, 1}, torch::kDouble);
  const auto log_probs = gaussian_log_prob(samples, mu.expand({n, 1}), sigma);
  const auto rewards = -(samples - c).pow(2).squeeze(1);
  // Per-sample gradients (R - b) (l - mu) / sigma^2, to get their spread.
  const auto per_sample = (rewards - rewards.mean()) * samples.squeeze(1) / (sigma * sigma);
  reinforce_surrogate(log_probs, rewards, rewards.mean(), 1.0, static_cast<double>(n)).backward();
  const double estimate = -mu.grad().item<double>();
  const double stderr_ = per_sample.std().item<double>() / std::sqrt(static_cast<double>(n));
  CHECK(std::abs(estimate - 2 * c) < 4 * stderr_);
}

TEST_CASE("RAM: shapes, deterministic evaluation, sampled training", "[glimpse][ram]") {
  torch::manual_seed(2);
  RecurrentAttentionModel ram(
      RamOptions().glimpses(4).patch(6).scales(2).hidden(32).glimpse_hidden(16).location_hidden(8));
  const auto images = torch::rand({5, 1, 28, 28});
  const auto a = ram->forward(images, false), b = ram->forward(images, false);
  CHECK(a.logits.sizes() == torch::IntArrayRef({5, 10}));
  CHECK(a.locations.sizes() == torch::IntArrayRef({5, 4, 2}));
  CHECK(a.baselines.sizes() == torch::IntArrayRef({5, 4}));
  CHECK_FALSE(a.log_probs.defined());
  CHECK(torch::equal(a.locations, b.locations));
  CHECK(torch::equal(a.logits, b.logits));
  // Before any glimpse the policy knows nothing of the image: one first location for all.
  CHECK(torch::allclose(a.locations.select(1, 0), a.locations[0][0].expand({5, 2})));
  const auto s = ram->forward(images, true);
  CHECK(s.log_probs.sizes() == torch::IntArrayRef({5, 4}));
  CHECK((s.locations.abs() <= 1).all().item<bool>());
  CHECK_FALSE(torch::equal(s.locations, a.locations));
  RecurrentAttentionModel lstm(RamOptions().glimpses(2).hidden(16).core(GlimpseCore::kLstm));
  CHECK(lstm->forward(images, true).logits.sizes() == torch::IntArrayRef({5, 10}));
  CHECK_THROWS_WITH(parse_choice(std::string("gru"), "model.core", glimpse_cores()),
                    "model.core: \"gru\" is not one of rnn, lstm");
}

TEST_CASE("glimpse options read their own section, and refuse values that cannot work together",
          "[glimpse]") {
  const auto model = default_glimpse_config().at("model");
  // The image size comes from the task, not from a data section the model would have to know.
  const auto o = GlimpseNetOptions::from_json(model, 28, 1);
  CHECK(o.kind() == GlimpseKind::kRam);
  CHECK(o.cnn().image_size() == 28);
  auto wide = model;
  wide["patch"] = 100;
  CHECK_THROWS_WITH(GlimpseNetOptions::from_json(wide, 28, 1),
                    Catch::Contains("model.patch 100 is wider than the 28-pixel images"));
  CHECK_NOTHROW(GlimpseNetOptions::from_json(wide, 100, 1));
  wide["kind"] = "cnn";  // a whole-image model takes no glimpses: the patch is not read
  CHECK_NOTHROW(GlimpseNetOptions::from_json(wide, 28, 1));
  auto no_mask = model;
  no_mask["kind"] = "residual-attention";
  no_mask["residual_attention"]["attention"] = "none";
  CHECK_THROWS_WITH(GlimpseNetOptions::from_json(no_mask, 28, 1),
                    Catch::Contains("model.kind resnet"));
  auto bad_kind = model;
  bad_kind["kind"] = "transformer";
  CHECK_THROWS_WITH(GlimpseNetOptions::from_json(bad_kind, 28, 1),
                    "model.kind: \"transformer\" is not one of ram, residual-attention, resnet, "
                    "cnn, mlp");
}

TEST_CASE("hybrid loss: each part trains only its own parameters", "[glimpse][ram]") {
  const bool reaches_core = GENERATE(false, true);
  CAPTURE(reaches_core);
  torch::manual_seed(3);
  RecurrentAttentionModel ram(RamOptions()
                                  .glimpses(3)
                                  .patch(6)
                                  .hidden(32)
                                  .glimpse_hidden(16)
                                  .location_hidden(8)
                                  .policy_reaches_core(reaches_core));
  const auto images = torch::rand({8, 1, 28, 28});
  const auto labels = torch::randint(0, 10, {8}, torch::kLong);
  auto grads_of = [&](const std::string& part) {
    ram->zero_grad();
    std::vector<std::pair<std::string, torch::Tensor>> terms;
    const auto out = ram->forward(images, true);
    hybrid_loss(out, labels, 1.0, &terms);
    torch::Tensor loss;
    for (const auto& [name, value] : terms) REQUIRE(!value.requires_grad());
    // Recompute the part alone, with its graph.
    const auto reward = out.logits.argmax(1).eq(labels).to(torch::kFloat);
    const auto rewards = reward.unsqueeze(1).expand_as(out.baselines);
    if (part == "nll") loss = torch::nn::functional::cross_entropy(out.logits, labels);
    if (part == "reinforce")
      loss = reinforce_surrogate(out.log_probs.flatten(), rewards.flatten(),
                                 out.baselines.flatten(), 1.0, 8.0);
    if (part == "baseline") loss = torch::nn::functional::mse_loss(out.baselines, rewards);
    loss.backward();
    std::map<std::string, double> norms;
    for (const auto& p : ram->named_parameters()) {
      const std::string module = p.key().substr(0, p.key().find('.'));
      norms[module] += p.value().grad().defined() ? p.value().grad().norm().item<double>() : 0.0;
    }
    return norms;
  };
  auto nll = grads_of("nll");
  CHECK(nll["classifier"] > 0);
  CHECK(nll["patch_in"] > 0);
  CHECK(nll["policy"] == 0);  // locations are not differentiable
  CHECK(nll["baseline"] == 0);
  auto reinforce = grads_of("reinforce");
  CHECK(reinforce["policy"] > 0);
  CHECK(reinforce["classifier"] == 0);
  CHECK(reinforce["baseline"] == 0);
  // Through h_{t-1}, REINFORCE reaches the core and the glimpse network only when asked to.
  for (const char* module : {"core_h", "core_g", "patch_in", "glimpse_out", "location_in"}) {
    CAPTURE(module);
    if (reaches_core)
      CHECK(reinforce[module] > 0);
    else
      CHECK(reinforce[module] == 0);
  }
  auto baseline = grads_of("baseline");
  CHECK(baseline["baseline"] > 0);
  CHECK(baseline["policy"] == 0);
  CHECK(baseline["core_h"] == 0);
}

TEST_CASE("train.policy_lr_scale and policy_decay: the location policy's own rate and decay",
          "[glimpse][ram][train]") {
  auto config = default_glimpse_config();
  config["model"]["glimpses"] = 2;
  config["model"]["patch"] = 6;
  config["model"]["hidden"] = 16;
  config["model"]["glimpse_hidden"] = 8;
  config["model"]["location_hidden"] = 8;
  config["train"]["batch_size"] = 16;
  config["train"]["max_steps"] = 5;
  GlimpseSplits data;
  data.train = make_canvas_set(items(), 1, 0, 80, CanvasOptions());
  data.valid = make_canvas_set(items(), 2, 80, 16, CanvasOptions());
  struct Moved {
    double policy, rest, policy_norm;  // max |change| of W_l and of W_y; |W_l| after / before
  };
  // 5 Adam steps at lr 1e-3.
  auto train = [&](double scale, double decay) {
    config["train"]["policy_lr_scale"] = scale;
    config["train"]["policy_decay"] = decay;
    torch::manual_seed(5);
    GlimpseClassifier classifier(config);
    auto& ram = *classifier.model->ram;
    const auto policy = ram.policy->weight.clone(), rest = ram.classifier->weight.clone();
    const auto task = make_glimpse_task(classifier, data, config.at("train"));
    const auto dir = attnzoo::testing::scratch_dir() / fmt::format("policy-{}-{}", scale, decay);
    run_training(*task, LoopOptions::from_json(config.at("train")), dir.string(), nullptr);
    return Moved{(ram.policy->weight - policy).abs().max().item<double>(),
                 (ram.classifier->weight - rest).abs().max().item<double>(),
                 (ram.policy->weight.norm() / policy.norm()).item<double>()};
  };
  const auto plain = train(1.0, 0.0);
  CHECK(plain.policy > 1e-3);  // Adam: about lr a step
  CHECK(plain.rest > 1e-3);
  CHECK(plain.policy_norm == Approx(1.0).margin(0.2));
  const auto slow = train(1e-4, 0.0);
  CHECK(slow.policy < 1e-6);
  CHECK(slow.policy > 0);
  CHECK(slow.rest == Approx(plain.rest).epsilon(0.2));  // the others still learn at the full rate
  // Decay 100 at lr 1e-3 shrinks W_l by 10% a step: 0.9^5 = 0.59, give or take Adam's own steps.
  const auto decayed = train(1.0, 100.0);
  CHECK(decayed.policy_norm < 0.75);
  CHECK(decayed.rest == Approx(plain.rest).epsilon(0.2));
  for (const auto& [key, value] :
       {std::make_pair("policy_lr_scale", 0.0), std::make_pair("policy_decay", -1.0)}) {
    CAPTURE(key);
    auto bad = default_glimpse_config();
    bad["train"][key] = value;
    GlimpseClassifier classifier(bad);
    CHECK_THROWS_AS(make_glimpse_task(classifier, data, bad.at("train")), UserError);
  }
}

TEST_CASE("hybrid_loss adds REINFORCE and the baseline only for sampled glimpses",
          "[glimpse][ram]") {
  RamOutput cnn;
  cnn.logits = torch::randn({4, 10});
  const auto labels = torch::tensor({1, 2, 3, 4}, torch::kLong);
  std::vector<std::pair<std::string, torch::Tensor>> terms;
  const auto loss = hybrid_loss(cnn, labels, 1.0, &terms);
  CHECK(loss.item<double>() ==
        Approx(torch::nn::functional::cross_entropy(cnn.logits, labels).item<double>()));
  REQUIRE(terms.size() == 1);
  CHECK(terms[0].first == "nll");
  // A right answer rewards 1: with log-probs of 0 the surrogate vanishes and
  // the baseline's error is (1 - b)^2.
  RamOutput ram;
  ram.logits = torch::zeros({2, 10});
  ram.logits[0][1] = 5;  // right
  ram.logits[1][0] = 5;  // wrong (label 2)
  ram.log_probs = torch::zeros({2, 3});
  ram.baselines = torch::full({2, 3}, 0.25);
  terms.clear();
  hybrid_loss(ram, torch::tensor({1, 2}, torch::kLong), 1.0, &terms);
  std::map<std::string, double> t;
  for (const auto& [name, value] : terms) t[name] = value.item<double>();
  CHECK(t["reward"] == Approx(0.5));
  CHECK(t["reinforce"] == Approx(0.0));
  CHECK(t["baseline"] == Approx((0.75 * 0.75 + 0.25 * 0.25) / 2));
}

TEST_CASE("on_item: a glimpse centre on the item's 28x28 square, in pixels of the canvas",
          "[glimpse][eval]") {
  // On a 60-pixel canvas location x maps to pixel (x + 1) * 30; the item at (10, 20) covers [10,
  // 38) x [20, 48).
  auto at = [](double px, double py) {
    return torch::tensor({px / 30.0 - 1.0, py / 30.0 - 1.0}, torch::kFloat);
  };
  const auto locations = torch::stack({at(10.05, 20.05), at(37.95, 47.95), at(9.95, 30.0),
                                       at(20.0, 48.05), at(38.05, 30.0)})
                             .unsqueeze(0);  // (1,5,2)
  const auto places = torch::tensor({{10, 20}}, torch::kLong);
  const auto hits = on_item(locations, places, 60);
  REQUIRE(hits.sizes() == torch::IntArrayRef({1, 5}));
  CHECK(hits[0][0].item<bool>());
  CHECK(hits[0][1].item<bool>());
  CHECK_FALSE(hits[0][2].item<bool>());
  CHECK_FALSE(hits[0][3].item<bool>());
  CHECK_FALSE(hits[0][4].item<bool>());
}

TEST_CASE("follows_item: the slope of where a glimpse looks on where the item is",
          "[glimpse][eval]") {
  const auto places =
      torch::tensor({{0, 10}, {10, 30}, {20, 0}, {30, 20}}, torch::kLong);  // (x, y) of 4 items
  const auto centres = places.to(torch::kFloat) + 14.0;                     // their centres, pixels
  auto to_location = [](const torch::Tensor& pixels) { return pixels / 30.0 - 1.0; };
  const auto tracking = to_location(centres);  // on each item's centre
  const auto fixed = torch::zeros({4, 2});     // the canvas's centre, always
  const auto halfway =
      to_location(0.5 * centres + 0.5 * 30.0 + 3.0);  // half the way from a fixed point
  const auto locations = torch::stack({tracking, fixed, halfway}, 1);  // (4,3,2)
  const auto slopes = follows_item(locations, places, 60);
  REQUIRE(slopes.sizes() == torch::IntArrayRef({3}));
  CHECK(slopes[0].item<double>() == Approx(1.0).margin(1e-5));
  CHECK(slopes[1].item<double>() == Approx(0.0).margin(1e-5));
  CHECK(slopes[2].item<double>() == Approx(0.5).margin(1e-5));
  // Items that never move (a 28-pixel canvas): undefined.
  CHECK_FALSE(follows_item(locations, torch::zeros({4, 2}, torch::kLong), 28).defined());
}

TEST_CASE("the glimpse path figure marks every glimpse where it looked", "[glimpse][plot]") {
  const auto image = torch::zeros({28, 28}, torch::kUInt8);
  const auto locations = torch::tensor({{-0.5, -0.5}, {0.5, 0.5}}, torch::kFloat);
  const auto figure = glimpse_path_figure(image, locations, {8, 16}, "test", 280);
  REQUIRE(figure.rows == 280 + 30);
  REQUIRE(figure.cols == 280);
  // The figure is black where nothing was drawn and coloured at each glimpse's box.
  auto pixel_sum = [&](int x, int y) {
    const auto v = figure.at<cv::Vec3b>(y + 30, x);
    return static_cast<int>(v[0]) + v[1] + v[2];
  };
  CHECK(location_to_pixel(-0.5, 280) == Approx(70));
  CHECK(pixel_sum(70 - 40, 70) > 0);    // left edge of the first 8-pixel box (80 figure pixels)
  CHECK(pixel_sum(210 + 40, 210) > 0);  // right edge of the second
  CHECK(pixel_sum(270, 20) == 0);       // far from both
  CHECK_THROWS_AS(glimpse_path_figure(image, torch::zeros({3}), {8}, "x"), UserError);
}

TEST_CASE("glimpse export: the TorchScript file gives the C++ model's outputs",
          "[glimpse][export]") {
  struct Kind {
    std::string kind, core;
    int64_t scales;
  };
  // For residual attention, `core` names the mask function, or "nal".
  for (const auto& k :
       {Kind{"ram", "rnn", 3}, Kind{"ram", "rnn", 1}, Kind{"ram", "lstm", 2}, Kind{"cnn", "", 1},
        Kind{"mlp", "", 1}, Kind{"residual-attention", "mixed", 1},
        Kind{"residual-attention", "channel", 1}, Kind{"residual-attention", "spatial", 1},
        Kind{"residual-attention", "nal", 1}, Kind{"resnet", "", 1}}) {
    CAPTURE(k.kind, k.core, k.scales);
    auto config = default_glimpse_config();
    config["model"]["kind"] = k.kind;
    const bool residual = k.kind == "residual-attention" || k.kind == "resnet";
    if (!k.core.empty() && !residual) config["model"]["core"] = k.core;
    auto& r = config["model"]["residual_attention"];
    r["stem"] = 4;
    r["widths"] = {8, 8, 16};
    r["modules_per_stage"] = {1, 1, 1};
    if (k.core == "nal") r["attention"] = "nal";
    if (k.core == "channel" || k.core == "spatial") r["mask"] = k.core;
    config["model"]["glimpses"] = 3;
    config["model"]["patch"] = 6;
    config["model"]["scales"] = k.scales;
    config["model"]["hidden"] = 32;
    config["model"]["mlp"]["hidden"] = 16;
    torch::manual_seed(4);
    GlimpseClassifier classifier(config);
    if (residual) {  // BatchNorm statistics a trained network could have, so that each counts
      torch::NoGradGuard no_grad;
      for (auto& b : classifier.model->named_buffers()) {
        if (b.key().find("running_mean") != std::string::npos) b.value().normal_(0.0, 0.3);
        if (b.key().find("running_var") != std::string::npos) b.value().uniform_(0.5, 2.0);
      }
      for (auto& p : classifier.model->named_parameters())
        if (p.key().find("bn") != std::string::npos || p.key().find("head") != std::string::npos)
          p.value().data().normal_(0.0, 0.5);
    }
    const auto path = (attnzoo::testing::scratch_dir() /
                       ("glimpse-" + k.kind + k.core + std::to_string(k.scales) + ".pt"))
                          .string();
    save_export(export_glimpse(classifier), path, "glimpse", classifier.config);

    torch::jit::ExtraFilesMap extra = {{"attnzoo.json", ""}};
    auto loaded = torch::jit::load(path, torch::kCPU, extra);
    const auto record = nlohmann::json::parse(extra.at("attnzoo.json"));
    CHECK(record.at("app") == "glimpse");
    CHECK(record.at("config") == classifier.config);
    for (int64_t batch : {3, 5}) {  // any batch size
      const auto pixels = torch::randint(0, 256, {batch, 28, 28}, torch::kLong).to(torch::kUInt8);
      const auto expected = classifier.predict(pixels, 256, /*masks=*/true);
      const auto out = loaded.forward({glimpse_input(pixels)}).toTuple();
      const auto logits = out->elements()[0].toTensor();
      const auto locations = out->elements()[1].toTensor();
      const double scale = expected.logits.abs().max().item<double>();
      CHECK((logits - expected.logits).abs().max().item<double>() <= 1e-5 * std::max(1.0, scale));
      if (residual) {
        const auto masks =
            loaded.get_method("attention_masks")({glimpse_input(pixels)}).toTensorVector();
        REQUIRE(masks.size() == expected.masks.size());
        for (size_t i = 0; i < masks.size(); ++i)
          CHECK((masks[i] - expected.masks[i]).abs().max().item<double>() <= 1e-5);
      }
      if (k.kind == "ram") {
        REQUIRE(locations.sizes() == torch::IntArrayRef({batch, 3, 2}));
        CHECK(torch::allclose(locations, expected.locations, 1e-6, 1e-6));
      } else {
        CHECK(locations.sizes() == torch::IntArrayRef({batch, 0, 2}));
      }
    }
  }
}
