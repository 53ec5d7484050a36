#pragma once
// Tokenizers turn a sentence into tokens and back. Kinds:
//   word     words and punctuation; punctuation glued to a neighbour carries the
//            joiner mark U+FFED on that side, so detokenize() restores the text
//   char     one token per code point; spaces become U+2581
//   bpe, unigram  SentencePiece models trained on the training corpus
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

namespace attnzoo {

struct TokenizerOptions {
  std::string kind = "word";  // word | char | bpe | unigram
  bool lowercase = false;
  int vocab_size = 8000;  // SentencePiece only

  nlohmann::json to_json() const;
  static TokenizerOptions from_json(const nlohmann::json& j);
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  virtual std::vector<std::string> tokenize(const std::string& text) const = 0;
  virtual std::string detokenize(const std::vector<std::string>& tokens) const = 0;
  // A SentencePiece model serialised as bytes; empty for rule-based tokenizers.
  virtual std::string model_bytes() const { return ""; }
  const TokenizerOptions& options() const { return options_; }

 protected:
  explicit Tokenizer(TokenizerOptions options) : options_(std::move(options)) {}
  TokenizerOptions options_;
};

inline const std::string kJoiner = "\xEF\xBF\xAD";       // U+FFED
inline const std::string kSpaceSymbol = "\xE2\x96\x81";  // U+2581

// A tokenizer for `options`. SentencePiece kinds need either `model_bytes` (a
// trained model) or `training_text` to train one now.
std::unique_ptr<Tokenizer> make_tokenizer(const TokenizerOptions& options,
                                          const std::string& model_bytes = "",
                                          const std::vector<std::string>* training_text = nullptr);

}  // namespace attnzoo
