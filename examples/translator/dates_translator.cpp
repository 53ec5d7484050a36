// Trains a small attention translator on the embedded dates task through
// attnzoo's public headers, then translates a few held-out dates.
//   dates_translator [--steps N] [--seed S] [--tokenizer char|word|bpe|unigram]
// Prints the loss of the first and last 20 steps and the translations.
#include <attnzoo/data/batching.h>
#include <attnzoo/data/dates.h>
#include <attnzoo/data/tokenizer.h>
#include <attnzoo/data/vocab.h>
#include <attnzoo/models/search.h>
#include <attnzoo/models/seq2seq.h>
#include <torch/torch.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

namespace az = attnzoo;

namespace {

int usage(const char* program, const std::string& why) {
  std::fprintf(stderr, "usage: %s [--steps N] [--seed S] [--tokenizer %s]\n%s: error: %s\n",
               program, "char|word|bpe|unigram", program, why.c_str());
  return 2;
}

// The whole of `text` as a number from lo up; false for "x", "3x", "-1", "".
bool parse_count(const char* text, long long lo, long long* out) {
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(text, &end, 10);
  if (end == text || *end != '\0' || errno != 0 || v < lo) return false;
  *out = v;
  return true;
}

int run(int argc, char** argv);

}  // namespace

// A user's mistake is one line and exit status 2, an error inside LibTorch or
// attnzoo one line and status 1: never an abort.
int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: error: %s\n", argv[0], e.what());
    return 1;
  }
}

namespace {

int run(int argc, char** argv) {
  long long steps = 300, seed = 1;
  az::TokenizerOptions tokens;
  tokens.kind = "char";
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag != "--steps" && flag != "--seed" && flag != "--tokenizer")
      return usage(argv[0], "unknown argument " + flag);
    if (i + 1 >= argc) return usage(argv[0], flag + " needs a value");
    const char* value = argv[++i];
    if (flag == "--steps" && !parse_count(value, 1, &steps))
      return usage(argv[0], std::string("--steps: expected a whole number >= 1, not ") + value);
    if (flag == "--seed" && !parse_count(value, 0, &seed))
      return usage(argv[0], std::string("--seed: expected a whole number >= 0, not ") + value);
    if (flag == "--tokenizer") {
      tokens.kind = value;
      if (tokens.kind != "char" && tokens.kind != "word" && tokens.kind != "bpe" &&
          tokens.kind != "unigram")
        return usage(argv[0],
                     "--tokenizer: expected char, word, bpe or unigram, not " + tokens.kind);
    }
  }
  torch::manual_seed(seed);

  // Data: (human date, ISO date) pairs; one tokenizer for both sides,
  // SentencePiece ones trained here on both sides' text.
  const auto pairs = az::generate_dates(4000, static_cast<uint64_t>(seed));
  std::vector<std::string> text;
  for (const auto& p : pairs) text.insert(text.end(), {p.src, p.tgt});
  tokens.vocab_size = 200;
  const auto tokenizer = az::make_tokenizer(tokens, "", &text);
  const auto held_out = az::generate_dates(3, static_cast<uint64_t>(seed) + 1000);
  std::vector<std::vector<std::string>> src_tokens, tgt_tokens;
  for (const auto& p : pairs) {
    src_tokens.push_back(tokenizer->tokenize(p.src));
    tgt_tokens.push_back(tokenizer->tokenize(p.tgt));
  }
  const auto src_vocab = az::Vocab::build(src_tokens);
  const auto tgt_vocab = az::Vocab::build(tgt_tokens);
  std::vector<az::Example> examples;
  for (size_t i = 0; i < pairs.size(); ++i) {
    auto src = src_vocab.encode(src_tokens[i]);
    src.push_back(az::Vocab::kEos);
    examples.push_back({src, tgt_vocab.encode(tgt_tokens[i])});
  }

  // Model: a bidirectional GRU encoder and a decoder with additive attention.
  az::Seq2Seq model(az::Seq2SeqOptions(src_vocab.size(), tgt_vocab.size())
                        .embedding_size(32)
                        .encoder_hidden_size(64)
                        .decoder_hidden_size(64)
                        .dropout(0.0)
                        .attention(az::AttentionKind::kAdditive));
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(3e-3));

  double first = 0, last = 0;
  const int64_t window = std::min<int64_t>(20, static_cast<int64_t>(steps));
  int64_t step = 0;
  for (uint64_t epoch = 0; step < steps; ++epoch) {
    for (const auto& indices :
         az::make_batches(examples, 64, true, static_cast<uint64_t>(seed) + epoch)) {
      if (step == steps) break;
      const auto batch = az::collate(examples, indices);
      const auto out = model->forward(batch.src, batch.src_lengths, batch.tgt_in);
      const auto loss = torch::nn::functional::cross_entropy(
          out.logits.flatten(0, 1), batch.tgt_out.flatten(),
          torch::nn::functional::CrossEntropyFuncOptions().ignore_index(az::Vocab::kPad));
      optimizer.zero_grad();
      loss.backward();
      torch::nn::utils::clip_grad_norm_(model->parameters(), 1.0);
      optimizer.step();
      const double value = loss.item<double>();
      if (step < window) first += value / window;
      if (step >= steps - window) last += value / window;
      ++step;
    }
  }
  std::printf("steps %lld  loss first %.4f  last %.4f\n", static_cast<long long>(steps), first,
              last);

  // Greedy search over the held-out dates.
  model->eval();
  torch::NoGradGuard no_grad;
  std::vector<az::Example> test;
  for (const auto& p : held_out) {
    auto src = src_vocab.encode(tokenizer->tokenize(p.src));
    src.push_back(az::Vocab::kEos);
    test.push_back({src, {}});
  }
  std::vector<size_t> all(test.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  const auto batch = az::collate(test, all);
  az::Seq2SeqStepper stepper(model, batch.src, batch.src_lengths);
  az::SearchOptions search;
  search.bos = az::Vocab::kBos;
  search.eos = az::Vocab::kEos;
  const auto hypotheses = az::greedy_search(stepper, std::vector<int64_t>(test.size(), 12), search);
  for (size_t i = 0; i < test.size(); ++i) {
    const size_t row = batch.indices[i];
    const auto words = tgt_vocab.decode(hypotheses[i].front().tokens);
    std::printf("%s -> %s (reference %s)\n", held_out[row].src.c_str(),
                tokenizer->detokenize(words).c_str(), held_out[row].tgt.c_str());
  }
  return 0;
}

}  // namespace
