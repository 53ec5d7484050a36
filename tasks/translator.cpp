#include "tasks/translator.h"

#include <chrono>

#include "data/config_checks.h"
#include "data/error.h"
#include "data/files.h"
#include "data/text_io.h"
#include "tasks/translate_config.h"
#include "train/config.h"
#include "train/device.h"
#include "train/progress.h"

namespace attnzoo {

using Clock = std::chrono::steady_clock;

SearchOptions search_options(const nlohmann::json& d) {
  SearchOptions o;
  o.beam = d.at("beam").get<int64_t>();
  o.length_penalty = d.at("length_penalty").get<double>();
  o.coverage_penalty = d.value("coverage_penalty", 0.0);
  if (o.coverage_penalty < 0)
    throw UserError("decode.coverage_penalty must be 0 or more (got {})", o.coverage_penalty);
  o.bos = Vocab::kBos;
  o.eos = Vocab::kEos;
  if (o.beam < 1) throw UserError("decode.beam must be at least 1 (got {})", o.beam);
  require_at_least(d, "decode", {"max_source_tokens"}, 2);
  return o;
}

// ----------------------------------------------------------------------------
// Translator

Translator::Translator(const nlohmann::json& config_, const std::vector<SentencePair>& train)
    : config(config_) {
  std::vector<std::string> src_text, tgt_text;
  src_text.reserve(train.size());
  tgt_text.reserve(train.size());
  for (const auto& p : train) {
    src_text.push_back(p.src);
    tgt_text.push_back(p.tgt);
  }
  const auto src_opts = TokenizerOptions::from_json(config.at("tokenizer").at("src"));
  const auto tgt_opts = TokenizerOptions::from_json(config.at("tokenizer").at("tgt"));
  src_tokenizer = make_tokenizer(src_opts, "", &src_text);
  tgt_tokenizer = make_tokenizer(tgt_opts, "", &tgt_text);
  const auto& v = config.at("vocab");
  auto build = [&](const Tokenizer& tok, const std::vector<std::string>& text) {
    std::vector<std::vector<std::string>> tokens;
    tokens.reserve(text.size());
    for (const auto& line : text) tokens.push_back(tok.tokenize(line));
    // SentencePiece already chose its vocabulary; keep every piece it produces.
    const bool spm = !tok.model_bytes().empty();
    return Vocab::build(tokens, spm ? 1 : v.at("min_freq").get<int64_t>(),
                        v.at("max_size").get<int64_t>());
  };
  src_vocab = build(*src_tokenizer, src_text);
  tgt_vocab = build(*tgt_tokenizer, tgt_text);
  build_model();
}

Translator::Translator(const Checkpoint& checkpoint) {
  const auto& meta = checkpoint.meta();
  // Defaults first, so that a checkpoint from before a config key existed still loads.
  config = merge_config(default_translate_config(), meta.at("config"), checkpoint.path());
  src_vocab = Vocab::from_json(meta.at("vocab_src"), checkpoint.path() + " (source vocabulary)");
  tgt_vocab = Vocab::from_json(meta.at("vocab_tgt"), checkpoint.path() + " (target vocabulary)");
  auto tokenizer = [&](const char* side) {
    const auto opts = TokenizerOptions::from_json(config.at("tokenizer").at(side));
    const std::string name = std::string("spm.") + side;
    const std::string bytes =
        checkpoint.has_tensor(name) ? tensor_to_bytes(checkpoint.tensor(name)) : "";
    return std::shared_ptr<Tokenizer>(make_tokenizer(opts, bytes));
  };
  src_tokenizer = tokenizer("src");
  tgt_tokenizer = tokenizer("tgt");
  build_model();
  checkpoint.load_model(*model);
}

void Translator::build_model() {
  model =
      Seq2Seq(Seq2SeqOptions::from_json(config.at("model"), src_vocab.size(), tgt_vocab.size()));
}

nlohmann::json Translator::meta() const {
  return {{"app", "translate"},
          {"config", config},
          {"vocab_src", src_vocab.to_json()},
          {"vocab_tgt", tgt_vocab.to_json()}};
}

std::map<std::string, torch::Tensor> Translator::tensors() const {
  std::map<std::string, torch::Tensor> t;
  if (!src_tokenizer->model_bytes().empty())
    t["spm.src"] = bytes_to_tensor(src_tokenizer->model_bytes());
  if (!tgt_tokenizer->model_bytes().empty())
    t["spm.tgt"] = bytes_to_tensor(tgt_tokenizer->model_bytes());
  return t;
}

namespace {

// Why `b` cannot decode beside or be averaged with `a`, or "" when it can.
std::string incompatibility(const Translator& a, const Translator& b) {
  if (a.config.at("tokenizer") != b.config.at("tokenizer") ||
      a.src_tokenizer->model_bytes() != b.src_tokenizer->model_bytes() ||
      a.tgt_tokenizer->model_bytes() != b.tgt_tokenizer->model_bytes())
    return "its tokenizers differ";
  if (!(a.src_vocab == b.src_vocab)) return "its source vocabulary differs";
  if (!(a.tgt_vocab == b.tgt_vocab)) return "its target vocabulary differs";
  return "";
}

}  // namespace

void Translator::add_ensemble_member(const Translator& other, const std::string& where) {
  const auto why = incompatibility(*this, other);
  if (!why.empty())
    throw UserError("{}: cannot decode in an ensemble with the first model: {}", where, why);
  Seq2Seq member = other.model;  // shares the module
  member->to(module_device(*model));
  member->eval();
  ensemble.push_back(member);
}

Translator average_translators(const std::vector<std::string>& checkpoints) {
  if (checkpoints.size() < 2) throw UserError("average: give at least two checkpoints");
  Translator first{Checkpoint(checkpoints[0], "translate")};
  auto sums = first.model->named_parameters(/*recurse=*/true);
  torch::NoGradGuard no_grad;
  std::map<std::string, torch::Tensor> total;
  for (const auto& p : sums) total[p.key()] = p.value().detach().to(torch::kDouble);
  const auto run_of = [](const Checkpoint& c) {
    const auto& progress = c.meta().value("progress", nlohmann::json::object());
    // Files from before run ids: the seed tells runs apart.
    return progress.value("run_id", std::string()).empty()
               ? "seed " + c.meta().at("config").at("train").at("seed").dump()
               : "run " + progress.at("run_id").get<std::string>();
  };
  const std::string first_run = run_of(Checkpoint(checkpoints[0], "translate"));
  for (size_t i = 1; i < checkpoints.size(); ++i) {
    const Checkpoint file(checkpoints[i], "translate");
    const Translator other{file};
    auto why = incompatibility(first, other);
    if (why.empty() && run_of(file) != first_run)
      why = fmt::format(
          "they are from different training runs ({} and {}), and the mean of independently "
          "trained weights is not a working model; average checkpoints of one run "
          "(train.keep_checkpoints), or decode several runs as an ensemble (--checkpoint A "
          "--checkpoint B)",
          first_run, run_of(file));
    if (why.empty() && other.config.at("model") != first.config.at("model"))
      why = "its model section differs";
    if (!why.empty())
      throw UserError("{}: cannot be averaged with {}: {}", checkpoints[i], checkpoints[0], why);
    for (const auto& p : other.model->named_parameters(/*recurse=*/true))
      total.at(p.key()) += p.value().detach().to(torch::kDouble);
  }
  const double n = static_cast<double>(checkpoints.size());
  for (auto& p : sums) p.value().copy_(total.at(p.key()) / n);
  return first;
}

std::vector<int64_t> Translator::encode_source(const std::string& text) const {
  auto ids = src_vocab.encode(src_tokenizer->tokenize(text));
  ids.push_back(Vocab::kEos);
  return ids;
}

Example Translator::encode(const SentencePair& pair) const {
  return {encode_source(pair.src), tgt_vocab.encode(tgt_tokenizer->tokenize(pair.tgt))};
}

std::vector<int64_t> Translator::max_lengths(const torch::Tensor& source_lengths) const {
  const auto& d = config.at("decode");
  return source_length_limits(source_lengths, d.at("max_len_ratio").get<double>(),
                              d.at("max_len_offset").get<int64_t>());
}

std::vector<std::string> Translator::output_words(const Hypothesis& h,
                                                  const std::vector<std::string>& source) {
  std::vector<std::string> words;
  // source ends with <eos>, which no <unk> is replaced by
  const int64_t sources = static_cast<int64_t>(source.size()) - 1;
  for (size_t j = 0; j < h.tokens.size(); ++j) {
    const int64_t id = h.tokens[j];
    if (id == Vocab::kEos) break;
    if (id == Vocab::kPad || id == Vocab::kBos) continue;
    if (id == Vocab::kUnk && unk.replace && h.attention.defined() && sources > 0) {
      const auto row = h.attention[static_cast<int64_t>(j)].narrow(0, 0, sources);
      const auto& word = source[static_cast<size_t>(row.argmax().item<int64_t>())];
      const auto entry = unk.phrase_table.find(word);
      words.push_back(entry != unk.phrase_table.end() ? entry->second : word);
      ++unk.replaced;
      continue;
    }
    words.push_back(tgt_vocab.token(id));
  }
  return words;
}

std::map<std::string, std::string> read_phrase_table(const std::string& path) {
  std::map<std::string, std::string> table;
  const auto lines = read_lines(path);
  for (size_t n = 0; n < lines.size(); ++n) {
    if (trim(lines[n]).empty()) continue;
    const size_t bar = lines[n].find("|||");
    const std::string source = bar == std::string::npos ? "" : trim(lines[n].substr(0, bar));
    const std::string target = bar == std::string::npos ? "" : trim(lines[n].substr(bar + 3));
    if (source.empty() || target.empty())
      throw UserError("{}:{}: not a \"source ||| target\" line", path, n + 1);
    table[source] = target;
  }
  if (table.empty()) throw UserError("{}: an empty phrase table", path);
  return table;
}

size_t write_phrase_table(const std::string& path,
                          const std::map<std::string, std::string>& table) {
  std::string text;
  size_t lines = 0;
  // A token that read_phrase_table would not read back as itself (the
  // separator inside, space around it: a character model's " ") is left out.
  const auto readable = [](const std::string& token) {
    return !token.empty() && trim(token) == token && token.find("|||") == std::string::npos;
  };
  for (const auto& [source, target] : table)
    if (readable(source) && readable(target)) {
      text += source + " ||| " + target + "\n";
      ++lines;
    }
  write_file_atomically(path, text, "phrase table");
  return lines;
}

std::unique_ptr<StepModel> Translator::stepper(const Batch& batch) const {
  const auto candidates = shortlist ? shortlist->candidates(batch.src) : torch::Tensor();
  if (ensemble.empty())
    return std::make_unique<Seq2SeqStepper>(model, batch.src, batch.src_lengths, candidates);
  std::vector<std::unique_ptr<StepModel>> members;
  members.push_back(
      std::make_unique<Seq2SeqStepper>(model, batch.src, batch.src_lengths, candidates));
  for (const auto& m : ensemble)
    members.push_back(
        std::make_unique<Seq2SeqStepper>(m, batch.src, batch.src_lengths, candidates));
  return std::make_unique<EnsembleStepModel>(std::move(members));
}

void Translator::build_shortlist(const std::vector<SentencePair>& pairs,
                                 const ShortlistOptions& options) {
  std::vector<Example> examples;
  examples.reserve(pairs.size());
  for (const auto& p : pairs) examples.push_back(encode(p));
  shortlist = std::make_shared<const LexicalShortlist>(
      LexicalShortlist::build(examples, src_vocab.size(), tgt_vocab.size(), options));
}

std::map<std::string, std::string> Translator::phrase_table(
    const std::vector<SentencePair>& pairs, const PhraseTableOptions& options) const {
  std::vector<TokenPair> tokens;
  tokens.reserve(pairs.size());
  for (const auto& p : pairs)
    tokens.emplace_back(src_tokenizer->tokenize(p.src), tgt_tokenizer->tokenize(p.tgt));
  return dice_phrase_table(tokens, options);
}

void Translator::quantize_int8() {
  model->decoder->quantize_int8();
  for (auto& m : ensemble) m->decoder->quantize_int8();
}

std::vector<Translation> Translator::translate(const std::vector<std::string>& sources,
                                               const SearchOptions& options, int64_t batch_size,
                                               bool show_progress) {
  // Empty lines translate to empty lines; longer sources than
  // decode.max_source_tokens are cut to it, which bounds the search's memory
  // and time whatever the input.
  const auto max_source =
      static_cast<size_t>(config.at("decode").at("max_source_tokens").get<int64_t>());
  std::vector<Translation> results(sources.size());
  std::vector<Example> examples;
  std::vector<size_t> source_of;  // examples[k] translates sources[source_of[k]]
  int64_t cut = 0;
  for (size_t i = 0; i < sources.size(); ++i) {
    if (trim(sources[i]).empty()) {
      results[i].n_best.emplace_back();  // one empty hypothesis, for --n-best
      continue;
    }
    auto ids = encode_source(sources[i]);
    if (ids.size() > max_source) {
      ids.resize(max_source - 1);
      ids.push_back(Vocab::kEos);
      ++cut;
    }
    examples.push_back({std::move(ids), {}});
    source_of.push_back(i);
  }
  if (cut > 0)
    std::fprintf(stderr,
                 "warning: %lld source sentences were cut to decode.max_source_tokens (%zu)\n",
                 static_cast<long long>(cut), max_source);
  const bool was_training = model->is_training();
  model->eval();
  torch::NoGradGuard no_grad;
  std::unique_ptr<ProgressBar> bar;
  if (show_progress)
    bar = std::make_unique<ProgressBar>(static_cast<int64_t>(examples.size()), "translate");
  int64_t done = 0;
  for (const auto& indices : make_batches(examples, batch_size, /*shuffle=*/false, 0)) {
    const Batch batch = collate(examples, indices).to(module_device(*model));
    const auto hypotheses = search(*stepper(batch), max_lengths(batch.src_lengths), options);
    for (int64_t r = 0; r < batch.size(); ++r) {
      const size_t k = indices[r], i = source_of[k];
      const auto& list = hypotheses[r];
      const Hypothesis& best = list.front();
      Translation& t = results[i];
      const int64_t length = static_cast<int64_t>(examples[k].src.size());
      t.source_tokens = src_tokenizer->tokenize(sources[i]);
      t.source_tokens.resize(std::min(t.source_tokens.size(), examples[k].src.size() - 1));
      t.source_tokens.push_back("<eos>");
      t.text = tgt_tokenizer->detokenize(output_words(best, t.source_tokens));
      t.score = best.score;
      for (int64_t id : best.tokens) t.output_tokens.push_back(tgt_vocab.token(id));
      if (best.attention.defined())
        t.attention = best.attention.narrow(1, 0, length)
                          .to(torch::kCPU, /*non_blocking=*/false,
                              /*copy=*/true);
      for (const auto& h : list)
        t.n_best.push_back(tgt_tokenizer->detokenize(output_words(h, t.source_tokens)));
    }
    done += batch.size();
    if (bar) bar->update(done);
  }
  if (bar) bar->finish();
  model->train(was_training);
  return results;
}

double Translator::mean_nll(const std::vector<Example>& examples, int64_t batch_size) {
  const bool was_training = model->is_training();
  model->eval();
  torch::NoGradGuard no_grad;
  double total = 0.0;
  int64_t tokens = 0;
  for (const auto& indices : make_batches(examples, batch_size, false, 0)) {
    const Batch batch = collate(examples, indices).to(module_device(*model));
    const auto rows = batch.tgt_out.ne(Vocab::kPad);
    const auto logits =
        model->forward(batch.src, batch.src_lengths, batch.tgt_in, 1.0, rows).logits;
    total += torch::nn::functional::cross_entropy(
                 logits, batch.tgt_out.masked_select(rows),
                 torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                 .item<double>();
    tokens += batch.target_tokens;
  }
  model->train(was_training);
  return tokens > 0 ? total / tokens : 0.0;
}

// ----------------------------------------------------------------------------
// Evaluation

nlohmann::json TranslationEval::to_json() const {
  auto j = bleu.to_json();
  j["exact_match"] = exact_match;
  j["sentences_per_sec"] = sentences_per_sec;
  j["sentences"] = sentences;
  return j;
}

TranslationEval evaluate_translator(Translator& translator, const std::vector<std::string>& sources,
                                    const std::vector<std::vector<std::string>>& references,
                                    const SearchOptions& options, int64_t batch_size,
                                    const BleuOptions& bleu, bool show_progress) {
  for (const auto& refs : references)
    if (refs.size() != sources.size())
      throw UserError("{} references for {} source sentences", refs.size(), sources.size());
  TranslationEval ev;
  const auto start = Clock::now();
  const auto translations = translator.translate(sources, options, batch_size, show_progress);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  int64_t exact = 0;
  for (size_t i = 0; i < translations.size(); ++i) {
    ev.hypotheses.push_back(translations[i].text);
    for (const auto& refs : references)
      if (trim(translations[i].text) == trim(refs[i])) {
        ++exact;
        break;
      }
  }
  ev.sentences = static_cast<int64_t>(sources.size());
  ev.exact_match = sources.empty() ? 0.0 : static_cast<double>(exact) / sources.size();
  ev.sentences_per_sec = seconds > 0 ? sources.size() / seconds : 0.0;
  ev.bleu = corpus_bleu(ev.hypotheses, references, bleu);
  return ev;
}

}  // namespace attnzoo
