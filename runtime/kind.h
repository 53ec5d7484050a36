#pragma once
// What an exported file is, and how it is run: one class per kind of file
// (translator, captioner, classifier, forecaster), chosen by the "app" of its
// attnzoo.json. zoo-run and zoo-serve use only this interface: they hold no
// branch on an app's name. Like them, a kind calls only the file's own
// methods (translate_batch, caption_batch, preprocess, forward ...), never
// attnzoo's model code.
//
// Adding a kind: a class deriving from ExportedKind in its own file here
// (runtime/<kind>.cpp), and one line in the registry (runtime/kinds.cpp).
// docs/architecture.md#exported-kinds walks through it.
#include <torch/script.h>

#include <iosfwd>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "data/exported.h"

namespace attnzoo::runtime {

// A request a kind refuses: the HTTP status (4xx) and one line saying why.
class RequestError : public std::runtime_error {
 public:
  RequestError(int status, const std::string& what) : std::runtime_error(what), status(status) {}
  int status;
};

// One input of a request, and how to decode it. A kind reads the fields it needs.
struct Input {
  std::string text;          // translate (word and character models)
  std::vector<int64_t> ids;  // translate (SentencePiece models)
  torch::Tensor tensor;      // caption, glimpse: uint8 image; forecast: float window (L,C)
  int64_t beam = 0;          // 0: the file's
  int64_t n_best = 1;
  bool attention = false;
  int64_t top_k = 1;
};

// Bounds on what one input may cost (zoo-serve's flags).
struct Limits {
  int64_t max_text_bytes = 16384;       // one text to translate
  int64_t max_image_pixels = 16777216;  // one image, width x height
};

constexpr int64_t kMaxIds = 4096;  // ids in one SentencePiece input

// What zoo-run was given on its command line.
struct CliInputs {
  std::vector<std::string> texts;   // --text (none: lines on stdin)
  std::vector<std::string> images;  // --image
  int64_t beam = 0;                 // --beam (0: the file's)
  std::string csv;                  // --csv
  int64_t at = -1;                  // --at (-1: after the last row)
};

// JSON Schemas (2020-12) of one input, of the request fields that set how it
// is decoded, and of one answer.
struct KindSchema {
  nlohmann::json input;
  nlohmann::json options = nlohmann::json::object();  // field -> schema
  nlohmann::json result = nlohmann::json::object();   // field -> schema
  std::vector<std::string> result_required;
};

class ExportedKind {
 public:
  explicit ExportedKind(ExportedFile file) : file_(std::move(file)) {}
  virtual ~ExportedKind() = default;
  ExportedKind(const ExportedKind&) = delete;
  ExportedKind& operator=(const ExportedKind&) = delete;

  // The app that wrote the file ("translate", "caption", ...).
  std::string app() const { return file_.app(); }
  const nlohmann::json& record() const { return file_.record; }
  torch::jit::Module& module() { return file_.module; }
  const torch::jit::Module& module() const { return file_.module; }

  // --- requests (zoo-serve) ---
  // The field holding one input ("text"), and a list of them ("texts"; "" if
  // the kind takes one input a request).
  virtual std::string one_field() const = 0;
  virtual std::string many_field() const { return ""; }
  // Every field a request of this kind may hold, inputs and options.
  virtual std::vector<std::string> fields() const = 0;
  // Whether images may be uploaded as multipart/form-data files.
  virtual bool takes_uploads() const { return false; }
  // Checks of a request as a whole, before its inputs are looked at.
  virtual void check_request(const nlohmann::json& /*request*/) const {}
  // A request's decoding options, checked (RequestError when wrong).
  virtual Input options(const nlohmann::json& request) const = 0;
  // One input of a request (`where` names it in errors) into `into`.
  virtual void read(const nlohmann::json& value, const std::string& where, const Limits& limits,
                    Input& into) const = 0;
  // One uploaded file (only where takes_uploads()).
  virtual void read_upload(const std::string& bytes, const std::string& where, const Limits& limits,
                           Input& into) const;
  // A made-up input to run once before the first request (none: nothing to warm).
  virtual std::optional<Input> warm_up_input() const = 0;
  // A batch of inputs -> one answer each, in order.
  virtual std::vector<nlohmann::json> run(const std::vector<Input>& inputs) = 0;
  // What a client may know of the file beyond its name and app (GET /v1/models).
  virtual nlohmann::json info() const = 0;
  virtual KindSchema schema(const Limits& limits) const = 0;

  // --- the command line (zoo-run) ---
  // zoo-run's input flags the kind reads (--text, --image, --beam, --csv, --at):
  // any other given is refused.
  virtual std::vector<std::string> cli_flags() const = 0;
  // Runs the inputs, writing one line of answer each to `out` (lines of
  // `in` where the kind reads stdin).
  virtual void run_cli(const CliInputs& given, std::istream& in, std::ostream& out) = 0;

 private:
  ExportedFile file_;
};

// The kind of an exported file, from its record's "app"; a UserError naming
// `where` for a file of an app no kind is registered for.
std::unique_ptr<ExportedKind> open_kind(ExportedFile file, const std::string& where);

// The apps a kind is registered for, in the registry's order.
std::vector<std::string> kind_names();

}  // namespace attnzoo::runtime
