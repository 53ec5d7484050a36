#pragma once
// One exported file behind zoo-serve: what a request to it may hold, and its
// batched runs. Like zoo-run it calls only the file's own methods (no attnzoo
// model code): translate_batch (or translate / attention in files exported
// before it), preprocess + caption, preprocess + forward.
//
// Requests (JSON bodies; images also as multipart/form-data files named "image"):
//   translate  {"text": "..."} or {"texts": [...]}, optional "beam" (1-64;
//              default: the file's), "n_best" (1-beam), "attention" (bool);
//              SentencePiece files {"ids": [...]}
//   caption    {"image": "<base64 of a PNG/JPEG>"} or {"images": [...]}, optional "beam"
//   glimpse    {"image": ...} or {"images": [...]}, optional "top_k" (1-#classes)
//   forecast   {"values": [[...], ...]} (input_len rows of the file's channels)
//              or {"windows": [...]}
//   every app  optional "timeout_ms" (1 to the server's --timeout-ms): the
//              request's deadline, which it may only shorten
// A plural field answers {"results": [...]}, one object per input in order.
//
// Bounds on what one request may cost: max_items inputs, texts of at most
// max_text_bytes, SentencePiece inputs of at most kMaxIds ids, PNG or JPEG
// images of at most max_image_pixels (read from the file's header before it
// is decoded), forecast values within float range.
#include <torch/script.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "serve/batcher.h"
#include "serve/http.h"
#include "serve/metrics.h"

namespace attnzoo::serve {

// A request the server refuses: the HTTP status (4xx) and one line saying why.
class RequestError : public std::runtime_error {
 public:
  RequestError(int status, const std::string& what) : std::runtime_error(what), status(status) {}
  int status;
};

// One input of a request, and how to decode it.
struct Item {
  std::string text;          // translate (word and character models)
  std::vector<int64_t> ids;  // translate (SentencePiece models)
  torch::Tensor input;       // caption, glimpse: uint8 image; forecast: float window (L,C)
  int64_t beam = 0;          // 0: the file's
  int64_t n_best = 1;
  bool attention = false;
  int64_t top_k = 1;
};

struct ServeOptions {
  int64_t max_batch = 32;  // items per batched run (1: one at a time)
  double max_wait_ms = 5;  // how long a batch waits for more after its first item
  // Batches of one model that run at once, a thread each: on a CPU, one
  // batch leaves a core idle in the steps between its GEMMs (2 gave 2x the
  // requests/s of 1 on 2 cores: docs/results.md#zoo-serve-under-load).
  int64_t batch_workers = 2;
  int64_t max_items = 256;              // inputs in one request
  int64_t max_queue = 512;              // inputs waiting per model; past it 503 (0: no limit)
  double timeout_ms = 30000;            // a request's deadline (0: none)
  int64_t max_text_bytes = 16384;       // one text to translate
  int64_t max_image_pixels = 16777216;  // one image, width x height
};

constexpr int64_t kMaxIds = 4096;  // ids in one SentencePiece input

// One request's deadline in, and what it cost out (for the access log).
struct RequestContext {
  // When the request was read whole: its deadline counts from then, so the
  // time it waits for a worker counts too.
  BatchClock::time_point received = BatchClock::now();
  BatchClock::time_point deadline = BatchClock::time_point::max();
  std::string model;
  int64_t inputs = 0;
  double queue_ms = 0, compute_ms = 0;  // the slowest input's
  // Its place in the model's queue while it waited for a worker; given back
  // once its inputs are in the queue (may be empty).
  std::shared_ptr<Ticket> ticket;
};

class ServedModel {
 public:
  ServedModel(std::string name, const std::string& path, const ServeOptions& options);
  // Stops its batcher, frees the module and gives the freed pages back to
  // the system (malloc_trim): without it each reload kept ~60 MB resident.
  ~ServedModel();

  const std::string& name() const { return name_; }
  const std::string& app() const { return app_; }
  // Name, app, version, config, inputs and batching figures: GET /v1/models.
  nlohmann::json info() const;
  // JSON Schemas (2020-12) of its requests and of its 200 answers, for
  // GET /openapi.json: {"request": ..., "response": ...}.
  nlohmann::json schemas() const;
  // Its batcher's figures now, for GET /metrics.
  ModelGauges gauges() const;

  // A place in its queue for a request that waits for a worker (false: the
  // queue is full, a 503), and giving one back.
  bool reserve() { return batcher_->reserve(); }
  void unreserve() { batcher_->unreserve(); }

  // Runs one made-up input through the model (UserError when it fails), so
  // that the first request does not pay for the first run.
  void warm_up();

  // A JSON request body -> the answer; RequestError when the request is wrong.
  nlohmann::json handle_json(const nlohmann::json& request, RequestContext& context);
  // Image files uploaded as multipart/form-data (caption, glimpse) and form
  // fields (beam, top_k, timeout_ms) as strings.
  nlohmann::json handle_images(const std::vector<std::string>& files, const nlohmann::json& fields,
                               RequestContext& context);

 private:
  std::vector<nlohmann::json> run(const std::vector<Item>& items);
  std::vector<nlohmann::json> run_translate(const std::vector<Item>& items);
  std::vector<nlohmann::json> run_images(const std::vector<Item>& items);
  std::vector<nlohmann::json> run_forecast(const std::vector<Item>& items);
  nlohmann::json answer(std::vector<Item> items, bool plural, const nlohmann::json& request,
                        RequestContext& context);
  void check_fields(const nlohmann::json& request) const;
  Item options_item(const nlohmann::json& request) const;
  torch::Tensor image(const std::string& bytes, const std::string& where) const;
  torch::Tensor window(const nlohmann::json& rows, const std::string& where) const;

  std::string name_, app_;
  nlohmann::json record_;
  torch::jit::Module module_;
  bool batch_method_ = false;   // translate: the file has translate_batch
  bool text_ = true;            // translate: takes text (not SentencePiece ids)
  bool caption_batch_ = false;  // caption: the file has caption_batch
  std::vector<std::string> classes_, channels_;
  ServeOptions options_;
  std::unique_ptr<Batcher<Item, nlohmann::json>> batcher_;
};

}  // namespace attnzoo::serve
