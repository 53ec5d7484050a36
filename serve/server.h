#pragma once
// zoo-serve's routes over exported files (serve/served_model.h), on the
// connection layer of serve/http_server.h:
//   GET  /health               {"status": "ok", "models": N}
//   GET  /health/live          200 while the process answers
//   GET  /health/ready         200 once every model is loaded and warmed up;
//                              503 while loading or stopping
//   GET  /metrics              Prometheus text: requests by model and status,
//                              inputs, batches, latency and batch-size
//                              histograms, queue, in-flight and memory gauges
//   GET  /openapi.json         OpenAPI 3.1 of these routes, with each served
//                              model's request and answer schemas
//   GET  /v1/models            {"models": [info, ...]}
//   GET  /v1/models/NAME       info: app, version, fields, readiness, batching figures
//   POST /v1/models/NAME       a request as served_model.h says -> the answer
//   POST /v1/models/NAME/reload  (management key) load {"file": PATH} or the
//                              file it came from, warm it up, swap it in;
//                              a file that fails or is another app: 409,
//                              and the old model goes on serving
// With keys (api_keys, management_keys) every route but the /health ones
// needs "Authorization: Bearer KEY": 401 before anything else is looked at,
// so that a caller without a key learns nothing of the models. Keys are
// compared in constant time and never logged. A management key also does
// what an inference key does.
// HEAD is answered where GET is; another method on a route is 405 with Allow.
// Every answer carries X-Request-Id (the client's when it sends a usable one,
// else a new one) and every error is a JSON body {"error": "..."}: 4xx for
// the request, 503 (with Retry-After) when a model's queue is full or the
// server is stopping, 504 when a request's deadline passes before its model
// runs it, 500 for a fault inside a model. With `log`, one JSON line per
// request on stderr: time, id, method, path, model, status, inputs, queue
// and compute milliseconds, total milliseconds, bytes in and out.
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "serve/http_server.h"
#include "serve/metrics.h"
#include "serve/served_model.h"

namespace attnzoo::serve {

struct ServerOptions {
  HttpServerOptions http;  // address, limits, workers, timeouts
  bool log = false;        // the JSON access log on stderr
  ServeOptions model;
  double drain_s = 30;                // stop(): how long admitted requests may take to finish
  std::vector<std::string> api_keys;  // empty: no key needed
  std::vector<std::string> management_keys;  // empty: no reload route
};

// The keys in a file: one a line, blank lines and lines from '#' skipped;
// UserError when it cannot be read or holds none.
std::vector<std::string> read_keys(const std::string& path, const std::string& flag);

class ModelServer {
 public:
  explicit ModelServer(ServerOptions options);
  ~ModelServer();

  // Loads an exported file under `name` and warms it up (UserError when it
  // cannot be served). May run while the server serves: until every model
  // being added is loaded, /health/ready is 503.
  void add_model(const std::string& name, const std::string& path);
  // Binds host:port; returns the port (UserError when it cannot bind).
  int bind();
  // Serves until stop() has drained the admitted requests.
  void serve();
  // From any thread: stop accepting, answer what was admitted, then serve() returns.
  void stop();
  int port() const { return port_; }
  bool ready() const;
  // The OpenAPI 3.1 document of the routes and of every model served now.
  nlohmann::json openapi() const;

  // Loads `path` ("" : the file `name` was loaded from) as `name`'s new
  // model and swaps it in once warmed up; requests being answered finish on
  // the old one. RequestError 404 / 409 when it cannot (the old one stays).
  void reload(const std::string& name, const std::string& path = "");
  // Every model from its file again (SIGHUP); one line per model, each
  // "reloaded NAME from FILE" or why not.
  std::vector<std::string> reload_all();

  // Answers one parsed request as a connection would have it answered (the
  // fuzz target and the tests call it without a socket).
  HttpResponse answer(const HttpRequest& request);
  HttpResponse refuse(int status, const std::string& why, const HttpRequest& request);
  // As a request arrives: a request for a model whose queue is full is
  // refused (503 + Retry-After) before it waits for a worker; one admitted
  // takes a place in that queue (request.ticket).
  std::optional<HttpResponse> admit(HttpRequest& request);

 private:
  HttpResponse route(const HttpRequest& request, RequestContext& context);
  // 0: allowed; else 401 (no or a wrong key) or 403 (a route needing the management key).
  int authorize(const HttpRequest& request, bool management) const;
  std::shared_ptr<ServedModel> model(const std::string& name) const;
  HttpResponse finish(HttpResponse response, const HttpRequest& request,
                      const RequestContext& context);

  ServerOptions options_;
  mutable std::shared_mutex models_mutex_;
  std::map<std::string, std::shared_ptr<ServedModel>> models_;
  std::map<std::string, std::string> paths_;  // the file each model came from
  std::mutex reload_mutex_;                   // one reload at a time
  std::atomic<int> loading_{0};
  Metrics metrics_;
  std::unique_ptr<HttpServer> http_;
  int port_ = -1;
};

// The JSON text of a request body, refused (RequestError 400) when it nests
// deeper than `max_depth` or is not JSON: deep nesting would exhaust the
// stack of whatever walks the value.
nlohmann::json parse_request_json(const std::string& body, int max_depth = 32);

// An X-Request-Id to echo: the client's when it is 1-128 printable ASCII
// characters without spaces, else 16 new hex digits.
std::string request_id(const HttpRequest& request);

}  // namespace attnzoo::serve
