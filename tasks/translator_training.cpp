#include "tasks/translator_training.h"

#include <chrono>
#include <fstream>

#include "data/dates.h"
#include "data/error.h"
#include "data/text_io.h"
#include "tasks/hard_attention.h"
#include "train/config.h"
#include "train/device.h"
#include "train/distributed.h"
#include "train/loop.h"
#include "train/progress.h"
#include "train/runtime.h"
#include "train/schedule.h"

namespace attnzoo {

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
    const Batch batch = collate(train_, indices).to(module_device(*tr_.model));
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
                             RunStart start) {
  const auto& tc = config_in.at("train");
  auto checkpoint = begin_run(LoopOptions::from_json(tc), out_dir, start, "translate");
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
  if (world().main()) {
    write_json_file(out_dir + "/config.json", config);
    tr.src_vocab.save(out_dir + "/vocab.src.json");
    tr.tgt_vocab.save(out_dir + "/vocab.tgt.json");
  }
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
