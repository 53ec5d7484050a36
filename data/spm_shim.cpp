// A C interface to SentencePiece, built as its own shared library and loaded
// with dlopen(RTLD_LOCAL | RTLD_DEEPBIND) by data/tokenizer.cpp.
//
// Why: Debian's libsentencepiece exports the protobuf it bundles. Linked into
// the same process as libtorch (which loads the system libprotobuf), the two
// copies interpose on each other and the process crashes during static
// initialisation. Loaded locally and deep-bound, SentencePiece keeps its own
// copy to itself. This file must not include torch headers.
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

thread_local std::string last_error;

char* copy_out(const std::string& s, size_t* length) {
  char* out = static_cast<char*>(std::malloc(s.size() + 1));
  std::memcpy(out, s.data(), s.size());
  out[s.size()] = '\0';
  if (length != nullptr) *length = s.size();
  return out;
}

class LinesIterator : public sentencepiece::SentenceIterator {
 public:
  LinesIterator(const char* const* lines, size_t n) : lines_(lines), n_(n) { load(); }
  bool done() const override { return i_ >= n_; }
  void Next() override {
    ++i_;
    load();
  }
  const std::string& value() const override { return value_; }
  sentencepiece::util::Status status() const override { return {}; }

 private:
  void load() {
    if (i_ < n_) value_ = lines_[i_];
  }
  const char* const* lines_;
  size_t n_;
  size_t i_ = 0;
  std::string value_;
};

}  // namespace

extern "C" {

const char* attnzoo_spm_last_error() { return last_error.c_str(); }

void attnzoo_spm_free_string(char* s) { std::free(s); }

// Trains a model on `n` lines with SentencePiece command-line style `args`.
// On success returns the serialised model (free with attnzoo_spm_free_string).
char* attnzoo_spm_train(const char* const* lines, size_t n, const char* args, size_t* length) {
  LinesIterator it(lines, n);
  std::string model;
  const auto status = sentencepiece::SentencePieceTrainer::Train(args, &it, &model);
  if (!status.ok()) {
    last_error = status.ToString();
    return nullptr;
  }
  return copy_out(model, length);
}

void* attnzoo_spm_load(const char* bytes, size_t length) {
  auto* p = new sentencepiece::SentencePieceProcessor();
  const auto status = p->LoadFromSerializedProto(std::string(bytes, length));
  if (!status.ok()) {
    last_error = status.ToString();
    delete p;
    return nullptr;
  }
  return p;
}

void attnzoo_spm_free(void* processor) {
  delete static_cast<sentencepiece::SentencePieceProcessor*>(processor);
}

// Pieces of `text`, separated by '\n'.
char* attnzoo_spm_encode(void* processor, const char* text) {
  std::vector<std::string> pieces;
  static_cast<sentencepiece::SentencePieceProcessor*>(processor)->Encode(text, &pieces);
  std::string joined;
  for (size_t i = 0; i < pieces.size(); ++i) {
    if (i > 0) joined.push_back('\n');
    joined += pieces[i];
  }
  return copy_out(joined, nullptr);
}

// Text from pieces separated by '\n'.
char* attnzoo_spm_decode(void* processor, const char* pieces_text) {
  std::vector<std::string> pieces;
  std::string current;
  for (const char* c = pieces_text; *c != '\0'; ++c) {
    if (*c == '\n') {
      pieces.push_back(current);
      current.clear();
    } else {
      current.push_back(*c);
    }
  }
  if (!current.empty()) pieces.push_back(current);
  return copy_out(
      static_cast<sentencepiece::SentencePieceProcessor*>(processor)->DecodePieces(pieces),
      nullptr);
}

}  // extern "C"
