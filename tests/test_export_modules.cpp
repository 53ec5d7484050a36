// Each exportable module against its exported self, over every option it has
// (not only the combinations an app uses): the module mirrored into a
// TorchScript module with its source from export/sources.h, run on the same
// inputs as the C++ module. Gaps are relative to the scale of the C++ output.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <string>
#include <vector>

#include "export/export.h"
#include "export/sources.h"
#include "models/attention.h"
#include "models/decoder.h"
#include "models/encoder.h"

using namespace attnzoo;

namespace {

constexpr double kTolerance = 1e-5;  // float32 arithmetic in another order

double scaled_gap(const torch::Tensor& ours, const torch::Tensor& reference) {
  if (reference.numel() == 0) return ours.numel() == 0 ? 0.0 : 1.0;
  const double scale = std::max(reference.abs().max().item<double>(), 1e-6);
  return (ours - reference).abs().max().item<double>() / scale;
}

// Three rows of 5, 3 and 1 real steps.
torch::Tensor lengths() { return torch::tensor({5, 3, 1}, torch::kLong); }
torch::Tensor mask() { return torch::arange(5).unsqueeze(0) < lengths().unsqueeze(1); }

std::vector<torch::Tensor> as_list(const c10::IValue& v) {
  std::vector<torch::Tensor> out;
  for (const auto& t : v.toTensorList()) out.push_back(t);
  return out;
}

}  // namespace

TEST_CASE("attention: every kind as its exported self", "[export][modules]") {
  const std::vector<std::pair<std::string, std::string>> kinds = {
      {"additive", "argmax"}, {"dot", "argmax"},  {"general", "argmax"},
      {"none", "argmax"},     {"hard", "argmax"}, {"hard", "expectation"}};
  for (const auto& [kind, hard_eval] : kinds) {
    INFO(kind << " " << hard_eval);
    torch::manual_seed(7);
    Attention attention(AttentionOptions(kind, 8, 8).hidden_size(6).hard_eval(hard_eval));
    attention->eval();
    torch::NoGradGuard no_grad;
    const auto values = torch::randn({3, 5, 8});
    const auto summary = torch::randn({3, 8}), query = torch::randn({3, 8});
    const Memory memory = attention->prepare(values, mask(), summary);
    const auto want = attention->forward(query, memory);

    auto module = mirror(*attention, "attention");
    module.define(kLinearSource);
    module.define(attention_source(*attention, "self"));
    const auto keys = module.run_method("keys", values).toTensor();
    CHECK(scaled_gap(keys, memory.keys) < kTolerance);
    const auto got = module.run_method("attend", query, values, keys, mask(), summary).toTuple();
    CHECK(scaled_gap(got->elements()[0].toTensor(), want.context) < kTolerance);
    CHECK(scaled_gap(got->elements()[1].toTensor(), want.weights) < kTolerance);
  }
}

TEST_CASE("encoder: GRU and LSTM, one and two layers, one and two directions, as exported",
          "[export][modules]") {
  for (const std::string rnn : {"gru", "lstm"}) {
    for (const int64_t layers : {1, 2}) {
      for (const bool bidirectional : {true, false}) {
        INFO(rnn << " layers " << layers << " bidirectional " << bidirectional);
        torch::manual_seed(11);
        Encoder encoder(EncoderOptions(0, 4, 6)
                            .rnn(rnn)
                            .num_layers(layers)
                            .bidirectional(bidirectional)
                            .dropout(0.3));
        encoder->eval();
        torch::NoGradGuard no_grad;
        const auto x = torch::randn({3, 5, 4});
        const auto want = encoder->forward_embedded(x, lengths());

        auto module = mirror(*encoder, "encoder");
        module.define(encoder_source(*encoder, "self"));
        const auto got = module.run_method("encode_steps", x, lengths()).toTuple();
        CHECK(scaled_gap(got->elements()[0].toTensor(), want.outputs) < kTolerance);
        CHECK(scaled_gap(got->elements()[1].toTensor(), want.summary) < kTolerance);
      }
    }
  }
}

TEST_CASE("decoder: every cell, depth, readout and attention kind, as exported",
          "[export][modules]") {
  int64_t cases = 0;
  for (const std::string rnn : {"gru", "lstm"}) {
    for (const int64_t layers : {1, 2}) {
      for (const int64_t readout : {0, 4}) {
        for (const std::string kind : {"additive", "dot", "general", "none", "hard"}) {
          INFO(rnn << " layers " << layers << " readout " << readout << " " << kind);
          torch::manual_seed(13);
          // dot attention needs the decoder's state as wide as the memory: 8.
          Decoder decoder(DecoderOptions(12, 5, 8, 8)
                              .rnn(rnn)
                              .num_layers(layers)
                              .readout_size(readout)
                              .attention(kind)
                              .attention_size(6)
                              .dropout(0.3));
          decoder->eval();
          torch::NoGradGuard no_grad;
          const auto values = torch::randn({3, 5, 8}), summary = torch::randn({3, 8});
          const auto tokens = torch::tensor({4, 7, 11}, torch::kLong);
          const Memory memory = decoder->attention->prepare(values, mask(), summary);
          const DecoderState state = decoder->initial_state(summary);
          const auto want = decoder->step(tokens, state, memory);
          const auto want_logits = decoder->project(want.features);

          auto module = mirror(*decoder, "decoder");
          module.define(kLinearSource);
          module.define(attention_source(*decoder->attention, "self.attention"));
          module.define(decoder_source(*decoder, "self"));
          const auto got_state = as_list(module.run_method("initial_state", summary));
          std::vector<torch::Tensor> want_state = state.h;
          want_state.insert(want_state.end(), state.c.begin(), state.c.end());
          REQUIRE(got_state.size() == want_state.size());
          for (size_t i = 0; i < want_state.size(); ++i)
            CHECK(scaled_gap(got_state[i], want_state[i]) < kTolerance);

          const auto keys = module.run_method("keys", values).toTensor();
          const c10::List<torch::Tensor> memory_list({values, keys, mask(), summary});
          const c10::List<torch::Tensor> state_list(got_state);
          const auto e = decoder->embedding->forward(tokens);
          const auto got = module.run_method("decode_step", e, memory_list, state_list).toTuple();
          const auto features = got->elements()[0].toTensor();
          CHECK(scaled_gap(features, want.features) < kTolerance);
          CHECK(scaled_gap(got->elements()[1].toTensor(), want.weights) < kTolerance);
          const auto next = as_list(got->elements()[2]);
          std::vector<torch::Tensor> want_next = want.state.h;
          want_next.insert(want_next.end(), want.state.c.begin(), want.state.c.end());
          REQUIRE(next.size() == want_next.size());
          for (size_t i = 0; i < want_next.size(); ++i)
            CHECK(scaled_gap(next[i], want_next[i]) < kTolerance);
          CHECK(scaled_gap(module.run_method("project", features).toTensor(), want_logits) <
                kTolerance);
          ++cases;
        }
      }
    }
  }
  CHECK(cases == 40);
}
