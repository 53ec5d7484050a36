#pragma once
// zoo-serve's HTTP/JSON front (cpp-httplib, Debian's libcpp-httplib-dev) over
// exported files (serve/served_model.h):
//   GET  /health               {"status": "ok", "models": N}
//   GET  /v1/models            {"models": [info, ...]}
//   GET  /v1/models/NAME       info: app, version, fields, batching figures, config
//   POST /v1/models/NAME       a request as served_model.h says -> the answer
// Every error is a JSON body {"error": "..."} with a 4xx status (5xx only for
// a fault inside a model); a body past max_body_bytes is refused with 413
// before it is read.
#include <atomic>
#include <map>
#include <memory>
#include <string>

#include "serve/served_model.h"

namespace httplib {
class Server;
}

namespace attnzoo::serve {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                     // 0: any free port (port() says which)
  size_t max_body_bytes = 16u << 20u;  // per request
  int http_threads = 32;               // connections served at once
  bool log = false;                    // one line per request on stderr
  ServeOptions model;
};

class ModelServer {
 public:
  explicit ModelServer(ServerOptions options);
  ~ModelServer();

  // Loads an exported file under `name` (UserError when it cannot be served).
  void add_model(const std::string& name, const std::string& path);
  // Binds host:port; returns the port (UserError when it cannot bind).
  int bind();
  // Serves until stop() (from another thread).
  void serve();
  void stop();
  int port() const { return port_; }

 private:
  void routes();

  ServerOptions options_;
  std::map<std::string, std::unique_ptr<ServedModel>> models_;
  std::unique_ptr<httplib::Server> http_;
  int port_ = -1;
  int socket_ = -1;  // the listening socket, once bound
};

}  // namespace attnzoo::serve
