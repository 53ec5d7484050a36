// Each exportable module against its exported self, over every option it has
// (not only the combinations an app uses): the module mirrored into a
// TorchScript module with its own source (models/*_script.cpp), run on the same
// inputs as the C++ module. Gaps are relative to the scale of the C++ output.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <string>
#include <vector>

#include "data/vocab.h"
#include "export/export.h"
#include "export/sources.h"
#include "models/attention.h"
#include "models/captioner.h"
#include "models/decoder.h"
#include "models/encoder.h"
#include "models/resnet.h"
#include "models/script.h"

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

// Every attention kind, hard attention once for each way it evaluates.
std::vector<std::pair<AttentionKind, HardEval>> attention_cases() {
  std::vector<std::pair<AttentionKind, HardEval>> out;
  for (const auto& [name, kind] : attention_kinds())
    for (const auto& [eval_name, hard_eval] : hard_evals())
      if (kind == AttentionKind::kHard || hard_eval == HardEval::kArgmax)
        out.emplace_back(kind, hard_eval);
  return out;
}

}  // namespace

TEST_CASE("attention: every kind as its exported self", "[export][modules]") {
  // Every kind the zoo has (a new one is tested here by being listed), hard
  // attention with each way it evaluates.
  for (const auto& [kind, hard_eval] : attention_cases()) {
    INFO(choice_name(kind, attention_kinds()) << " " << choice_name(hard_eval, hard_evals()));
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
  for (const auto& [rnn_name, rnn] : cells()) {
    for (const int64_t layers : {1, 2}) {
      for (const bool bidirectional : {true, false}) {
        INFO(rnn_name << " layers " << layers << " bidirectional " << bidirectional);
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
  for (const auto& [rnn_name, rnn] : cells()) {
    for (const int64_t layers : {1, 2}) {
      for (const int64_t readout : {0, 4}) {
        for (const auto& [kind_name, kind] : attention_kinds()) {
          INFO(rnn_name << " layers " << layers << " readout " << readout << " " << kind_name);
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
  CHECK(cases == static_cast<int64_t>(8 * attention_kinds().size()));
}

TEST_CASE("caption decoder: every attention kind, gate and output, as exported",
          "[export][modules]") {
  int64_t cases = 0;
  int64_t expected = 0;  // every attention kind but none, with each gate and output
  for (const auto& [kind, hard_eval] : attention_cases()) {
    if (kind == AttentionKind::kNone) continue;  // captioning needs attention
    for (const bool gate : {true, false}) {
      for (const auto& [output_name, output] : caption_readouts()) {
        // refused by the decoder: the mixture sums over every location
        if (kind == AttentionKind::kHard && output == CaptionReadout::kMixture) continue;
        ++expected;
        INFO(choice_name(kind, attention_kinds()) << " " << choice_name(hard_eval, hard_evals())
                                                  << " gate " << gate << " " << output_name);
        torch::manual_seed(17);
        // dot attention needs the state as wide as the annotation vectors: 8.
        CaptionDecoder decoder(CaptionDecoderOptions(12, 8)
                                   .embedding_size(5)
                                   .hidden_size(8)
                                   .attention_size(6)
                                   .attention(kind)
                                   .hard_eval(hard_eval)
                                   .gate(gate)
                                   .output(output)
                                   .dropout(0.3));
        decoder->eval();
        torch::NoGradGuard no_grad;
        const auto values = torch::randn({3, 6, 8});
        CaptionStepper stepper(decoder, values);

        auto module = mirror(*decoder, "caption_decoder");
        module.register_attribute("pad", c10::IntType::get(), Vocab::kPad);
        module.define(kLinearSource);
        module.define(attention_source(*decoder->attention, "self.attention"));
        module.define(caption_decoder_source(*decoder, "self"));
        const auto start = module.run_method("caption_start", values).toTuple();
        auto memory = start->elements()[0];
        auto state = start->elements()[1];
        // Two steps, so that the state the first one leaves is checked too.
        for (const auto& tokens : {torch::tensor({2, 2, 2}), torch::tensor({4, 9, 11})}) {
          torch::Tensor want_weights;
          const auto want = stepper.step(tokens, &want_weights);
          const auto got = module.run_method("step", tokens, memory, state).toTuple();
          CHECK(scaled_gap(got->elements()[0].toTensor(), want) < kTolerance);
          CHECK(scaled_gap(got->elements()[1].toTensor(), want_weights) < kTolerance);
          state = got->elements()[2];
        }
        ++cases;
      }
    }
  }
  CHECK(cases == expected);
  CHECK(cases >= 16);
}

TEST_CASE("ResNet: every depth, last stage and grid, as exported", "[export][modules]") {
  int64_t cases = 0;
  for (const int64_t depth : {18, 34, 50}) {
    for (const int64_t last_stage : {3, 4}) {
      for (const int64_t grid : {0, 2}) {
        INFO("depth " << depth << " last stage " << last_stage << " grid " << grid);
        torch::manual_seed(19);
        ResNet resnet(ResNetOptions(depth).width(8).last_stage(last_stage).grid(grid));
        {
          // Statistics away from (0, 1), so that a BatchNorm exported wrong shows.
          torch::NoGradGuard no_grad;
          for (auto& buffer : resnet->named_buffers()) {
            if (buffer.key().find("running_mean") != std::string::npos)
              buffer.value().uniform_(-0.5, 0.5);
            if (buffer.key().find("running_var") != std::string::npos)
              buffer.value().uniform_(0.5, 2.0);
          }
        }
        resnet->eval();
        torch::NoGradGuard no_grad;
        const auto images = torch::randn({2, 3, 64, 64});
        const auto want = resnet->locations(images);

        auto module = mirror(*resnet, "resnet");
        module.define(resnet_source(*resnet, "self"));
        const auto got = module.run_method("resnet", images).toTensor();
        REQUIRE(got.sizes() == want.sizes());
        // Up to 17 blocks of float32 convolutions: a looser bound than one layer's.
        CHECK(scaled_gap(got, want) < 1e-4);
        ++cases;
      }
    }
  }
  CHECK(cases == 12);
}
