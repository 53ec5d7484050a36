#include "fuzz/targets.h"

#include <unistd.h>

#include <cstdio>
#include <sstream>
#include <string>

#include "data/cifar10.h"
#include "data/error.h"
#include "data/exported.h"
#include "data/fashion_mnist.h"
#include "data/karpathy.h"
#include "data/parallel_corpus.h"
#include "data/text_io.h"
#include "data/timeseries.h"
#include "data/tokenizer.h"
#include "data/utf8.h"
#include "data/vocab.h"
#include "models/seq2seq.h"
#include "tasks/translation.h"
#include "train/checkpoint.h"
#include "train/config.h"
#include "train/curves.h"
#include "train/loop.h"

namespace attnzoo::fuzz {
namespace {

// The bytes as a file, for the readers that take a path: one per process,
// rewritten for every input (under /dev/shm where it exists).
class ScratchFile {
 public:
  explicit ScratchFile(const std::string& suffix) {
    const char* dir = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    path_ = std::string(dir) + "/attnzoo-fuzz-" + std::to_string(::getpid()) + suffix;
  }
  ~ScratchFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }
  const std::string& write(std::string_view bytes) {
    FILE* f = std::fopen(path_.c_str(), "wb");
    if (f == nullptr) throw std::runtime_error("fuzz: cannot write " + path_);
    std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
    return path_;
  }

 private:
  std::string path_;
};

const std::string& scratch(std::string_view bytes, const std::string& suffix = "") {
  static ScratchFile a(".a"), b(".b"), c(".c");
  ScratchFile& f = suffix == ".b" ? b : suffix == ".c" ? c : a;
  return f.write(bytes);
}

// User input: stdin lines, --text, and the tokenizers that read them.
void text_lines(std::string_view bytes) {
  std::istringstream in{std::string(bytes)};
  const auto lines = read_input_lines(in, "fuzz", 4096);
  TokenizerOptions word, chars, lower;
  chars.kind = "char";
  lower.lowercase = true;
  const auto tokenizers = {make_tokenizer(word), make_tokenizer(chars), make_tokenizer(lower)};
  for (const auto& line : lines) {
    check_input_line(line, "--text");
    for (const auto& t : tokenizers) {
      const auto tokens = t->tokenize(line);
      const auto back = t->detokenize(tokens);
      if (find_invalid_utf8(back) != std::string::npos)
        throw std::logic_error("a tokenizer made invalid UTF-8 from valid text");
    }
    to_lower(line);
    utf8_to_u32(line);
  }
}

// Two aligned files: the bytes cut in two at the first 0xFF (never in UTF-8).
void parallel_corpus(std::string_view bytes) {
  const auto cut = bytes.find('\xFF');
  const auto src = bytes.substr(0, cut);
  const auto tgt = cut == std::string_view::npos ? std::string_view() : bytes.substr(cut + 1);
  read_parallel(scratch(src, ".a"), scratch(tgt, ".b"));
}

void tsv_pairs(std::string_view bytes) { read_tsv_pairs(scratch(bytes)); }

void csv(std::string_view bytes) {
  const auto table = read_csv_series(scratch(bytes), "date", {});
  time_features(table.times);
}

// A config file, then an --set of its first line, over the translator's
// defaults; then the options the loop and the model read from it.
void config(std::string_view bytes) {
  auto config = merge_config(default_translate_config(), nlohmann::json::parse(bytes), "fuzz");
  const auto eol = bytes.find('\n');
  if (eol != std::string_view::npos) apply_override(config, std::string(bytes.substr(0, eol)));
  LoopOptions::from_json(config.at("train"));
  Seq2SeqOptions::from_json(config.at("model"), 16, 16);
  search_options(config.at("decode"));
}

void vocab(std::string_view bytes) {
  const auto v = Vocab::from_json(nlohmann::json::parse(bytes), "fuzz");
  v.decode(v.encode({"a", "<unk>", ""}));
}

void idx(std::string_view bytes) { read_idx(scratch(bytes)); }

void karpathy(std::string_view bytes) { read_karpathy(scratch(bytes)); }

void cifar10(std::string_view bytes) { read_cifar10_batch(scratch(bytes)); }

// A checkpoint: LibTorch's archive reader, then our meta record and model.
void checkpoint(std::string_view bytes) {
  const Checkpoint c(scratch(bytes), "translate");
  Translator t(c);
}

// An exported file: LibTorch's archive reader and TorchScript compiler, then
// our record, and the methods zoo-run lists.
void exported(std::string_view bytes) {
  std::istringstream in{std::string(bytes)};
  auto file = load_exported(in, "fuzz");
  file.app();
  for (const auto& method : file.module.get_methods()) method.function().getSchema();
}

// A metrics.jsonl (what `APP curves` reads), drawn as the loop draws it.
void metrics_log(std::string_view bytes) {
  static ScratchFile png(".png");
  const auto log = read_run_log(scratch(bytes));
  if (!log.lines.empty()) plot_curves({log, log}, "fuzz", png.path());
}

}  // namespace

const std::vector<NamedTarget>& targets() {
  static const std::vector<NamedTarget> all = {{"text_lines", text_lines},
                                               {"parallel_corpus", parallel_corpus},
                                               {"tsv_pairs", tsv_pairs},
                                               {"csv", csv},
                                               {"config", config},
                                               {"vocab", vocab},
                                               {"idx", idx},
                                               {"karpathy", karpathy},
                                               {"cifar10", cifar10},
                                               {"checkpoint", checkpoint},
                                               {"exported", exported},
                                               {"metrics_log", metrics_log}};
  return all;
}

Target find_target(const std::string& name) {
  for (const auto& t : targets())
    if (t.name == name) return t.run;
  return nullptr;
}

}  // namespace attnzoo::fuzz
