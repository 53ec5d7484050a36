// Decoding tools of the translator: ensembles (EnsembleStepModel,
// Translator::add_ensemble_member) and checkpoint averaging
// (average_translators).
#include <catch2/catch.hpp>

#include <fstream>

#include "data/error.h"
#include "data/shortlist.h"
#include "data/text_io.h"
#include "export/export.h"
#include "models/search.h"
#include "tests/export_cases.h"
#include "tests/temp_dir.h"
#include "train/checkpoint.h"

using namespace attnzoo;
using namespace attnzoo::testing;

namespace {

// Log-probabilities over 5 tokens that depend only on a seed and the row:
// each member of an ensemble its own.
class FixedModel : public StepModel {
 public:
  FixedModel(int64_t rows, uint64_t seed) : rows_(torch::arange(rows)), seed_(seed) {}
  torch::Tensor step(const torch::Tensor& tokens, torch::Tensor* weights) override {
    auto g = at::make_generator<at::CPUGeneratorImpl>(seed_);
    const auto table = torch::randn({8, 5}, g, torch::kDouble);
    const auto out = torch::log_softmax(table.index_select(0, rows_), 1);
    if (weights != nullptr)
      *weights = torch::softmax(table.index_select(0, rows_).narrow(1, 0, 3), 1);
    return out;
  }
  void select(const torch::Tensor& rows) override { rows_ = rows_.index_select(0, rows); }

 private:
  torch::Tensor rows_;
  uint64_t seed_;
};

std::string save(const Translator& t, const std::string& name) {
  const auto path = (scratch_dir() / name).string();
  auto model = t.model;
  save_checkpoint(path, t.meta(), *model, nullptr, t.tensors());
  return path;
}

}  // namespace

TEST_CASE("ensemble: each step the mean of the members' log-probabilities and attention",
          "[decoding]") {
  std::vector<std::unique_ptr<StepModel>> members;
  members.push_back(std::make_unique<FixedModel>(4, 1));
  members.push_back(std::make_unique<FixedModel>(4, 2));
  EnsembleStepModel ensemble(std::move(members));
  FixedModel a(4, 1), b(4, 2);
  const auto tokens = torch::zeros({4}, torch::kLong);
  torch::Tensor w, wa, wb;
  const auto lp = ensemble.step(tokens, &w);
  const auto expected = (a.step(tokens, &wa) + b.step(tokens, &wb)) / 2;
  CHECK(torch::allclose(lp, expected, 0, 1e-12));
  CHECK(torch::allclose(w, (wa + wb) / 2, 0, 1e-12));
  // Rows are selected in every member.
  const auto rows = torch::tensor({3, 3, 0}, torch::kLong);
  ensemble.select(rows);
  a.select(rows);
  b.select(rows);
  const auto lp2 = ensemble.step(torch::zeros({3}, torch::kLong), nullptr);
  CHECK(torch::allclose(lp2, (a.step(tokens, nullptr) + b.step(tokens, nullptr)) / 2, 0, 1e-12));
}

TEST_CASE("ensemble translator: a model with itself translates as alone, mismatches refused",
          "[decoding]") {
  auto first = make_translator(translator_cases()[0]);
  const auto path = save(first, "ensemble-a.pt");
  auto options = search_options(first.config.at("decode"));
  const auto texts = translator_inputs();
  const auto alone = first.translate(texts, options, 2);

  Translator twice{Checkpoint(path, "translate")};
  twice.add_ensemble_member(Translator{Checkpoint(path, "translate")}, path);
  const auto doubled = twice.translate(texts, options, 2);
  for (size_t i = 0; i < texts.size(); ++i) {
    CHECK(doubled[i].text == alone[i].text);
    CHECK(doubled[i].score == Approx(alone[i].score).epsilon(1e-5));
  }
  // Another model of the same vocabularies joins; one of other tokenizers cannot.
  auto lstm = make_translator(translator_cases()[1]);
  Translator mixed{Checkpoint(path, "translate")};
  mixed.add_ensemble_member(lstm, "lstm");
  CHECK(mixed.translate(texts, options, 2).size() == texts.size());
  auto bpe = make_translator(translator_cases()[4]);
  CHECK_THROWS_WITH(mixed.add_ensemble_member(bpe, "bpe.pt"),
                    Catch::Contains("bpe.pt") && Catch::Contains("tokenizers differ"));
}

TEST_CASE("checkpoint averaging: the mean of the parameters, other shapes refused", "[decoding]") {
  auto a = make_translator(translator_cases()[0]);
  auto b = make_translator(translator_cases()[0]);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : b.model->parameters()) p.normal_(0.0, 0.8);
  }
  const auto pa = save(a, "average-a.pt"), pb = save(b, "average-b.pt");
  const auto avg = average_translators({pa, pb, pa});
  const auto ap = a.model->named_parameters(), bp = b.model->named_parameters();
  for (const auto& p : avg.model->named_parameters()) {
    CAPTURE(p.key());
    const auto expected = (2 * ap[p.key()].to(torch::kDouble) + bp[p.key()].to(torch::kDouble)) / 3;
    CHECK(torch::allclose(p.value().to(torch::kDouble), expected, 0, 1e-6));
  }
  CHECK(avg.src_vocab == a.src_vocab);

  auto lstm = make_translator(translator_cases()[1]);
  const auto pl = save(lstm, "average-lstm.pt");
  CHECK_THROWS_WITH(average_translators({pa, pl}),
                    Catch::Contains("average-lstm.pt") && Catch::Contains("model section"));
  CHECK_THROWS_AS(average_translators({pa}), UserError);
  // Another run (here: another seed; runs from the loop also carry a run id)
  // is refused, not averaged into a model that does not work.
  auto other_run = make_translator(translator_cases()[0]);
  other_run.config["train"]["seed"] = 99;
  const auto po = save(other_run, "average-other-run.pt");
  CHECK_THROWS_WITH(average_translators({pa, po}), Catch::Contains("average-other-run.pt") &&
                                                       Catch::Contains("different training runs") &&
                                                       Catch::Contains("ensemble"));
}

TEST_CASE("replace-unk: an output <unk> becomes the source token its attention weighs most",
          "[decoding]") {
  auto t = make_translator(translator_cases()[0]);
  Hypothesis h;
  h.tokens = {5, Vocab::kUnk, 6, Vocab::kUnk, Vocab::kEos};
  // Rows over the source "Hund bellt laut <eos>": the <eos> column is never picked.
  h.attention = torch::tensor(
      {{0.7, 0.1, 0.1, 0.1}, {0.1, 0.2, 0.3, 0.4}, {0.25, 0.25, 0.25, 0.25}, {0.6, 0.1, 0.1, 0.2}});
  const std::vector<std::string> source = {"Hund", "bellt", "laut", "<eos>"};
  const auto a = t.tgt_vocab.token(5), b = t.tgt_vocab.token(6);
  CHECK(t.output_words(h, source) == std::vector<std::string>{a, "<unk>", b, "<unk>"});
  CHECK(t.unk.replaced == 0);
  t.unk.replace = true;
  CHECK(t.output_words(h, source) == std::vector<std::string>{a, "laut", b, "Hund"});
  CHECK(t.unk.replaced == 2);
  t.unk.phrase_table = {{"Hund", "dog"}};
  CHECK(t.output_words(h, source) == std::vector<std::string>{a, "laut", b, "dog"});
  CHECK(t.unk.replaced == 4);

  const auto table = (scratch_dir() / "phrases.txt").string();
  std::ofstream(table) << "Hund ||| dog\n\n bellt|||barks \n";
  CHECK(read_phrase_table(table) ==
        std::map<std::string, std::string>{{"Hund", "dog"}, {"bellt", "barks"}});
  std::ofstream(table) << "Hund ||| dog\nkatze cat\n";
  CHECK_THROWS_WITH(read_phrase_table(table), Catch::Contains("phrases.txt:2"));
}

TEST_CASE("phrase table: each source word's most associated target word, written and read back",
          "[decoding]") {
  using Words = std::vector<std::string>;
  // Hund/dog in three sentences, Katze/cat in two; "ein"/"a" everywhere.
  // Dschungel and Gras occur once each, in one sentence with two words seen
  // once: Dice ties (1.0), and the word nearer in relative position wins.
  const std::vector<TokenPair> pairs = {
      {Words{"ein", "Hund"}, Words{"a", "dog"}},
      {Words{"ein", "Hund", "bellt"}, Words{"a", "dog", "barks"}},
      {Words{"ein", "Hund", "und", "ein", "Katze"}, Words{"a", "dog", "and", "a", "cat"}},
      {Words{"ein", "Katze", "bellt", "nicht"}, Words{"a", "cat", "barks", "not"}},
      {Words{"Dschungel", "ein", "Gras"}, Words{"jungle", "a", "grass"}},
  };
  const auto table = dice_phrase_table(pairs, {});
  CHECK(table.at("Hund") == "dog");
  CHECK(table.at("Katze") == "cat");
  CHECK(table.at("ein") == "a");
  CHECK(table.at("bellt") == "barks");
  CHECK(table.at("Dschungel") == "jungle");
  CHECK(table.at("Gras") == "grass");
  // Bounds: pairs seen together at least twice; Dice at least 0.9.
  const auto twice = dice_phrase_table(pairs, {2, 0.0});
  CHECK(twice.count("Hund") == 1);
  CHECK(twice.count("Dschungel") == 0);
  CHECK(twice.count("bellt") == 1);  // barks: both sentences
  const auto strong = dice_phrase_table(pairs, {1, 0.9});
  CHECK(strong.count("Hund") == 1);  // 2*3 / (3+3) = 1
  CHECK(strong.count("und") == 1);   // and: 2*1 / (1+1)
  CHECK(strong.count("nicht") == 1);
  CHECK_THROWS_WITH(dice_phrase_table(pairs, {0, 0.0}), Catch::Contains("at least 1"));

  // Written sorted, atomically, in the format --phrase-table reads; a token
  // that could not be read back (the separator in it, space around it) is
  // left out.
  const auto path = (scratch_dir() / "table.txt").string();
  auto written = table;
  written["a|||b"] = "x";
  written[" "] = "_";
  written["y"] = " ";
  write_phrase_table(path, written);
  CHECK(read_phrase_table(path) == table);
  CHECK(read_lines(path).front() == "Dschungel ||| jungle");
}

TEST_CASE("replace-unk in the exported file: translate() and translate_batch() as the C++ one",
          "[decoding][export]") {
  for (const bool table : {false, true}) {
    CAPTURE(table);
    auto t = make_translator(translator_cases()[0]);
    {  // <unk> likely at every step, beside the other tokens
      torch::NoGradGuard no_grad;
      t.model->decoder->out->bias[Vocab::kUnk] += 6.0;
    }
    t.unk.replace = true;
    if (table) t.unk.phrase_table = {{"1", "one"}, {"M", "<M>"}};
    const auto path = (scratch_dir() / "replace-unk.pt").string();
    save_export(export_translator(t), path, "translate", t.config);
    auto m = torch::jit::load(path);
    const auto texts = translator_inputs();
    const auto expected = t.translate(texts, search_options(t.config.at("decode")), 2);
    CHECK(t.unk.replaced > 0);  // the case the file must handle happened
    c10::List<std::string> list;
    for (const auto& text : texts) list.push_back(text);
    const auto batch = m.get_method("translate_batch")({list, int64_t{0}, int64_t{1}}).toList();
    for (size_t i = 0; i < texts.size(); ++i) {
      CAPTURE(texts[i]);
      CHECK(expected[i].text.find("<unk>") == std::string::npos);
      CHECK(m.get_method("translate")({texts[i]}).toStringRef() == expected[i].text);
      const auto best = batch.get(i).toList().get(0);
      CHECK(best.toTupleRef().elements()[0].toStringRef() == expected[i].text);
    }
  }
  // A SentencePiece file takes ids: it is refused.
  auto bpe = make_translator(translator_cases()[4]);
  bpe.unk.replace = true;
  CHECK_THROWS_WITH(export_translator(bpe), Catch::Contains("--replace-unk"));
}

namespace {

// Two source positions. After <bos>: "a" 0.6, "b" 0.4, then <eos>. The rows
// that follow <bos> and "a" look at position 0 only; the row after "b" at
// position 1, so "b <eos>" covers the source and "a <eos>" does not.
class CoverToy : public StepModel {
 public:
  explicit CoverToy(int64_t rows) {}
  torch::Tensor step(const torch::Tensor& tokens, torch::Tensor* weights) override {
    const int64_t n = tokens.size(0);
    auto p = torch::full({n, 6}, 1e-9, torch::kDouble);
    auto w = torch::zeros({n, 3});  // the third position is padding
    for (int64_t r = 0; r < n; ++r) {
      const int64_t t = tokens[r].item<int64_t>();
      if (t == 2) {
        p[r][4] = 0.6;
        p[r][5] = 0.4;
      } else {
        p[r][3] = 1.0;
      }
      w[r][0] = t == 5 ? 1e-4 : 1.0;
      w[r][1] = t == 5 ? 1.0 : 1e-4;
    }
    if (weights != nullptr) *weights = w;
    return torch::log(p / p.sum(1, true)).to(torch::kFloat);
  }
  void select(const torch::Tensor&) override {}
};

}  // namespace

TEST_CASE("coverage penalty: beta * sum log min(coverage, 1) over attended positions",
          "[decoding][search]") {
  const auto a = torch::tensor({{0.9, 0.1, 0.0}, {0.8, 0.2, 0.0}});
  CHECK(gnmt_coverage_penalty(a, 0.0) == 0.0);
  CHECK(gnmt_coverage_penalty(torch::Tensor(), 0.5) == 0.0);
  CHECK(gnmt_coverage_penalty(a, 0.5) == Approx(0.5 * std::log(0.3)));  // 1.7 -> 1; 0.3

  SearchOptions o;
  o.bos = 2;
  o.eos = 3;
  o.beam = 2;
  {
    CoverToy toy(1);
    const auto best = beam_search(toy, {4}, o)[0].front();
    CHECK(best.tokens == std::vector<int64_t>{4, 3});  // "a": more probable
  }
  o.coverage_penalty = 0.2;
  {
    CoverToy toy(1);
    const auto list = beam_search(toy, {4}, o)[0];
    CHECK(list.front().tokens == std::vector<int64_t>{5, 3});  // "b" covers both positions
    CHECK(list.front().score == Approx(std::log(0.4) + 0.2 * std::log(1.0001)).margin(1e-4));
  }
}
