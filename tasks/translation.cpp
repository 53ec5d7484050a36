#include "tasks/translation.h"

#include <chrono>
#include <fstream>

#include "data/dates.h"
#include "data/error.h"
#include "data/text_io.h"
#include "tasks/hard_attention.h"
#include "train/config.h"
#include "train/loop.h"
#include "train/progress.h"
#include "train/runtime.h"
#include "train/schedule.h"

namespace attnzoo {

using Clock = std::chrono::steady_clock;

nlohmann::json default_translate_config() {
  auto config = nlohmann::json::parse(R"({
    "data": {
      "source": "parallel",
      "dir": "../shared/data/multi30k",
      "src_lang": "de", "tgt_lang": "en",
      "train": "train", "valid": "val", "test": "test_2016_flickr",
      "tsv": "", "tsv_swap": false, "valid_fraction": 0.05, "test_fraction": 0.05,
      "dates": {"train_size": 20000, "valid_size": 500, "test_size": 1000, "seed": 1},
      "max_length": 100
    },
    "tokenizer": {
      "src": {"kind": "word", "lowercase": false, "vocab_size": 8000},
      "tgt": {"kind": "word", "lowercase": false, "vocab_size": 8000}
    },
    "vocab": {"min_freq": 2, "max_size": 0},
    "model": {
      "embedding_size": 256, "encoder_hidden_size": 512, "decoder_hidden_size": 512,
      "encoder_layers": 1, "decoder_layers": 1, "bidirectional": true, "rnn": "gru",
      "dropout": 0.3, "attention": "additive", "attention_size": 0, "readout_size": 0, "hard_eval": "argmax"
    },
    "train": {
      "batch_size": 128, "label_smoothing": 0.1, "teacher_forcing": 1.0,
      "select_metric": "bleu", "valid_max_sentences": 0, "precision": "fp32"
    },
    "decode": {"beam": 5, "length_penalty": 0.6, "max_len_ratio": 2.0, "max_len_offset": 10,
               "batch_size": 64}
  })");
  config["train"] = with_loop_defaults(config.at("train"));
  config["train"]["hard"] = default_hard_attention_config();
  return config;
}

nlohmann::json load_translate_config(const std::string& path) {
  return merge_config(default_translate_config(), read_json_file(path), path);
}

SearchOptions search_options(const nlohmann::json& d) {
  SearchOptions o;
  o.beam = d.at("beam").get<int64_t>();
  o.length_penalty = d.at("length_penalty").get<double>();
  o.bos = Vocab::kBos;
  o.eos = Vocab::kEos;
  if (o.beam < 1) throw UserError("decode.beam must be at least 1 (got {})", o.beam);
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

std::vector<Translation> Translator::translate(const std::vector<std::string>& sources,
                                               const SearchOptions& options, int64_t batch_size,
                                               bool show_progress) {
  std::vector<Example> examples;
  examples.reserve(sources.size());
  for (const auto& s : sources) examples.push_back({encode_source(s), {}});
  std::vector<Translation> results(sources.size());
  const bool was_training = model->is_training();
  model->eval();
  torch::NoGradGuard no_grad;
  std::unique_ptr<ProgressBar> bar;
  if (show_progress)
    bar = std::make_unique<ProgressBar>(static_cast<int64_t>(sources.size()), "translate");
  int64_t done = 0;
  for (const auto& indices : make_batches(examples, batch_size, /*shuffle=*/false, 0)) {
    const Batch batch = collate(examples, indices);
    Seq2SeqStepper stepper(model, batch.src, batch.src_lengths);
    const auto hypotheses = search(stepper, max_lengths(batch.src_lengths), options);
    for (int64_t r = 0; r < batch.size(); ++r) {
      const size_t i = indices[r];
      const auto& list = hypotheses[r];
      const Hypothesis& best = list.front();
      Translation& t = results[i];
      t.text = tgt_tokenizer->detokenize(tgt_vocab.decode(best.tokens));
      t.score = best.score;
      for (int64_t id : best.tokens) t.output_tokens.push_back(tgt_vocab.token(id));
      t.source_tokens = src_tokenizer->tokenize(sources[i]);
      t.source_tokens.push_back("<eos>");
      const int64_t length = static_cast<int64_t>(examples[i].src.size());
      if (best.attention.defined()) t.attention = best.attention.narrow(1, 0, length).clone();
      for (const auto& h : list)
        t.n_best.push_back(tgt_tokenizer->detokenize(tgt_vocab.decode(h.tokens)));
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
    const Batch batch = collate(examples, indices);
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

// ----------------------------------------------------------------------------
// Training

namespace {

std::vector<Example> encode_all(const Translator& t, const std::vector<SentencePair>& pairs,
                                int64_t max_length, int64_t* skipped) {
  std::vector<Example> out;
  out.reserve(pairs.size());
  for (const auto& p : pairs) {
    Example e = t.encode(p);
    if (max_length > 0 && (static_cast<int64_t>(e.src.size()) > max_length ||
                           static_cast<int64_t>(e.tgt.size()) > max_length)) {
      if (skipped) ++*skipped;
      continue;
    }
    out.push_back(std::move(e));
  }
  return out;
}

// Translation as a TrainTask: batches of length-bucketed pairs, label-smoothed
// cross-entropy over the real target tokens, validation perplexity and greedy
// BLEU / exact match.
class TranslationTask : public TrainTask {
 public:
  TranslationTask(Translator& tr, const std::vector<Example>& train,
                  const std::vector<Example>& valid, std::vector<std::string> valid_src,
                  std::vector<std::string> valid_ref, const nlohmann::json& tc)
      : tr_(tr),
        train_(train),
        valid_(valid),
        valid_src_(std::move(valid_src)),
        valid_ref_(std::move(valid_ref)),
        batch_size_(tc.at("batch_size")),
        teacher_forcing_(tc.at("teacher_forcing")),
        select_metric_(tc.at("select_metric")),
        projection_dtype_(parse_precision(tc.at("precision"))),
        loss_options_(torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(
            tc.at("label_smoothing").get<double>())),
        decode_batch_(tr.config.at("decode").at("batch_size")),
        greedy_(search_options(tr.config.at("decode"))),
        hard_(tr.model->decoder->attention, tc.at("hard")) {
    if (select_metric_ != "bleu" && select_metric_ != "exact_match" &&
        select_metric_ != "perplexity")
      throw UserError(
          "config: train.select_metric \"{}\" is not one of bleu, exact_match, perplexity",
          select_metric_);
    greedy_.beam = 1;
  }

  torch::nn::Module& model() override { return *tr_.model; }

  std::vector<std::vector<size_t>> epoch_batches(uint64_t seed) override {
    return make_batches(train_, batch_size_, /*shuffle=*/true, seed);
  }

  StepResult train_step(const std::vector<size_t>& indices) override {
    const Batch batch = collate(train_, indices);
    const auto rows = batch.tgt_out.ne(Vocab::kPad);
    hard_.begin_batch();
    const auto out =
        tr_.model->forward(batch.src, batch.src_lengths, batch.tgt_in, teacher_forcing_, rows);
    const auto targets = batch.tgt_out.masked_select(rows);
    auto loss = torch::nn::functional::cross_entropy(out.logits, targets, loss_options_);
    StepResult result;
    if (hard_.active()) result.terms.push_back({"nll", loss.detach()});
    if (hard_.active() && out.log_probs.defined()) {
      // The reward is the unsmoothed log-likelihood of the target.
      const auto nll = torch::nn::functional::cross_entropy(
          out.logits.detach(), targets,
          torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
      loss = loss + hard_.loss(out.log_probs, out.entropies, rows, nll, &result.terms);
    }
    result.loss = loss;
    result.tokens = batch.target_tokens;
    return result;
  }

  // Perplexity (teacher forcing, no smoothing) and greedy BLEU / exact match.
  Evaluation evaluate() override {
    const double ppl = std::exp(tr_.mean_nll(valid_, decode_batch_));
    const auto ev = evaluate_translator(tr_, valid_src_, {valid_ref_}, greedy_, decode_batch_);
    Evaluation e;
    e.metrics = {
        {"valid_ppl", ppl}, {"valid_bleu", ev.bleu.score}, {"valid_exact_match", ev.exact_match}};
    e.score = select_metric_ == "bleu"          ? ev.bleu.score
              : select_metric_ == "exact_match" ? ev.exact_match
                                                : -ppl;
    e.summary = fmt::format("valid bleu {:.2f} exact {:.4f} ppl {:.2f}", ev.bleu.score,
                            ev.exact_match, ppl);
    return e;
  }

  nlohmann::json meta() const override { return tr_.meta(); }
  std::map<std::string, torch::Tensor> tensors() const override { return tr_.tensors(); }

  // Validation runs in fp32 whatever train.precision says, as eval does.
  void set_training(bool training) override {
    tr_.model->train(training);
    tr_.model->decoder->set_projection_dtype(training ? projection_dtype_ : torch::kFloat32);
  }

 private:
  Translator& tr_;
  const std::vector<Example>& train_;
  const std::vector<Example>& valid_;
  std::vector<std::string> valid_src_, valid_ref_;
  int64_t batch_size_;
  double teacher_forcing_;
  std::string select_metric_;
  torch::Dtype projection_dtype_;
  torch::nn::functional::CrossEntropyFuncOptions loss_options_;
  int64_t decode_batch_;
  SearchOptions greedy_;
  HardAttentionTraining hard_;
};

}  // namespace

std::string train_translator(const nlohmann::json& config_in, const std::string& out_dir,
                             bool resume) {
  const auto& tc = config_in.at("train");
  auto checkpoint = begin_run(LoopOptions::from_json(tc), out_dir, resume, "translate");
  const auto data = load_translation_data(config_in.at("data"));
  std::unique_ptr<Translator> translator;
  if (checkpoint) {
    translator = std::make_unique<Translator>(*checkpoint);
    // The run's model, data and vocabularies stay; training and decoding settings may change.
    translator->config["train"] = config_in.at("train");
    translator->config["decode"] = config_in.at("decode");
  } else {
    std::fprintf(stderr, "building tokenizers and vocabularies from %zu training pairs\n",
                 data.train.size());
    translator = std::make_unique<Translator>(config_in, data.train);
  }
  Translator& tr = *translator;
  const nlohmann::json& config = tr.config;
  Seq2Seq& model = tr.model;

  int64_t skipped = 0;
  const int64_t max_length = config.at("data").at("max_length");
  const auto train = encode_all(tr, data.train, max_length, &skipped);
  const auto valid = encode_all(tr, data.valid, 0, nullptr);
  if (train.empty())
    throw UserError("no training pairs left after the length filter (data.max_length)");
  std::vector<std::string> valid_src, valid_ref;
  const int64_t valid_max = tc.at("valid_max_sentences");
  for (const auto& p : data.valid) {
    if (valid_max > 0 && static_cast<int64_t>(valid_src.size()) >= valid_max) break;
    valid_src.push_back(p.src);
    valid_ref.push_back(p.tgt);
  }
  write_json_file(out_dir + "/config.json", config);
  tr.src_vocab.save(out_dir + "/vocab.src.json");
  tr.tgt_vocab.save(out_dir + "/vocab.tgt.json");
  std::fprintf(stderr,
               "data: %zu train pairs (%lld longer than %lld skipped), %zu valid | vocab: %lld "
               "src, %lld tgt | "
               "model: %lld parameters, attention %s\n",
               train.size(), static_cast<long long>(skipped), static_cast<long long>(max_length),
               valid.size(), static_cast<long long>(tr.src_vocab.size()),
               static_cast<long long>(tr.tgt_vocab.size()),
               static_cast<long long>(model->num_parameters()),
               config.at("model").at("attention").get<std::string>().c_str());

  TranslationTask task(tr, train, valid, valid_src, valid_ref, tc);
  run_training(task, LoopOptions::from_json(tc), out_dir, std::move(checkpoint));
  return out_dir + "/checkpoint.pt";
}

}  // namespace attnzoo
