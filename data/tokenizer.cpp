#include "data/tokenizer.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <mutex>

#include "data/error.h"
#include "data/utf8.h"

namespace attnzoo {

nlohmann::json TokenizerOptions::to_json() const {
  return {{"kind", kind}, {"lowercase", lowercase}, {"vocab_size", vocab_size}};
}

TokenizerOptions TokenizerOptions::from_json(const nlohmann::json& j) {
  TokenizerOptions o;
  o.kind = j.value("kind", o.kind);
  o.lowercase = j.value("lowercase", o.lowercase);
  o.vocab_size = j.value("vocab_size", o.vocab_size);
  if (o.kind != "word" && o.kind != "char" && o.kind != "bpe" && o.kind != "unigram")
    throw UserError("tokenizer kind \"{}\" is not one of word, char, bpe, unigram", o.kind);
  return o;
}

namespace {

class WordTokenizer : public Tokenizer {
 public:
  explicit WordTokenizer(TokenizerOptions o) : Tokenizer(std::move(o)) {}

  std::vector<std::string> tokenize(const std::string& text) const override {
    const std::u32string s = utf8_to_u32(options_.lowercase ? to_lower(text) : text);
    std::vector<std::string> tokens;
    std::u32string word;
    // A punctuation mark is glued to its left neighbour when no space precedes it.
    bool glued_left = false;
    auto flush_word = [&] {
      if (!word.empty()) tokens.push_back(u32_to_utf8(word));
      word.clear();
    };
    for (size_t i = 0; i < s.size(); ++i) {
      const char32_t c = s[i];
      if (is_space(c)) {
        flush_word();
        continue;
      }
      if (!is_punct(c)) {
        word.push_back(c);
        continue;
      }
      glued_left = !word.empty() || (i > 0 && !is_space(s[i - 1]));
      flush_word();
      const bool glued_right = i + 1 < s.size() && !is_space(s[i + 1]);
      std::string token = u32_to_utf8(c);
      if (glued_left) token = kJoiner + token;
      if (glued_right) token += kJoiner;
      tokens.push_back(std::move(token));
    }
    flush_word();
    return tokens;
  }

  std::string detokenize(const std::vector<std::string>& tokens) const override {
    std::string out;
    bool glue_next = true;  // no space before the first token
    for (std::string token : tokens) {
      bool glue_this = glue_next;
      if (token.rfind(kJoiner, 0) == 0) {
        glue_this = true;
        token.erase(0, kJoiner.size());
      }
      glue_next = false;
      if (token.size() >= kJoiner.size() &&
          token.compare(token.size() - kJoiner.size(), kJoiner.size(), kJoiner) == 0) {
        glue_next = true;
        token.erase(token.size() - kJoiner.size());
      }
      if (!glue_this) out.push_back(' ');
      out += token;
    }
    return out;
  }
};

class CharTokenizer : public Tokenizer {
 public:
  explicit CharTokenizer(TokenizerOptions o) : Tokenizer(std::move(o)) {}

  std::vector<std::string> tokenize(const std::string& text) const override {
    const std::u32string s = utf8_to_u32(options_.lowercase ? to_lower(text) : text);
    std::vector<std::string> tokens;
    for (char32_t c : s) tokens.push_back(is_space(c) ? kSpaceSymbol : u32_to_utf8(c));
    return tokens;
  }

  std::string detokenize(const std::vector<std::string>& tokens) const override {
    std::string out;
    for (const auto& t : tokens) out += t == kSpaceSymbol ? " " : t;
    return out;
  }
};

// The SentencePiece shim (data/spm_shim.cpp), loaded once on first use.
struct SpmLibrary {
  const char* (*last_error)();
  void (*free_string)(char*);
  char* (*train)(const char* const*, size_t, const char*, size_t*);
  void* (*load)(const char*, size_t);
  void (*free)(void*);
  char* (*encode)(void*, const char*);
  char* (*decode)(void*, const char*);

  static const SpmLibrary& get() {
    static SpmLibrary lib;
    static std::once_flag once;
    static std::string error;
    std::call_once(once, [] { error = lib.open(); });
    if (!error.empty()) throw UserError("SentencePiece tokenizer unavailable: {}", error);
    return lib;
  }

 private:
  std::string open() {
    std::vector<std::string> candidates;
    if (const char* env = std::getenv("ATTNZOO_SPM_LIB")) candidates.push_back(env);
    std::error_code ec;
    const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (!ec) {
      candidates.push_back((exe.parent_path() / "../lib/libattnzoo_spm.so").string());
      candidates.push_back((exe.parent_path() / "libattnzoo_spm.so").string());
    }
    candidates.push_back(ATTNZOO_SPM_LIB_PATH);
    // Last, by name through the program's RPATH: where a program built
    // against an installed attnzoo finds it (attnzooConfig.cmake sets it).
    const std::string by_name = "libattnzoo_spm.so";
    candidates.push_back(by_name);
    void* handle = nullptr;
    std::string errors;
    for (const auto& path : candidates) {
      if (path != by_name && !std::filesystem::exists(path, ec)) continue;
#ifdef ATTNZOO_SANITIZE
      // AddressSanitizer refuses RTLD_DEEPBIND; a link namespace of its own
      // keeps SentencePiece's protobuf apart from LibTorch's just as well.
      handle = dlmopen(LM_ID_NEWLM, path.c_str(), RTLD_NOW | RTLD_LOCAL);
#else
      handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
#endif
      if (handle != nullptr) break;
      errors += std::string(dlerror()) + "; ";
    }
    if (handle == nullptr)
      return "cannot load libattnzoo_spm.so (" + errors + "set ATTNZOO_SPM_LIB)";
    auto sym = [&](const char* name) { return dlsym(handle, name); };
    last_error = reinterpret_cast<decltype(last_error)>(sym("attnzoo_spm_last_error"));
    free_string = reinterpret_cast<decltype(free_string)>(sym("attnzoo_spm_free_string"));
    train = reinterpret_cast<decltype(train)>(sym("attnzoo_spm_train"));
    load = reinterpret_cast<decltype(load)>(sym("attnzoo_spm_load"));
    free = reinterpret_cast<decltype(free)>(sym("attnzoo_spm_free"));
    encode = reinterpret_cast<decltype(encode)>(sym("attnzoo_spm_encode"));
    decode = reinterpret_cast<decltype(decode)>(sym("attnzoo_spm_decode"));
    if (!last_error || !free_string || !train || !load || !free || !encode || !decode)
      return "libattnzoo_spm.so lacks its functions";
    return "";
  }
};

// Owns a char* from the shim.
std::string take(const SpmLibrary& lib, char* s, size_t length) {
  std::string out(s, length);
  lib.free_string(s);
  return out;
}

class SentencePieceTokenizer : public Tokenizer {
 public:
  SentencePieceTokenizer(TokenizerOptions options, const std::string& model_bytes,
                         const std::vector<std::string>* training_text)
      : Tokenizer(std::move(options)), lib_(SpmLibrary::get()) {
    bytes_ = model_bytes;
    if (bytes_.empty()) {
      if (training_text == nullptr || training_text->empty())
        throw UserError("{} tokenizer: no model and no text to train one", options_.kind);
      std::vector<std::string> lines;
      lines.reserve(training_text->size());
      for (const auto& line : *training_text)
        lines.push_back(options_.lowercase ? to_lower(line) : line);
      std::vector<const char*> pointers;
      for (const auto& line : lines) pointers.push_back(line.c_str());
      // hard_vocab_limit=false lets a small corpus yield a smaller vocabulary.
      const std::string args = fmt::format(
          "--model_type={} --vocab_size={} --character_coverage=1.0 --hard_vocab_limit=false "
          "--minloglevel=2 --num_threads=2 --pad_id=-1 --bos_id=-1 --eos_id=-1 --unk_id=0",
          options_.kind, options_.vocab_size);
      size_t length = 0;
      char* model = lib_.train(pointers.data(), pointers.size(), args.c_str(), &length);
      if (model == nullptr) throw UserError("SentencePiece training failed: {}", lib_.last_error());
      bytes_ = take(lib_, model, length);
    }
    processor_ = lib_.load(bytes_.data(), bytes_.size());
    if (processor_ == nullptr)
      throw UserError("SentencePiece model is invalid: {}", lib_.last_error());
  }
  ~SentencePieceTokenizer() override { lib_.free(processor_); }
  SentencePieceTokenizer(const SentencePieceTokenizer&) = delete;
  SentencePieceTokenizer& operator=(const SentencePieceTokenizer&) = delete;

  std::vector<std::string> tokenize(const std::string& text) const override {
    char* joined = lib_.encode(processor_, (options_.lowercase ? to_lower(text) : text).c_str());
    const std::string s = take(lib_, joined, std::strlen(joined));
    std::vector<std::string> pieces;
    size_t start = 0;
    while (start < s.size()) {
      const size_t end = s.find('\n', start);
      pieces.push_back(s.substr(start, end == std::string::npos ? std::string::npos : end - start));
      if (end == std::string::npos) break;
      start = end + 1;
    }
    return pieces;
  }

  std::string detokenize(const std::vector<std::string>& tokens) const override {
    std::string joined;
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (i > 0) joined.push_back('\n');
      joined += tokens[i];
    }
    char* text = lib_.decode(processor_, joined.c_str());
    return take(lib_, text, std::strlen(text));
  }

  std::string model_bytes() const override { return bytes_; }

 private:
  const SpmLibrary& lib_;
  std::string bytes_;
  void* processor_ = nullptr;
};

}  // namespace

std::unique_ptr<Tokenizer> make_tokenizer(const TokenizerOptions& options,
                                          const std::string& model_bytes,
                                          const std::vector<std::string>* training_text) {
  if (options.kind == "word") return std::make_unique<WordTokenizer>(options);
  if (options.kind == "char") return std::make_unique<CharTokenizer>(options);
  if (options.kind == "bpe" || options.kind == "unigram")
    return std::make_unique<SentencePieceTokenizer>(options, model_bytes, training_text);
  throw UserError("tokenizer kind \"{}\" is not one of word, char, bpe, unigram", options.kind);
}

}  // namespace attnzoo
