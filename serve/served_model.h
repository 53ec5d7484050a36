#pragma once
// One exported file behind zoo-serve: a request's inputs, its deadline and
// its place in the model's batches. What the inputs are and how a batch of
// them runs is the file's kind's (runtime/kind.h): the requests each kind
// takes are listed here for the reader.
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

#include "runtime/kind.h"
#include "serve/batcher.h"
#include "serve/http.h"
#include "serve/metrics.h"

namespace attnzoo::serve {

using runtime::RequestError;
using Item = runtime::Input;

struct ServeOptions {
  int64_t max_batch = 32;  // items per batched run (1: one at a time)
  double max_wait_ms = 5;  // how long a batch waits for more after its first item
  // Batches of one model that run at once, a thread each: on a CPU, one
  // batch leaves a core idle in the steps between its GEMMs (2 gave 2x the
  // requests/s of 1 on 2 cores: docs/results.md#zoo-serve-under-load).
  int64_t batch_workers = 2;
  int64_t max_items = 256;    // inputs in one request
  int64_t max_queue = 512;    // inputs waiting per model; past it 503 (0: no limit)
  double timeout_ms = 30000;  // a request's deadline (0: none)
  runtime::Limits limits;     // one text, one image
};

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
  // Whether images may be uploaded as multipart/form-data.
  bool takes_uploads() const { return kind_->takes_uploads(); }
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
  nlohmann::json answer(std::vector<Item> items, bool plural, const nlohmann::json& request,
                        RequestContext& context);
  void check_fields(const nlohmann::json& request) const;
  std::vector<std::string> fields() const;

  std::string name_, app_;
  std::unique_ptr<runtime::ExportedKind> kind_;
  ServeOptions options_;
  std::unique_ptr<Batcher<Item, nlohmann::json>> batcher_;
};

}  // namespace attnzoo::serve
