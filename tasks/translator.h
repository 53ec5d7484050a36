#pragma once
// The translator as a checkpoint holds it (config, tokenizers, vocabularies
// and Seq2Seq), translating with the searches, and its evaluation (BLEU,
// exact match, speed).
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "data/batching.h"
#include "data/parallel_corpus.h"
#include "data/shortlist.h"
#include "data/tokenizer.h"
#include "data/vocab.h"
#include "eval/bleu.h"
#include "models/search.h"
#include "models/seq2seq.h"
#include "train/checkpoint.h"

namespace attnzoo {

// The searches' options from a config's "decode" section; bos and eos from the vocabulary.
SearchOptions search_options(const nlohmann::json& decode_config);

struct Translation {
  std::string text;                        // detokenised output
  std::vector<std::string> source_tokens;  // as the model saw them, with <eos>
  std::vector<std::string> output_tokens;  // with <eos> when produced
  torch::Tensor attention;                 // (output, source) weights
  double score = 0.0;
  std::vector<std::string> n_best;  // all hypotheses' texts, best first
};

// OpenNMT's -replace_unk: each <unk> of an output becomes the source token
// its attention row weighs most (not <eos>), or that token's entry in the
// phrase table. Word-level models; it needs attention.
struct UnkReplacement {
  bool replace = false;
  std::map<std::string, std::string> phrase_table;  // source token -> target text
  int64_t replaced = 0;                             // over every translate() call
};

// A phrase table: "source ||| target" lines (OpenNMT's format; blank lines
// skipped; a later line wins). UserError names the file and line of a bad one.
std::map<std::string, std::string> read_phrase_table(const std::string& path);
// Writes one, atomically, sorted by source token; returns the lines written
// (a token the format cannot hold is left out).
size_t write_phrase_table(const std::string& path, const std::map<std::string, std::string>& table);

// Everything needed to translate: a checkpoint holds exactly this.
class Translator {
 public:
  // A new, untrained translator for `config`; tokenizers and vocabularies are
  // built from `train` (SentencePiece models are trained on it).
  Translator(const nlohmann::json& config, const std::vector<SentencePair>& train);
  // The translator stored in a checkpoint.
  explicit Translator(const Checkpoint& checkpoint);

  Example encode(const SentencePair& pair) const;
  std::vector<int64_t> encode_source(const std::string& text) const;
  std::vector<Translation> translate(const std::vector<std::string>& sources,
                                     const SearchOptions& options, int64_t batch_size,
                                     bool show_progress = false);
  // The search's length limit of each sentence of a batch: decode.max_len_ratio
  // times its source length (with <eos>) plus decode.max_len_offset.
  std::vector<int64_t> max_lengths(const torch::Tensor& source_lengths) const;
  // A hypothesis's words (up to <eos>), its <unk> replaced when `unk` says so;
  // `source` holds the source tokens and <eos>.
  std::vector<std::string> output_words(const Hypothesis& h,
                                        const std::vector<std::string>& source);

  // The search's view of a batch: the model, or the ensemble of it and `ensemble`.
  std::unique_ptr<StepModel> stepper(const Batch& batch) const;
  // Mean per-token negative log-likelihood (nats) of `pairs` under teacher forcing.
  double mean_nll(const std::vector<Example>& examples, int64_t batch_size);

  // Decodes with `other` too, as an ensemble (translate, evaluate): the mean
  // of the models' log-probabilities at each step (EnsembleStepModel).
  // UserError naming `where` when its tokenizers or vocabularies differ.
  void add_ensemble_member(const Translator& other, const std::string& where);

  // The checkpoint's meta and tensors for this translator.
  nlohmann::json meta() const;
  std::map<std::string, torch::Tensor> tensors() const;

  nlohmann::json config;
  std::shared_ptr<Tokenizer> src_tokenizer, tgt_tokenizer;
  Vocab src_vocab, tgt_vocab;
  Seq2Seq model{nullptr};
  std::vector<Seq2Seq> ensemble;  // members besides `model` (add_ensemble_member)
  UnkReplacement unk;             // off unless asked for
  // Decoding projects onto each batch's shortlist candidates only (null: the whole vocabulary).
  std::shared_ptr<const LexicalShortlist> shortlist;
  // A shortlist from `pairs` (the training data), for this translator's vocabularies.
  void build_shortlist(const std::vector<SentencePair>& pairs, const ShortlistOptions& options);
  // A word-level phrase table for --replace-unk from `pairs` (the training
  // data), over this translator's tokens (dice_phrase_table).
  std::map<std::string, std::string> phrase_table(const std::vector<SentencePair>& pairs,
                                                  const PhraseTableOptions& options) const;
  // int8 vocabulary projections for decoding, in the model and every ensemble member.
  void quantize_int8();

 private:
  void build_model();
};

// The parameter average of the translators in `checkpoints` (checkpoint
// averaging, as OpenNMT's average_models): one model shape, tokenizers and
// vocabularies, else a UserError naming the file that differs. Config and
// vocabularies are the first's.
Translator average_translators(const std::vector<std::string>& checkpoints);

struct TranslationEval {
  BleuScore bleu;
  double exact_match = 0.0;
  double sentences_per_sec = 0.0;
  int64_t sentences = 0;
  std::vector<std::string> hypotheses;
  nlohmann::json to_json() const;
};

// Translates `sources` and scores them against `references` (one or more sets).
TranslationEval evaluate_translator(Translator& translator, const std::vector<std::string>& sources,
                                    const std::vector<std::vector<std::string>>& references,
                                    const SearchOptions& options, int64_t batch_size,
                                    const BleuOptions& bleu = {}, bool show_progress = false);

}  // namespace attnzoo
