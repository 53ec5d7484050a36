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
#include "export/export.h"
#include "models/seq2seq.h"
#include "serve/http.h"
#include "serve/server.h"
#include "tasks/translate_config.h"
#include "tasks/translator_training.h"
#include "tests/export_cases.h"
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

// What one way of feeding the parser read: each request (method, path,
// query, body) or the error that ended the stream.
std::vector<std::string> parse_stream(std::string_view bytes, size_t piece,
                                      const serve::HttpLimits& limits,
                                      std::vector<serve::HttpRequest>* requests) {
  std::vector<std::string> read;
  serve::RequestParser parser(limits);
  while (!bytes.empty()) {
    const auto chunk = bytes.substr(0, piece);
    const size_t used = parser.feed(chunk);
    bytes.remove_prefix(used);
    const auto state = parser.state();
    if (state == serve::RequestParser::State::kError) {
      read.push_back("error " + std::to_string(parser.error_status()) + " " + parser.error());
      return read;
    }
    if (state == serve::RequestParser::State::kDone) {
      const auto& r = parser.request();
      read.push_back(r.method + " " + r.path + "?" + r.query + " " + r.body);
      if (requests != nullptr) requests->push_back(r);
      parser.reset();
    } else if (used < chunk.size()) {
      throw std::logic_error("the HTTP parser left bytes unread in the middle of a request");
    }
  }
  return read;
}

// Whole HTTP requests, as a connection delivers them, without a socket: the
// bytes fed to the request parser at once, byte by byte and 7 at a time
// (all three must read the same), and each request read answered by a
// ModelServer serving a translator and a forecaster (admitted first, as a
// connection does). An answer must be a status with a JSON body, an error's
// with "error"; once answered, no model holds a place in its queue.
void http_request(std::string_view bytes) {
  static serve::HttpLimits limits{2048, 16, 64u << 10u};
  static serve::ModelServer* server = [] {
    serve::ServerOptions o;
    o.model.max_wait_ms = 0;
    o.model.timeout_ms = 10000;
    o.model.max_items = 8;
    static ScratchFile translator_file(".translate.pt"), forecaster_file(".forecast.pt");
    auto translator = testing::make_translator(testing::translator_cases()[0]);
    save_export(export_translator(translator), translator_file.path(), "translate",
                translator.config);
    auto forecaster = testing::make_forecaster(testing::forecaster_cases()[0]);
    save_export(export_forecaster(*forecaster.f), forecaster_file.path(), "forecast",
                forecaster.f->config);
    auto* s = new serve::ModelServer(o);  // for the process's life
    s->add_model("m", translator_file.path());
    s->add_model("f", forecaster_file.path());
    return s;
  }();
  std::vector<serve::HttpRequest> requests;
  const auto whole = parse_stream(bytes, bytes.size(), limits, &requests);
  if (parse_stream(bytes, 1, limits, nullptr) != whole ||
      parse_stream(bytes, 7, limits, nullptr) != whole)
    throw std::logic_error("the HTTP parser reads the bytes differently when they come in pieces");
  for (auto& request : requests) {
    // Admitted as a connection admits it (a place in its model's queue), then answered.
    const auto refused = server->admit(request);
    const auto response = refused ? *refused : server->answer(request);
    if (response.status < 200 || response.status > 599)
      throw std::logic_error("an answer with status " + std::to_string(response.status));
    const auto body = nlohmann::json::parse(response.body);  // must be JSON
    if (response.status >= 400 && !body.contains("error"))
      throw std::logic_error("an error answer without \"error\"");
    const auto text = serve::serialize(response, true);
    if (text.find("\r\n\r\n") != text.find("\r\n\r\n" + response.body))
      throw std::logic_error("a response head that ends early (a header split it)");
  }
  requests.clear();  // every place taken in a queue is given back
  for (const char* name : {"m", "f"}) {
    serve::HttpRequest info;
    info.method = "GET";
    info.path = std::string("/v1/models/") + name;
    if (nlohmann::json::parse(server->answer(info).body).at("queued") != 0)
      throw std::logic_error(std::string("model ") + name + " keeps places after its requests");
  }
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
                                               {"metrics_log", metrics_log},
                                               {"http_request", http_request}};
  return all;
}

Target find_target(const std::string& name) {
  for (const auto& t : targets())
    if (t.name == name) return t.run;
  return nullptr;
}

}  // namespace attnzoo::fuzz
