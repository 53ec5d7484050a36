#include "tasks/translate_config.h"

#include "models/attention.h"
#include "tasks/hard_attention.h"
#include "train/config.h"
#include "train/loop.h"

namespace attnzoo {

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
    "decode": {"beam": 5, "length_penalty": 0.6, "coverage_penalty": 0.0, "max_len_ratio": 2.0,
               "max_len_offset": 10, "batch_size": 64, "max_source_tokens": 256}
  })");
  config["train"] = with_loop_defaults(config.at("train"));
  config["train"]["hard"] = default_hard_attention_config();
  return config;
}

nlohmann::json translate_config_help() {
  auto help = nlohmann::json::parse(R"json({
    "data": {
      "source": "where the sentence pairs come from: parallel (files per split and language in data.dir), tsv (one file, data.tsv) or dates (generated)",
      "dir": "parallel: the folder of <split>.<lang> files, plain or .gz (--data-dir)",
      "src_lang": "parallel: the source files' extension (train.de)",
      "tgt_lang": "parallel: the target files' extension (train.en)",
      "train": "parallel: the training split's file name before .<lang>",
      "valid": "parallel: the validation split's file name",
      "test": "parallel: the test split's file name; empty: none",
      "tsv": "tsv: the file of 'source<TAB>target[<TAB>anything]' lines (Tatoeba / manythings format)",
      "tsv_swap": "tsv: the second column is the source",
      "valid_fraction": "tsv: the share of pairs held out for validation",
      "test_fraction": "tsv: the share of pairs held out for testing",
      "dates": {
        "train_size": "dates: training pairs generated",
        "valid_size": "dates: validation pairs generated",
        "test_size": "dates: test pairs generated",
        "seed": "dates: the generator's seed (validation and test use seed+1000, seed+2000)"
      },
      "max_length": "training pairs with more tokens than this on either side are skipped; 0: keep all"
    },
    "tokenizer": {
      "src": {
        "kind": "source tokenizer: word (words and punctuation), char, or SentencePiece bpe / unigram trained on the training text",
        "lowercase": "lowercase the source before tokenising",
        "vocab_size": "bpe / unigram: SentencePiece's vocabulary size"
      },
      "tgt": {
        "kind": "target tokenizer: word, char, bpe or unigram",
        "lowercase": "lowercase the target before tokenising",
        "vocab_size": "bpe / unigram: SentencePiece's vocabulary size"
      }
    },
    "vocab": {
      "min_freq": "tokens seen fewer times in training become <unk>",
      "max_size": "keep at most this many tokens besides the 4 specials; 0: no limit"
    },
    "model": {
      "embedding_size": "token embedding size, source and target",
      "encoder_hidden_size": "encoder GRU/LSTM hidden size (per direction)",
      "decoder_hidden_size": "decoder GRU/LSTM hidden size",
      "encoder_layers": "stacked encoder layers",
      "decoder_layers": "stacked decoder layers",
      "bidirectional": "a bidirectional encoder",
      "rnn": "gru or lstm",
      "dropout": "dropout on embeddings and between layers",
      "attention": "",
      "attention_size": "additive attention's hidden size; 0: the decoder's hidden size",
      "readout_size": "maxout deep-output layer size; 0: predict from [state; context; embedding] directly",
      "hard_eval": "hard attention at evaluation: argmax (the most likely location) or expectation"
    },
    "train": {
      "batch_size": "sentence pairs per batch (--batch-size)",
      "label_smoothing": "label smoothing of the cross-entropy, in [0, 1)",
      "teacher_forcing": "probability of feeding the true previous token (1: always)",
      "select_metric": "what picks best.pt and steers the plateau schedule: bleu, exact_match or perplexity",
      "valid_max_sentences": "validate on at most this many sentences; 0: the whole split",
      "precision": "fp32, or bf16: the vocabulary projection's GEMMs in bfloat16 with fp32 accumulation"
    },
    "decode": {
      "beam": "beam size of eval, predict and exported files (--beam); 1: greedy",
      "length_penalty": "GNMT length penalty alpha (--length-penalty); 0: none",
      "coverage_penalty": "GNMT coverage penalty beta (--coverage-penalty); 0: none",
      "max_len_ratio": "a translation stops at max_len_ratio x source length + max_len_offset tokens",
      "max_len_offset": "see max_len_ratio",
      "batch_size": "sentences decoded at once by eval and predict",
      "max_source_tokens": "longer sources are refused by predict, exported files and zoo-serve"
    }
  })json");
  help["train"] = with_loop_help(help.at("train"));
  help["train"]["hard"] = hard_attention_config_help();
  help["model"]["attention"] = attention_help();
  return help;
}

nlohmann::json load_translate_config(const std::string& path) {
  return merge_config(default_translate_config(), read_json_file(path), path);
}

}  // namespace attnzoo
