// The Show, Attend and Tell decoder: shapes, the doubly stochastic penalty,
// teacher forcing against stepping, and search over it.
#include <catch2/catch.hpp>

#include <cmath>

#include "data/error.h"
#include "data/fashion_mnist.h"
#include "data/vocab.h"
#include "eval/heatmap.h"
#include "models/captioner.h"
#include "tasks/caption_config.h"
#include "tasks/captioner_training.h"

using namespace attnzoo;

namespace {

CaptionDecoder small_decoder(bool gate = true, CaptionReadout output = CaptionReadout::kContext) {
  torch::manual_seed(3);
  CaptionDecoder d(CaptionDecoderOptions(/*vocab*/ 12, /*D*/ 8)
                       .embedding_size(6)
                       .hidden_size(10)
                       .attention_size(7)
                       .gate(gate)
                       .output(output)
                       .dropout(0.0));
  d->eval();
  return d;
}

// (B,T) int64 token ids.
torch::Tensor ids(std::initializer_list<std::initializer_list<int64_t>> rows) {
  std::vector<int64_t> flat;
  for (const auto& r : rows) flat.insert(flat.end(), r.begin(), r.end());
  const auto b = static_cast<int64_t>(rows.size());
  return torch::tensor(flat, torch::kLong).view({b, static_cast<int64_t>(flat.size()) / b});
}

}  // namespace

TEST_CASE("caption decoder shapes, attention weights and the gate", "[captioner]") {
  auto d = small_decoder();
  const auto features = torch::randn({2, 6, 8});
  const auto captions = ids({{Vocab::kBos, 5, 6, 7}, {Vocab::kBos, 8, Vocab::kPad, Vocab::kPad}});
  const auto rows = captions.ne(Vocab::kPad);
  const auto out = d->forward(features, captions, rows);
  CHECK(out.logits.sizes() == torch::IntArrayRef({6, 12}));
  CHECK(out.alphas.sizes() == torch::IntArrayRef({2, 4, 6}));
  CHECK(torch::allclose(out.alphas.sum(2), torch::ones({2, 4}), 1e-5, 1e-6));
  CHECK(out.gates.gt(0).all().item<bool>());
  CHECK(out.gates.lt(1).all().item<bool>());
  const auto ungated = small_decoder(false)->forward(features, captions, rows);
  CHECK(torch::equal(ungated.gates, torch::ones({2, 4})));
  CHECK_THROWS(d->forward(torch::randn({2, 6, 5}), captions, rows));
}

TEST_CASE("doubly stochastic penalty: lambda * sum_i (1 - sum_t alpha_ti)^2 over real steps",
          "[captioner]") {
  // One image, two steps, two locations; both steps look at location 0.
  const auto alphas = torch::tensor({{{1.0f, 0.0f}, {1.0f, 0.0f}}});
  const auto both = torch::tensor({{true, true}});
  const auto first = torch::tensor({{true, false}});
  CHECK(doubly_stochastic_penalty(alphas, both, 1.0).item<double>() ==
        Approx(2.0));  // (1-2)^2 + (1-0)^2
  CHECK(doubly_stochastic_penalty(alphas, first, 1.0).item<double>() == Approx(1.0));  // 0 + 1
  CHECK(doubly_stochastic_penalty(alphas, both, 0.5).item<double>() == Approx(1.0));
  // Spreading attention evenly over as many steps as locations costs nothing.
  const auto even = torch::full({1, 2, 2}, 0.5f);
  CHECK(doubly_stochastic_penalty(even, both, 1.0).item<double>() == Approx(0.0));

  // Its gradient reaches the attention's parameters.
  auto d = small_decoder();
  const auto captions = ids({{Vocab::kBos, 5, 6}});
  const auto out = d->forward(torch::randn({1, 6, 8}), captions, captions.ne(Vocab::kPad));
  doubly_stochastic_penalty(out.alphas, captions.ne(Vocab::kPad), 1.0).backward();
  CHECK(d->attention->query_proj->weight.grad().abs().sum().item<double>() > 0);
}

TEST_CASE("attention entropy: -sum_i alpha log alpha, averaged over real steps", "[captioner]") {
  // Step 1 looks at one location (entropy 0), step 2 evenly at four (log 4).
  const auto alphas = torch::tensor({{{1.0f, 0.0f, 0.0f, 0.0f}, {0.25f, 0.25f, 0.25f, 0.25f}}});
  CHECK(attention_entropy(alphas, torch::tensor({{true, true}})).item<double>() ==
        Approx(std::log(4.0) / 2));
  CHECK(attention_entropy(alphas, torch::tensor({{true, false}})).item<double>() == Approx(0.0));
  CHECK(attention_entropy(alphas, torch::tensor({{false, true}})).item<double>() ==
        Approx(std::log(4.0)));
  // Its gradient reaches the attention's parameters and lowers the entropy.
  auto d = small_decoder();
  const auto captions = ids({{Vocab::kBos, 5, 6}});
  const auto features = torch::randn({1, 6, 8});
  const auto rows = captions.ne(Vocab::kPad);
  const auto before = attention_entropy(d->forward(features, captions, rows).alphas, rows);
  before.backward();
  CHECK(d->attention->query_proj->weight.grad().abs().sum().item<double>() > 0);
  torch::optim::SGD sgd(d->parameters(), torch::optim::SGDOptions(0.5));
  sgd.step();
  const auto after = attention_entropy(d->forward(features, captions, rows).alphas, rows);
  CHECK(after.item<double>() < before.item<double>());
}

TEST_CASE("grid positions: sin and cos of each location's centre, appended by encoder.positions",
          "[captioner]") {
  const auto p = grid_positions(2, 4, 2);  // 2 rows, 4 columns, 2 frequencies
  REQUIRE(p.sizes() == torch::IntArrayRef({8, 8}));
  CHECK(grid_positions(3, 3, 0).sizes() == torch::IntArrayRef({9, 0}));
  // Location 1 is row 0, column 1: x = -0.25, y = -0.5; channels sin/cos(pi x), sin/cos(pi y), then
  // 2 pi.
  const double x = -0.25, y = -0.5;
  const std::vector<double> want = {std::sin(M_PI * x),     std::cos(M_PI * x),
                                    std::sin(M_PI * y),     std::cos(M_PI * y),
                                    std::sin(2 * M_PI * x), std::cos(2 * M_PI * x),
                                    std::sin(2 * M_PI * y), std::cos(2 * M_PI * y)};
  for (size_t c = 0; c < want.size(); ++c)
    CHECK(p[1][static_cast<int64_t>(c)].item<double>() == Approx(want[c]).margin(1e-6));
  // Every location gets its own code.
  CHECK(torch::cdist(p, p).add(torch::eye(8) * 10).min().item<double>() > 0.1);

  // The captioner's annotation vectors: the ResNet's D features, then the 4F channels.
  auto config = default_caption_config();
  config["encoder"]["positions"] = 3;
  config["data"]["scenes"]["canvas"] = 64;
  CaptionNet net(CaptionNetOptions::from_json(config, 10));
  net->eval();
  int64_t h = 0, w = 0;
  torch::NoGradGuard no_grad;
  const auto images = torch::randn({2, 3, 64, 64});
  const auto values = net->encode(images, &h, &w);
  const int64_t d = net->encoder->feature_size();
  REQUIRE(values.sizes() == torch::IntArrayRef({2, h * w, d + 12}));
  CHECK(net->decoder->options.feature_size() == d + 12);
  CHECK(torch::equal(values.slice(2, 0, d), net->encoder->locations(images)));
  CHECK(torch::allclose(values[1].slice(1, d), grid_positions(h, w, 3)));
  config["encoder"]["positions"] = -1;
  CHECK_THROWS_WITH(CaptionNetOptions::from_json(config, 10), Catch::Contains("encoder.positions"));
}

TEST_CASE(
    "output mixture: p(y) = sum_i alpha_i p(y | location i), one location is the context output",
    "[captioner]") {
  torch::NoGradGuard no_grad;
  auto d = small_decoder(true, CaptionReadout::kMixture);
  const auto features = torch::randn({2, 5, 8});
  const auto captions = ids({{Vocab::kBos, 4, 9}, {Vocab::kBos, 7, Vocab::kPad}});
  const auto out = d->forward(features, captions);  // (B,T,V) log-probabilities
  CHECK(torch::allclose(out.logits.exp().sum(-1), torch::ones({2, 3}), 1e-5, 1e-6));
  // The first step by hand: each location's deep output on its own, mixed by alpha.
  const auto memory = d->prepare(features);
  const auto state = d->initial_state(memory);
  const auto attended = d->attention->forward(state.h, memory);
  const auto gate = torch::sigmoid(d->gate(state.h));
  const auto e = d->embedding(captions.select(1, 0));
  const auto [h, c] =
      d->cell(torch::cat({e, gate * attended.context}, 1), std::make_tuple(state.h, state.c));
  const auto each =
      (e + d->out_h(h)).unsqueeze(1) + gate.unsqueeze(1) * d->out_z(features);  // (B,L,E)
  const auto p = (torch::softmax(d->out(each), -1) * attended.weights.unsqueeze(2)).sum(1);
  CHECK(torch::allclose(out.logits.select(1, 0).exp(), p, 1e-5, 1e-6));
  // With one location alpha = 1 and the context is that location: the mixture is eq. 7's softmax.
  const auto one = torch::randn({2, 1, 8});
  auto context = small_decoder(true, CaptionReadout::kContext);
  CHECK(torch::allclose(d->forward(one, captions).logits,
                        torch::log_softmax(context->forward(one, captions).logits, -1), 1e-5,
                        1e-6));
  CHECK_THROWS_AS(CaptionDecoder(CaptionDecoderOptions(12, 8)
                                     .attention(AttentionKind::kHard)
                                     .output(CaptionReadout::kMixture)),
                  UserError);
  CHECK_THROWS_WITH(parse_choice(std::string("sum"), "model.output", caption_readouts()),
                    "model.output: \"sum\" is not one of context, mixture");
}

TEST_CASE("teacher forcing equals stepping, and search runs over the stepper", "[captioner]") {
  for (const auto& [name, output] : caption_readouts()) {
    CAPTURE(name);
    auto d = small_decoder(true, output);
    torch::NoGradGuard no_grad;
    const auto features = torch::randn({3, 5, 8});
    const auto captions = ids({{Vocab::kBos, 4, 9}, {Vocab::kBos, 7, 7}, {Vocab::kBos, 11, 5}});
    const auto out = d->forward(features, captions);  // (B,T,V)
    CaptionStepper stepper(d, features);
    for (int64_t t = 0; t < captions.size(1); ++t) {
      torch::Tensor weights;
      const auto log_probs = stepper.step(captions.select(1, t), &weights);
      CHECK(
          torch::allclose(log_probs, torch::log_softmax(out.logits.select(1, t), -1), 1e-5, 1e-6));
      CHECK(torch::allclose(weights, out.alphas.select(1, t), 1e-5, 1e-6));
    }
    SearchOptions o;
    o.bos = Vocab::kBos;
    o.eos = Vocab::kEos;
    const std::vector<int64_t> limits(3, 6);
    CaptionStepper greedy_stepper(d, features), beam1_stepper(d, features),
        beam_stepper(d, features);
    const auto greedy = greedy_search(greedy_stepper, limits, o);
    const auto beam1 = beam_search(beam1_stepper, limits, o);
    o.beam = 4;
    o.n_best = 2;
    const auto beam = beam_search(beam_stepper, limits, o);
    REQUIRE(greedy.size() == 3);
    REQUIRE(beam.size() == 3);
    for (size_t b = 0; b < 3; ++b) {
      CHECK(greedy[b][0].tokens.size() <= 6);
      CHECK(greedy[b][0].attention.size(1) == 5);
      CHECK(beam1[b][0].tokens == greedy[b][0].tokens);  // a beam of one is greedy search
      REQUIRE(beam[b].size() == 2);
      CHECK(beam[b][0].score >= beam[b][1].score);
      CHECK(beam[b][0].tokens.size() <= 6);
    }
  }
}

TEST_CASE("pointing game and item counts on a hand-made caption", "[captioner]") {
  // A 64x64 image, 4x4 grid (16-pixel cells); a bag in the top-left cell, a
  // boot in the bottom-right one.
  CaptionImage image;
  image.pixels = torch::zeros({64, 64}, torch::kUInt8);
  image.items = {{8, "bag", {0, 0, 16, 16}}, {9, "boot", {48, 48, 64, 64}}};
  CaptionResult r;
  r.words = {"a", "bag", "and", "a", "boot", "and", "a", "coat"};
  r.grid_h = r.grid_w = 4;
  r.attention = torch::full({8, 16}, 1.0f / 16);
  r.attention[1] = torch::zeros({16});
  r.attention[1][0] = 1.0f;  // "bag" looks at cell (0,0): inside the bag's box
  r.attention[4] = torch::zeros({16});
  r.attention[4][5] = 1.0f;  // "boot" looks at cell (1,1): not in the boot's box
  PointingCounts p;
  pointing_game(word_attention(r), image, &p);
  CHECK(p.total == 2);  // "coat" names no item of this image
  CHECK(p.hits == 1);
  CHECK(p.near == 0);  // the boot's miss at (24, 24) is more than a cell from its box
  CHECK(p.on_other_item == 0);
  CHECK(p.total_by_order ==
        std::vector<int64_t>{1, 1});  // "bag" is the first item named, "boot" the second
  CHECK(p.hits_by_order == std::vector<int64_t>{1, 0});
  // "boot" looking at one cell: the counts of the whole caption.
  const auto boot_at = [&](int64_t cell) {
    r.attention[4] = torch::zeros({16});
    r.attention[4][cell] = 1.0f;
    PointingCounts counts;
    pointing_game(word_attention(r), image, &counts);
    return counts;
  };
  p = boot_at(0);  // "boot" looks at the bag
  CHECK(p.hits == 1);
  CHECK(p.on_other_item == 1);
  CHECK(p.near == 0);
  p = boot_at(10);  // cell (2,2), centre (40, 40): within one cell of the boot's box
  CHECK(p.hits == 1);
  CHECK(p.near == 1);
  CHECK(p.on_other_item == 0);
  r.attention[4] = torch::zeros({16});
  r.attention[4][15] = 1.0f;  // cell (3,3): the boot
  p = {};
  pointing_game(word_attention(r), image, &p);
  CHECK(p.hits == 2);

  // Where a location looks is its receptive field's centre: a shift of a
  // quarter cell up and left moves "boot"'s cell (3,3) from (56, 56) to (52, 52),
  // still in its box, and the bag's cell (0,0) from (8, 8) to (4, 4).
  r.shift_x = r.shift_y = -0.25;
  p = {};
  pointing_game(word_attention(r), image, &p);
  CHECK(p.hits == 2);
  r.attention[4] = torch::zeros({16});
  r.attention[4][10] =
      1.0f;  // cell (2,2), centre (40, 40): at (36, 36) after the shift, outside the boot
  p = {};
  pointing_game(word_attention(r), image, &p);
  CHECK(p.hits == 1);
  r.shift_x = r.shift_y = 0.6;  // cell (2,2) shifted down and right looks at (49.6, 49.6): the boot
  p = {};
  pointing_game(word_attention(r), image, &p);
  CHECK(p.hits ==
        1);  // the bag's cell (0,0) now looks at (17.6, 17.6), outside its box; the boot's hits
  r.shift_x = r.shift_y = 0.0;

  ItemCounts counts;
  count_items(r.words, image, fashion_mnist_classes(), &counts);
  CHECK(counts.items == 2);
  CHECK(counts.named == 2);
  CHECK(counts.name_words == 3);  // bag, boot, coat
  CHECK(counts.correct_words == 2);
}

TEST_CASE("attention heatmaps: one panel per word, hottest where the model looked", "[captioner]") {
  const auto image = torch::full({64, 64}, 128, torch::kUInt8);
  auto attention = torch::zeros({2, 16});
  attention[0][0] = 1.0f;   // top-left cell
  attention[1][15] = 1.0f;  // bottom-right cell
  HeatmapOptions o;
  o.panel = 100;
  o.columns = 3;
  const cv::Mat fig = attention_heatmaps(image, {"bag", "boot"}, attention, 4, 4, o);
  REQUIRE(fig.cols == 3 * 104 + 4);
  REQUIRE(fig.rows == 100 + o.label_height + 4 + 4);
  // In each word's panel, the attended corner is redder (BGR: R - B) than the opposite one.
  auto redness = [&](int panel, int x, int y) {
    const auto px = fig.at<cv::Vec3b>(4 + y, 4 + panel * 104 + x);
    return static_cast<int>(px[2]) - static_cast<int>(px[0]);
  };
  CHECK(redness(1, 12, 12) > redness(1, 87, 87) + 100);
  CHECK(redness(2, 87, 87) > redness(2, 12, 12) + 100);
  CHECK_THROWS(attention_heatmaps(image, {"one"}, attention, 4, 4, o));
  // Shifted by a cell right and down, the top-left cell's heat sits on cell (1,1).
  o.shift_x = o.shift_y = 1.0;
  const cv::Mat moved = attention_heatmaps(image, {"bag", "boot"}, attention, 4, 4, o);
  auto moved_redness = [&](int x, int y) {
    const auto px = moved.at<cv::Vec3b>(4 + y, 4 + 104 + x);
    return static_cast<int>(px[2]) - static_cast<int>(px[0]);
  };
  CHECK(moved_redness(37, 37) > moved_redness(12, 12) + 100);
}

TEST_CASE("a location of the ResNet map looks where location_offset says", "[captioner][resnet]") {
  // The receptive field of one interior location, read off the gradient: its
  // support's bounding box is centred on S*o + 0.5, not on the cell's centre.
  torch::manual_seed(5);
  const int64_t last_stage = GENERATE(2, 3);
  ResNet net(ResNetOptions(18).width(8).last_stage(last_stage));
  net->eval();
  const int64_t side = 320;
  auto images = torch::randn({1, 3, side, side}).requires_grad_();
  const auto map = net->forward(images);
  const int64_t stride = side / map.size(2);
  REQUIRE(stride == (int64_t{1} << (last_stage + 1)));
  const int64_t o = map.size(2) / 2;
  map.select(2, o).select(2, o).sum().backward();
  const auto support = images.grad().abs().sum(0).sum(0).gt(0);  // (side, side)
  const auto rows = support.any(1).nonzero().flatten(), cols = support.any(0).nonzero().flatten();
  REQUIRE(rows.size(0) > 0);
  const int64_t top = rows[0].item<int64_t>(), bottom = rows[-1].item<int64_t>();
  const int64_t left = cols[0].item<int64_t>(), right = cols[-1].item<int64_t>();
  REQUIRE(top > 0);  // the field lies inside the image
  REQUIRE(bottom < side - 1);
  const double centre_y = 0.5 * static_cast<double>(top + bottom + 1);
  const double centre_x = 0.5 * static_cast<double>(left + right + 1);
  const double expected =
      (static_cast<double>(o) + 0.5) * static_cast<double>(stride) + net->location_offset();
  CAPTURE(last_stage, stride, centre_x, centre_y, expected);
  CHECK(std::abs(centre_y - expected) <= 1.5);
  CHECK(std::abs(centre_x - expected) <= 1.5);
  CHECK(std::abs(centre_x - (static_cast<double>(o) + 0.5) * static_cast<double>(stride)) >
        2.5);  // not the cell's centre
}
