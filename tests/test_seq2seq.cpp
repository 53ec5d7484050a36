// The whole model: every attention kind with GRU and LSTM learns a toy task;
// padding in a batch does not change any sentence's result.
#include <catch2/catch.hpp>

#include <map>

#include "data/batching.h"
#include "data/vocab.h"
#include "models/seq2seq.h"

using namespace attnzoo;

namespace {

// Copy task: the target is the source reversed (tokens 4..11).
std::vector<Example> reverse_task(int64_t n, uint64_t seed) {
  torch::manual_seed(seed);
  std::vector<Example> data;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t len = torch::randint(2, 6, {1}).item<int64_t>();
    Example e;
    for (int64_t j = 0; j < len; ++j) e.tgt.push_back(torch::randint(4, 12, {1}).item<int64_t>());
    e.src.assign(e.tgt.rbegin(), e.tgt.rend());
    e.src.push_back(Vocab::kEos);
    data.push_back(e);
  }
  return data;
}

double mean_loss(Seq2Seq& model, const Batch& b) {
  const auto rows = b.tgt_out.ne(Vocab::kPad);
  const auto out = model->forward(b.src, b.src_lengths, b.tgt_in, 1.0, rows);
  return torch::nn::functional::cross_entropy(out.logits, b.tgt_out.masked_select(rows))
      .item<double>();
}

}  // namespace

TEST_CASE("every attention kind with GRU and LSTM trains on a toy task", "[seq2seq]") {
  const auto data = reverse_task(64, 1);
  std::vector<size_t> all(data.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  const Batch batch = collate(data, all);
  for (const std::string rnn : {"gru", "lstm"}) {
    for (const std::string attention : {"additive", "dot", "general", "none"}) {
      SECTION(rnn + "/" + attention) {
        torch::manual_seed(2);
        Seq2Seq model(Seq2SeqOptions(12, 12)
                          .embedding_size(16)
                          .encoder_hidden_size(16)
                          .decoder_hidden_size(32)
                          .decoder_layers(2)
                          .rnn(parse_choice(rnn, "rnn", cells()))
                          .attention(parse_choice(attention, "attention", attention_kinds()))
                          .readout_size(attention == "none" ? 0 : 16)
                          .dropout(0.0));
        torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(1e-2));
        const double before = mean_loss(model, batch);
        for (int step = 0; step < 40; ++step) {
          optimizer.zero_grad();
          const auto rows = batch.tgt_out.ne(Vocab::kPad);
          const auto out = model->forward(batch.src, batch.src_lengths, batch.tgt_in, 1.0, rows);
          torch::nn::functional::cross_entropy(out.logits, batch.tgt_out.masked_select(rows))
              .backward();
          optimizer.step();
        }
        const double after = mean_loss(model, batch);
        INFO("loss " << before << " -> " << after);
        CHECK(after < 0.6 * before);
        const auto weights = model->forward(batch.src, batch.src_lengths, batch.tgt_in).weights;
        CHECK(weights.sizes() == torch::IntArrayRef({64, batch.tgt_in.size(1), batch.src.size(1)}));
      }
    }
  }
}

TEST_CASE("a sentence's logits do not depend on the padding around it", "[seq2seq]") {
  torch::manual_seed(3);
  Seq2Seq model(Seq2SeqOptions(12, 12)
                    .embedding_size(8)
                    .encoder_hidden_size(8)
                    .decoder_hidden_size(8)
                    .dropout(0.0));
  model->eval();
  const auto data = reverse_task(8, 4);
  const Batch together = collate(data, {0, 1, 2, 3, 4, 5, 6, 7});
  const auto joint = model->forward(together.src, together.src_lengths, together.tgt_in).logits;
  for (size_t i = 0; i < data.size(); ++i) {
    const Batch alone = collate(data, {i});
    const auto single = model->forward(alone.src, alone.src_lengths, alone.tgt_in).logits;
    const int64_t steps = single.size(1);
    CHECK(torch::allclose(joint[i].narrow(0, 0, steps), single[0], 1e-5, 1e-6));
  }
}

TEST_CASE("decoder reset() runs again cleanly: the step uses the new cells", "[seq2seq]") {
  for (const std::string rnn : {"gru", "lstm"}) {
    INFO(rnn);
    torch::manual_seed(3);
    Decoder decoder(DecoderOptions(12, 5, 8, 8)
                        .rnn(parse_choice(rnn, "rnn", cells()))
                        .num_layers(2)
                        .attention(AttentionKind::kAdditive));
    decoder->eval();
    torch::NoGradGuard no_grad;
    const auto values = torch::randn({3, 5, 8}), summary = torch::randn({3, 8});
    const auto mask = torch::ones({3, 5}, torch::kBool);
    const auto tokens = torch::tensor({4, 7, 11}, torch::kLong);
    const auto logits = [&] {
      const Memory memory = decoder->attention->prepare(values, mask, summary);
      return decoder->project(
          decoder->step(tokens, decoder->initial_state(summary), memory).features);
    };
    const auto before = logits();
    std::map<std::string, torch::Tensor> saved;
    for (const auto& p : decoder->named_parameters()) saved[p.key()] = p.value().clone();

    decoder->reset();
    const auto params = decoder->named_parameters();
    CHECK(params.size() == saved.size());  // the same layers, no leftovers
    for (const auto& p : params) {
      REQUIRE(saved.count(p.key()));
      p.value().copy_(saved[p.key()]);
    }
    CHECK(torch::allclose(logits(), before));  // the old weights give the old answer
    // The cells the step runs are the registered ones: changing their weights
    // changes the answer (before the fix the step still ran the old cells).
    for (const auto& p : params)
      if (p.key().rfind("cells.", 0) == 0) p.value().mul_(2);
    CHECK_FALSE(torch::allclose(logits(), before));
  }
}
