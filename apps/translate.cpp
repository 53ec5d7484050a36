// translate: train, evaluate and use attention-based translators.
//
//   translate train --config configs/translate/multi30k.json --out runs/m30k
//   translate eval --checkpoint runs/m30k/best.pt --json
//   translate predict --checkpoint runs/m30k/best.pt --beam 5 < input.txt
//   translate bleu --hyp hyp.txt --ref ref.txt --json
//   translate attention --checkpoint runs/m30k/best.pt --text "ein hund ." --png a.png
//   translate export --checkpoint runs/m30k/best.pt --out m30k.pt [--freeze]
//   translate average --checkpoint a.pt b.pt c.pt --out avg.pt
//   translate eval --checkpoint runs/a/best.pt --checkpoint runs/b/best.pt   (an ensemble)
#include <CLI/CLI.hpp>

#include <filesystem>
#include <iostream>

#include "apps/cli_checks.h"
#include "apps/train_flags.h"
#include "attnzoo/version.h"
#include "data/error.h"
#include "data/files.h"
#include "data/text_io.h"
#include "eval/alignment_plot.h"
#include "eval/bleu.h"
#include "eval/line_plot.h"
#include "tasks/translate_config.h"
#include "tasks/translator_training.h"
#include "train/config.h"
#include "train/device.h"
#include "train/runtime.h"

using namespace attnzoo;

namespace {

struct DecodeArgs {
  std::vector<std::string> checkpoints;  // several: an ensemble
  int64_t beam = -1, batch_size = -1, threads = 0;
  double length_penalty = -1, coverage_penalty = -1;
  std::string device = "cpu";
  bool replace_unk = false;
  std::string phrase_table;
  ShortlistOptions shortlist{0, -1};  // frequent -1: not given (100)
  std::string quantize;
};

// One text for --quantize wherever it is taken (eval, predict, attention, export).
constexpr const char* kQuantizeHelp =
    "int8: the decoder's recurrent cells, maxout readout and vocabulary projection with int8 "
    "weights (per row) and int8 activations (per call), through torch.ops.quantized on the CPU; "
    "export writes them into the file";

void add_decode_options(CLI::App* cmd, DecodeArgs& a) {
  cmd->add_option("--checkpoint", a.checkpoints,
                  "Checkpoint file (best.pt or checkpoint.pt); repeat for an ensemble (the mean "
                  "of the models' log-probabilities at each step)")
      ->required();
  cmd->add_option("--beam", a.beam, "Beam size (1 = greedy; default: the checkpoint's decode.beam)")
      ->check(at_least(1));
  cmd->add_option("--length-penalty", a.length_penalty,
                  "GNMT length penalty alpha (default: the checkpoint's)")
      ->check(at_least(0));
  cmd->add_option("--coverage-penalty", a.coverage_penalty,
                  "Coverage penalty beta of Wu et al. 2016 (default: the checkpoint's "
                  "decode.coverage_penalty, 0)")
      ->check(at_least(0));
  cmd->add_option("--batch-size", a.batch_size, "Sentences decoded together")->check(at_least(1));
  cmd->add_flag("--replace-unk", a.replace_unk,
                "Replace each <unk> of an output by the source token its attention weighs most");
  cmd->add_option("--phrase-table", a.phrase_table,
                  "With --replace-unk: 'source ||| target' lines; a source token found here is "
                  "replaced by its target")
      ->check(CLI::ExistingFile);
  cmd->add_option("--shortlist", a.shortlist.per_word,
                  "Lexical shortlist: each step projects only onto the target words that "
                  "co-occur most with the batch's source words in the checkpoint's training "
                  "data, this many per source word (0: the whole vocabulary)")
      ->check(at_least(0));
  cmd->add_option("--shortlist-frequent", a.shortlist.frequent,
                  "With --shortlist: the most frequent target words always in it (default 100)")
      ->check(at_least(0));
  cmd->add_option("--quantize", a.quantize, kQuantizeHelp)->check(CLI::IsMember({"int8"}));
  cmd->add_option("--threads", a.threads, "ATen threads (0: auto, see docs/formats.md)")
      ->check(at_least(0))
      ->capture_default_str();
  add_device_flag(cmd, a.device);
}

// --quantize and --shortlist on a loaded translator (decode and export alike).
void apply_speedups(Translator& t, const std::string& quantize, ShortlistOptions shortlist,
                    const std::string& device) {
  if (shortlist.frequent >= 0 && shortlist.per_word == 0)
    throw UserError("--shortlist-frequent works with --shortlist K; add it");
  if (shortlist.frequent < 0) shortlist.frequent = ShortlistOptions{}.frequent;
  const auto vocabulary = static_cast<int64_t>(t.tgt_vocab.size());
  if (shortlist.per_word >= vocabulary)
    throw UserError(
        "--shortlist {} is not below the target vocabulary's {} words: a shortlist that long "
        "is the whole vocabulary (leave --shortlist out)",
        shortlist.per_word, vocabulary);
  if (quantize == "int8") {
    if (parse_device(device) != torch::Device(torch::kCPU))
      throw UserError("--quantize int8 runs on the CPU; drop --device {}", device);
    t.quantize_int8();
  }
  if (shortlist.per_word > 0)
    t.build_shortlist(load_translation_data(t.config.at("data")).train, shortlist);
}

SearchOptions resolve_search(const Translator& t, const DecodeArgs& a) {
  auto o = search_options(t.config.at("decode"));
  if (a.beam > 0) o.beam = a.beam;
  if (a.length_penalty >= 0) o.length_penalty = a.length_penalty;
  if (a.coverage_penalty >= 0) o.coverage_penalty = a.coverage_penalty;
  return o;
}

// The first checkpoint's translator on the device, the others its ensemble members.
Translator load_translator(const DecodeArgs& d) {
  Translator translator{Checkpoint(d.checkpoints.front(), "translate")};
  translator.model->to(parse_device(d.device));
  for (size_t i = 1; i < d.checkpoints.size(); ++i)
    translator.add_ensemble_member(Translator{Checkpoint(d.checkpoints[i], "translate")},
                                   d.checkpoints[i]);
  if (!d.phrase_table.empty() && !d.replace_unk)
    throw UserError("--phrase-table works with --replace-unk; add it");
  if (d.replace_unk) {
    if (translator.model->options.attention() == AttentionKind::kNone)
      throw UserError("{}: --replace-unk needs attention, and this model has none",
                      d.checkpoints.front());
    translator.unk.replace = true;
    if (!d.phrase_table.empty()) translator.unk.phrase_table = read_phrase_table(d.phrase_table);
  }
  apply_speedups(translator, d.quantize, d.shortlist, d.device);
  return translator;
}

int64_t decode_batch(const Translator& t, const DecodeArgs& a) {
  return a.batch_size > 0 ? a.batch_size : t.config.at("decode").at("batch_size").get<int64_t>();
}

int run_train(const TrainFlags& a, const std::string& data_dir, const std::string& tsv) {
  auto config =
      base_train_config(a, default_translate_config(),
                        "train: --config is required (or --resume with an existing --out)");
  if (!tsv.empty()) {
    if (!data_dir.empty()) throw UserError("--tsv and --data-dir are two sources; give one");
    apply_override(config, "data.source=\"tsv\"");
    apply_override(config, "data.tsv=" + nlohmann::json(tsv).dump());
  }
  apply_train_flags(config, a);
  if (!data_dir.empty()) {
    const std::string source = config.at("data").at("source");
    if (source != "parallel")
      throw UserError(
          "--data-dir is for data.source parallel (a folder of <split>.<lang> files); this "
          "config's source is {}{}",
          source, source == "tsv" ? ", whose file is data.tsv (--set data.tsv=FILE)" : "");
    apply_override(config, "data.dir=" + nlohmann::json(data_dir).dump());
  }
  train_translator(config, a.out, a.start());
  return 0;
}

struct EvalArgs {
  std::string src, split = "test", output, by_length, label;
  std::vector<std::string> refs;
  bool lowercase = false, json = false;
  int64_t limit = 0;
};

int run_eval(const DecodeArgs& d, const EvalArgs& e) {
  const std::string& src = e.src;
  const std::vector<std::string>& refs = e.refs;
  const std::string& split = e.split;
  const int64_t limit = e.limit;
  set_threads(static_cast<int>(d.threads), 0);
  Translator translator = load_translator(d);
  std::vector<std::string> sources;
  std::vector<std::vector<std::string>> references;
  if (!src.empty()) {
    if (refs.empty()) throw UserError("eval: --src needs at least one --ref");
    sources = read_lines(src);
    for (const auto& r : refs) references.push_back(read_lines(r));
    for (size_t i = 0; i < refs.size(); ++i)
      if (references[i].size() != sources.size())
        throw UserError("{} has {} lines but {} has {}", refs[i], references[i].size(), src,
                        sources.size());
  } else {
    // The split named in the checkpoint's own data config.
    const auto data = load_translation_data(translator.config.at("data"));
    const auto& pairs = split == "valid" ? data.valid : data.test;
    if (pairs.empty())
      throw UserError("eval: the checkpoint's data has no {} split; pass --src and --ref", split);
    references.emplace_back();
    for (const auto& p : pairs) {
      sources.push_back(p.src);
      references[0].push_back(p.tgt);
    }
  }
  if (limit > 0 && static_cast<int64_t>(sources.size()) > limit) {
    sources.resize(limit);
    for (auto& r : references) r.resize(limit);
  }
  BleuOptions bleu;
  bleu.lowercase = e.lowercase;
  const auto search = resolve_search(translator, d);
  const auto ev = evaluate_translator(translator, sources, references, search,
                                      decode_batch(translator, d), bleu,
                                      /*show_progress=*/!e.json);
  if (!e.output.empty()) write_lines(e.output, ev.hypotheses);
  if (!e.by_length.empty()) {
    nlohmann::json buckets = nlohmann::json::array();
    for (const auto& b : bleu_by_source_length(sources, ev.hypotheses, references, 5, 25, bleu))
      buckets.push_back(
          {{"from", b.from}, {"to", b.to}, {"sentences", b.sentences}, {"bleu", b.bleu}});
    write_json_file(e.by_length, {{"label", e.label.empty() ? d.checkpoints.front() : e.label},
                                  {"attention", translator.config.at("model").at("attention")},
                                  {"bleu", ev.bleu.score},
                                  {"buckets", buckets}});
  }
  auto j = ev.to_json();
  if (d.replace_unk) j["unk_replaced"] = translator.unk.replaced;
  j["beam"] = search.beam;
  j["length_penalty"] = search.length_penalty;
  j["coverage_penalty"] = search.coverage_penalty;
  j["shortlist"] = d.shortlist.per_word;
  j["quantize"] = d.quantize.empty() ? "fp32" : d.quantize;
  j["perplexity"] = nullptr;  // of one model; an ensemble has none here
  if (translator.ensemble.empty()) {
    std::vector<Example> examples;
    for (size_t i = 0; i < sources.size(); ++i)
      examples.push_back(translator.encode({sources[i], references[0][i]}));
    j["perplexity"] = std::exp(translator.mean_nll(examples, decode_batch(translator, d)));
  }
  if (e.json) {
    std::cout << j.dump() << std::endl;
  } else {
    std::cout << fmt::format(
        "BLEU {:.2f}  exact match {:.4f}  perplexity {}  {} sentences, {:.1f} sentences/s "
        "(beam {}{})\n",
        ev.bleu.score, ev.exact_match,
        j["perplexity"].is_null() ? "-" : fmt::format("{:.2f}", j["perplexity"].get<double>()),
        ev.sentences, ev.sentences_per_sec, search.beam,
        translator.ensemble.empty()
            ? ""
            : fmt::format(", ensemble of {}", translator.ensemble.size() + 1));
    if (d.replace_unk) std::cout << translator.unk.replaced << " <unk> replaced\n";
  }
  return 0;
}

int run_predict(const DecodeArgs& d, int64_t n_best) {
  set_threads(static_cast<int>(d.threads), 0);
  Translator translator = load_translator(d);
  auto search = resolve_search(translator, d);
  search.n_best = std::max<int64_t>(1, n_best);
  // A beam holds `beam` hypotheses (zoo-serve refuses the same).
  if (search.n_best > search.beam)
    throw UserError(
        "--n-best {} is above the beam ({}{}), which holds only that many "
        "hypotheses: add --beam {} or more",
        search.n_best, search.beam, d.beam > 0 ? "" : ", the checkpoint's decode.beam",
        search.n_best);
  // stdin in shards (as OpenNMT's -shard_size): memory stays bounded on any
  // input, and each shard is sorted by length for batching inside translate().
  constexpr size_t kShardLines = 10000, kShardBytes = size_t{64} << 20;
  InputLines input(std::cin, "stdin");
  size_t first = 0;  // index of the shard's first line in the whole input
  bool more = true;
  while (more) {
    std::vector<std::string> shard;
    size_t bytes = 0;
    std::string line;
    while (shard.size() < kShardLines && bytes < kShardBytes && (more = input.next(line))) {
      bytes += line.size();
      shard.push_back(std::move(line));
    }
    if (shard.empty()) break;
    const auto out = translator.translate(shard, search, decode_batch(translator, d));
    for (size_t i = 0; i < out.size(); ++i) {
      if (search.n_best == 1) {
        std::cout << out[i].text << '\n';
      } else {
        for (const auto& h : out[i].n_best) std::cout << first + i << " ||| " << h << '\n';
      }
    }
    std::cout.flush();
    first += shard.size();
  }
  if (d.replace_unk) std::cerr << translator.unk.replaced << " <unk> replaced\n";
  return 0;
}

int run_bleu(const std::string& hyp, const std::vector<std::string>& refs, bool lowercase,
             const std::string& tokenize, bool json) {
  const auto hypotheses = read_lines(hyp);
  std::vector<std::vector<std::string>> references;
  for (const auto& r : refs) {
    references.push_back(read_lines(r));
    if (references.back().size() != hypotheses.size())
      throw UserError("{} has {} lines but {} has {}", r, references.back().size(), hyp,
                      hypotheses.size());
  }
  BleuOptions o;
  o.lowercase = lowercase;
  o.tokenize = tokenize;
  const auto b = corpus_bleu(hypotheses, references, o);
  if (json) {
    std::cout << b.to_json().dump() << std::endl;
  } else {
    std::cout << fmt::format(
        "BLEU = {:.2f} {:.1f}/{:.1f}/{:.1f}/{:.1f} (BP = {:.3f} ratio = {:.3f} hyp_len = {} "
        "ref_len = {})\n",
        b.score, b.precisions[0], b.precisions[1], b.precisions[2], b.precisions[3], b.bp,
        b.ref_len > 0 ? static_cast<double>(b.sys_len) / b.ref_len : 0.0, b.sys_len, b.ref_len);
  }
  return 0;
}

int run_plot_lengths(const std::vector<std::string>& inputs, const std::string& png) {
  std::vector<std::string> labels;
  std::vector<Series> series;
  for (const auto& path : inputs) {
    const auto j = read_json_file(path);
    if (!j.contains("buckets") || !j["buckets"].is_array())
      throw UserError("{}: not a file from 'translate eval --by-length'", path);
    std::vector<std::string> these;
    Series s;
    s.name = j.value("label", path);
    for (const auto& b : j["buckets"]) {
      const int64_t from = b.at("from"), to = b.at("to");
      these.push_back(to > 0 ? fmt::format("{}-{}", from, to) : fmt::format("{}+", from));
      s.y.push_back(b.at("bleu"));
    }
    if (labels.empty()) labels = these;
    if (these != labels)
      throw UserError("{}: its length buckets differ from {}'s (another test set?)", path,
                      inputs[0]);
    series.push_back(std::move(s));
  }
  plot_lines(labels, series, "BLEU by source sentence length", "source words", "BLEU", png);
  std::cerr << "plot written to " << png << '\n';
  return 0;
}

int run_attention(const DecodeArgs& d, const std::string& text, const std::string& png) {
  set_threads(static_cast<int>(d.threads), 0);
  Translator translator = load_translator(d);
  if (translator.model->options.attention() == AttentionKind::kNone)
    throw UserError("{}: this model has no attention (attention: none); there is nothing to plot",
                    d.checkpoints.front());
  const auto out =
      translator.translate({check_input_line(text, "--text")}, resolve_search(translator, d), 1)
          .front();
  if (out.output_tokens.empty()) throw UserError("--text: empty; there is nothing to translate");
  if (!out.attention.defined())
    throw UserError(
        "--checkpoint: a model of the ensemble has no attention; there is nothing to plot");
  plot_alignment(out.attention, out.source_tokens, out.output_tokens, png,
                 text + "  ->  " + out.text);
  std::cout << out.text << '\n';
  std::cerr << "alignment plot written to " << png << '\n';
  return 0;
}

int run_average(const std::vector<std::string>& checkpoints, const std::string& out) {
  refuse_overwriting_inputs(out, "--out", checkpoints);
  auto averaged = average_translators(checkpoints);
  auto meta = averaged.meta();
  meta["averaged_from"] = checkpoints;
  save_checkpoint(out, meta, *averaged.model, nullptr, averaged.tensors());
  std::cout << "wrote " << out << ": the parameter average of " << checkpoints.size()
            << " checkpoints (decode it as any checkpoint; it cannot resume training)" << std::endl;
  return 0;
}

int run_phrase_table(const std::string& checkpoint, const std::string& out,
                     const PhraseTableOptions& options) {
  refuse_overwriting_inputs(out, "--out", {checkpoint});
  const Translator translator{Checkpoint(checkpoint, "translate")};
  const auto table =
      translator.phrase_table(load_translation_data(translator.config.at("data")).train, options);
  if (table.empty())
    throw UserError("{}: no source word passes --min-together {} and --min-dice {}", checkpoint,
                    options.min_together, options.min_dice);
  const size_t written = write_phrase_table(out, table);
  std::cout << "wrote " << out << ": " << written
            << " source words, each with its most associated target word in the training data"
            << std::endl;
  return 0;
}

struct TranslateExportArgs {
  bool replace_unk = false;
  std::string phrase_table, quantize;
  ShortlistOptions shortlist{0, -1};  // frequent -1: not given (100)
};

int run_export(const ExportFlags& f, const TranslateExportArgs& a) {
  const bool replace_unk = a.replace_unk;
  const std::string& phrase_table = a.phrase_table;
  const Checkpoint checkpoint(f.checkpoint, "translate");
  Translator translator(checkpoint);
  apply_speedups(translator, a.quantize, a.shortlist, "cpu");
  if (!phrase_table.empty() && !replace_unk)
    throw UserError("--phrase-table works with --replace-unk; add it");
  if (replace_unk && translator.model->options.attention() == AttentionKind::kNone)
    throw UserError("{}: --replace-unk needs attention, and this model has none", f.checkpoint);
  translator.unk.replace = replace_unk;
  if (!phrase_table.empty()) translator.unk.phrase_table = read_phrase_table(phrase_table);
  torch::jit::ExtraFilesMap files;
  const auto module = export_translator(translator, &files);
  auto config = translator.config;
  config["export"] = {
      {"quantize", a.quantize.empty() ? "fp32" : a.quantize},
      {"shortlist", a.shortlist.per_word},
      {"shortlist_frequent", a.shortlist.per_word == 0   ? 0
                             : a.shortlist.frequent >= 0 ? a.shortlist.frequent
                                                         : ShortlistOptions{}.frequent}};
  write_export(module, f, "translate", config, translator_methods(files.empty()), files);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "translate: attention-based sequence-to-sequence translation (attnzoo " ATTNZOO_VERSION ")"};
  app.require_subcommand(1);

  TrainFlags train;
  std::string data_dir, tsv;
  auto* cmd_train =
      app.add_subcommand("train", "Train a translator; stop and --resume at any time");
  add_train_flags(cmd_train, train, "JSON config (configs/translate/*.json)", "Sentences",
                  choice_names(attention_kinds(), {}, " | "));
  cmd_train->add_option("--data-dir", data_dir,
                        "Folder with <split>.<lang>[.gz] files (overrides data.dir)");
  cmd_train->add_option("--tsv", tsv,
                        "One file of 'source<TAB>target' lines (sets data.source tsv and data.tsv; "
                        "data.valid_fraction and data.test_fraction of it are held out)");

  DecodeArgs eval_args;
  EvalArgs eval;
  auto* cmd_eval = app.add_subcommand(
      "eval", "Translate a test set and score it (BLEU as sacreBLEU, exact match)");
  add_decode_options(cmd_eval, eval_args);
  cmd_eval->add_option("--src", eval.src,
                       "Source sentences, one per line (default: the checkpoint's test split)");
  cmd_eval->add_option("--ref", eval.refs,
                       "Reference translations (repeat for several references)");
  cmd_eval->add_option("--split", eval.split, "test | valid, when --src is not given")
      ->check(CLI::IsMember({"test", "valid"}))
      ->capture_default_str();
  cmd_eval->add_option("--output", eval.output, "Write the translations to this file");
  cmd_eval->add_option("--by-length", eval.by_length,
                       "Write BLEU by source length (5-word buckets) to this JSON file");
  cmd_eval->add_option("--label", eval.label, "Name of this model in --by-length output");
  cmd_eval->add_option("--limit", eval.limit, "Evaluate only the first N sentences")
      ->check(at_least(0));
  cmd_eval->add_flag("--lowercase", eval.lowercase, "Case-insensitive BLEU");
  cmd_eval->add_flag("--json", eval.json, "Print one JSON object");

  std::vector<std::string> plot_inputs;
  std::string plot_png;
  auto* cmd_plot = app.add_subcommand(
      "plot-lengths", "Plot BLEU by source length for several 'eval --by-length' files");
  cmd_plot->add_option("--json", plot_inputs, "Files from eval --by-length (repeat)")->required();
  cmd_plot->add_option("--png", plot_png, "Output image")->required();

  DecodeArgs predict_args;
  int64_t n_best = 1;
  auto* cmd_predict = app.add_subcommand("predict", "Translate lines from stdin to stdout");
  add_decode_options(cmd_predict, predict_args);
  cmd_predict->add_option("--n-best", n_best, "Print the N best translations as 'i ||| text'")
      ->check(at_least(1));

  std::string bleu_hyp, bleu_tokenize = "13a";
  std::vector<std::string> bleu_refs;
  bool bleu_lowercase = false, bleu_json = false;
  auto* cmd_bleu =
      app.add_subcommand("bleu", "Corpus BLEU of a hypothesis file, identical to sacreBLEU");
  cmd_bleu->add_option("--hyp", bleu_hyp, "Hypotheses, one per line")->required();
  cmd_bleu->add_option("--ref", bleu_refs, "References (repeat for several)")->required();
  cmd_bleu->add_option("--tokenize", bleu_tokenize, "13a | none")
      ->check(CLI::IsMember({"13a", "none"}))
      ->capture_default_str();
  cmd_bleu->add_flag("--lowercase", bleu_lowercase, "Case-insensitive");
  cmd_bleu->add_flag("--json", bleu_json, "Print one JSON object");

  DecodeArgs attention_args;
  std::string text, png;
  auto* cmd_attention =
      app.add_subcommand("attention", "Translate one sentence and plot its alignment");
  add_decode_options(cmd_attention, attention_args);
  cmd_attention->add_option("--text", text, "Sentence to translate")->required();
  cmd_attention->add_option("--png", png, "Output image")->required();

  std::vector<std::string> average_inputs;
  std::string average_out;
  auto* cmd_average = app.add_subcommand(
      "average", "Average the parameters of checkpoints of one model (e.g. a run's last few)");
  cmd_average->add_option("--checkpoint", average_inputs, "Checkpoints (two or more)")
      ->required()
      ->expected(2, 1000);
  cmd_average->add_option("--out", average_out, "Checkpoint to write")->required();

  std::string table_checkpoint, table_out;
  PhraseTableOptions table_options;
  auto* cmd_table = app.add_subcommand(
      "phrase-table",
      "Write a word-level phrase table for --replace-unk: each source word of the checkpoint's "
      "training data with the target word that co-occurs with it most (Dice)");
  cmd_table->add_option("--checkpoint", table_checkpoint, "Checkpoint (its data and tokenizers)")
      ->required();
  cmd_table->add_option("--out", table_out, "Phrase table to write ('source ||| target' lines)")
      ->required();
  cmd_table
      ->add_option("--min-together", table_options.min_together,
                   "Keep a pair only if this many training sentences hold both words")
      ->check(at_least(1))
      ->capture_default_str();
  cmd_table
      ->add_option("--min-dice", table_options.min_dice,
                   "Keep a pair only if its Dice coefficient is at least this")
      ->check(between(0.0, 1.0))
      ->capture_default_str();

  ExportFlags export_flags;
  auto* cmd_export =
      add_export_command(app, export_flags, "a translator (weights, vocabularies, decoding)");
  TranslateExportArgs export_args;
  cmd_export->add_flag("--replace-unk", export_args.replace_unk,
                       "translate() and translate_batch() of the file replace each <unk> by the "
                       "source token its attention weighs most");
  cmd_export
      ->add_option("--phrase-table", export_args.phrase_table,
                   "With --replace-unk: 'source ||| target' lines, stored in the file")
      ->check(CLI::ExistingFile);
  cmd_export->add_option("--quantize", export_args.quantize, kQuantizeHelp)
      ->check(CLI::IsMember({"int8"}));
  cmd_export
      ->add_option("--shortlist", export_args.shortlist.per_word,
                   "Build a lexical shortlist into the file from the checkpoint's training "
                   "data: target words per source word (0: none)")
      ->check(at_least(0));
  cmd_export
      ->add_option("--shortlist-frequent", export_args.shortlist.frequent,
                   "With --shortlist: the most frequent target words always in it (default 100)")
      ->check(at_least(0));

  bool config_markdown = false;
  auto* cmd_config = add_config_command(app, config_markdown);
  CurvesFlags curves;
  auto* cmd_curves = add_curves_command(app, curves);

  return run_app(app, argc, argv, "translate", [&] {
    if (*cmd_config)
      return run_config(default_translate_config(), translate_config_help(), config_markdown);
    if (*cmd_curves) return run_curves(curves);
    if (*cmd_train) return run_train(train, data_dir, tsv);
    if (*cmd_eval) {
      auto inputs = eval.refs;
      inputs.insert(inputs.end(), eval_args.checkpoints.begin(), eval_args.checkpoints.end());
      inputs.push_back(eval.src);
      refuse_overwriting_inputs(eval.output, "--output", inputs);
      refuse_overwriting_inputs(eval.by_length, "--by-length", inputs);
      return run_eval(eval_args, eval);
    }
    if (*cmd_plot) {
      refuse_overwriting_inputs(plot_png, "--png", plot_inputs);
      return run_plot_lengths(plot_inputs, plot_png);
    }
    if (*cmd_predict) return run_predict(predict_args, n_best);
    if (*cmd_bleu) return run_bleu(bleu_hyp, bleu_refs, bleu_lowercase, bleu_tokenize, bleu_json);
    if (*cmd_attention) {
      refuse_overwriting_inputs(png, "--png", attention_args.checkpoints);
      return run_attention(attention_args, text, png);
    }
    if (*cmd_average) return run_average(average_inputs, average_out);
    if (*cmd_table) return run_phrase_table(table_checkpoint, table_out, table_options);
    if (*cmd_export) return run_export(export_flags, export_args);
    return 0;
  });
}
