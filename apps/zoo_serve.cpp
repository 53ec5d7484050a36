// zoo-serve: serves exported files over HTTP/JSON, batching concurrent
// requests to a model. Like zoo-run it links LibTorch, OpenCV and, of
// attnzoo, only the readers of its input: no model code.
//
//   zoo-serve --model m30k=m30k.pt --model scenes=scenes.pt --port 8080
//   curl -s localhost:8080/v1/models/m30k -d '{"text": "Ein Hund rennt ."}'
//
// Routes and request fields: serve/server.h, serve/served_model.h; the guide
// is docs/serving.md.
#include <ATen/Parallel.h>
#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <pthread.h>
#include <sys/resource.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "apps/cli_checks.h"
#include "data/blas.h"
#include "data/error.h"
#include "serve/line_log.h"
#include "serve/server.h"

namespace {

// Raises the soft limit on open files to the hard one; what it is now.
size_t open_file_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
    ::getrlimit(RLIMIT_NOFILE, &limit);
  }
  return limit.rlim_cur == RLIM_INFINITY ? size_t{1} << 20u : static_cast<size_t>(limit.rlim_cur);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "zoo-serve: serve files exported by translate/caption/glimpse/forecast export over "
      "HTTP/JSON (POST /v1/models/NAME, GET /v1/models, GET /health/ready); "
      "docs/serving.md is the guide"};
  std::vector<std::string> models;
  attnzoo::serve::ServerOptions o;
  auto& http = o.http;
  double max_body_mb = 16, max_seconds = 0;
  int threads = 0;
  using attnzoo::at_least;
  using attnzoo::between;
  app.add_option("--model", models, "NAME=FILE: serve the exported FILE as NAME (repeat)")
      ->required();
  app.add_option("--host", http.host, "Address to listen on")->capture_default_str();
  app.add_option("--port", http.port, "Port (0: any free one, printed at start)")
      ->capture_default_str()
      ->check(between(0, 65535));
  app.add_option("--max-batch", o.model.max_batch,
                 "Inputs a model runs at once, gathered from concurrent requests (1: one at a "
                 "time)")
      ->capture_default_str()
      ->check(at_least(1));
  app.add_option("--max-wait-ms", o.model.max_wait_ms,
                 "How long a batch waits for more inputs after its first")
      ->capture_default_str()
      ->check(between(0, 10000));
  app.add_option("--batch-workers", o.model.batch_workers,
                 "Batches of one model that run at once, each on its own thread (about the cores "
                 "divided by --threads)")
      ->capture_default_str()
      ->check(between(1, 64));
  app.add_option("--max-queue", o.model.max_queue,
                 "Inputs that may wait for a model, requests waiting for a worker included; past "
                 "it a request gets 503 at once (0: no limit)")
      ->capture_default_str()
      ->check(at_least(0));
  app.add_option("--timeout-ms", o.model.timeout_ms,
                 "A request's deadline: one still waiting for its model then gets 504 and is "
                 "not run; a request's \"timeout_ms\" may shorten it (0: none)")
      ->capture_default_str()
      ->check(between(0, 86400000));
  app.add_option("--max-items", o.model.max_items, "Inputs one request may hold")
      ->capture_default_str()
      ->check(at_least(1));
  app.add_option("--max-text-bytes", o.model.limits.max_text_bytes,
                 "Bytes of one text to translate")
      ->capture_default_str()
      ->check(at_least(1));
  app.add_option("--max-image-pixels", o.model.limits.max_image_pixels,
                 "Pixels (width x height) of one image, read from its header before decoding")
      ->capture_default_str()
      ->check(at_least(1));
  app.add_option("--max-body-mb", max_body_mb,
                 "Largest request body, MiB, chunked or not (larger: 413 before it is read)")
      ->capture_default_str()
      ->check(between(0.001, 4096));
  app.add_option("--http-threads", http.workers,
                 "Requests answered at once (waiting connections cost no thread)")
      ->capture_default_str()
      ->check(at_least(1));
  app.add_option("--max-connections", http.max_connections,
                 "Connections open at once (past it: 503); kept below the open-file limit")
      ->capture_default_str()
      ->check(at_least(1));
  app.add_option("--head-timeout-s", http.head_timeout_s,
                 "A request's line and headers must arrive within this (408)")
      ->capture_default_str()
      ->check(between(0.1, 3600));
  app.add_option("--read-timeout-s", http.read_timeout_s,
                 "A whole request must arrive within this (408)")
      ->capture_default_str()
      ->check(between(0.1, 3600));
  app.add_option("--idle-timeout-s", http.idle_timeout_s,
                 "A keep-alive connection with no request closes after this")
      ->capture_default_str()
      ->check(between(0.1, 3600));
  app.add_option("--drain-s", o.drain_s,
                 "At SIGTERM/SIGINT: how long admitted requests may take to finish")
      ->capture_default_str()
      ->check(between(0, 3600));
  app.add_option("--threads", threads, "ATen threads (0: LibTorch's default)")->check(at_least(0));
  app.add_option("--max-seconds", max_seconds,
                 "Stop after this many seconds (0: at SIGINT or SIGTERM only)")
      ->check(between(0, 1e9));
  std::string api_key_file, management_key_file;
  app.add_option("--api-key-file", api_key_file,
                 "Keys (one a line) of which a request must send one as Authorization: Bearer "
                 "KEY; /health, /health/live and /health/ready stay open");
  app.add_option("--management-key-file", management_key_file,
                 "Keys for POST /v1/models/NAME/reload (without: no reload route); they also "
                 "do what an inference key does");
  app.add_flag("--log", o.log,
               "One JSON line per request on stderr (time, id, method, path, model, status, "
               "inputs, queue_ms, compute_ms, ms, bytes)");
  CLI11_PARSE(app, argc, argv);
  http.limits.max_body_bytes = static_cast<size_t>(max_body_mb * 1024 * 1024);
  http.max_connections = std::min(http.max_connections, open_file_limit() - 64);

  // SIGINT and SIGTERM are taken by one thread, which stops the server; every
  // other thread (started below) inherits the blocked mask.
  // SIGHUP reloads every model from its file.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  // Every line on stderr whole: access log lines and a codec's messages.
  attnzoo::serve::StderrLines whole_lines;
  try {
    if (!api_key_file.empty())
      o.api_keys = attnzoo::serve::read_keys(api_key_file, "--api-key-file");
    if (!management_key_file.empty())
      o.management_keys = attnzoo::serve::read_keys(management_key_file, "--management-key-file");
    attnzoo::use_best_blas_kernels();
    if (threads > 0) at::set_num_threads(threads);
    attnzoo::serve::ModelServer server(o);
    const int port = server.bind();
    // Serving before the models load: /health/live answers, /health/ready is
    // 503 until every model is loaded and warmed up.
    std::thread serving([&] { server.serve(); });
    std::atomic<bool> done{false};
    std::thread watcher([&] {
      const auto start = std::chrono::steady_clock::now();
      bool stopping = false;
      while (!done) {
        timespec tick{0, 200 * 1000 * 1000};
        const int signal = sigtimedwait(&stop_signals, nullptr, &tick);
        if (signal == SIGHUP) {
          for (const auto& line : server.reload_all()) std::cerr << "zoo-serve: " << line << "\n";
          continue;
        }
        const double elapsed =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (signal > 0 && stopping) {  // a second signal: no more waiting
          std::cerr << "zoo-serve: second signal, exiting now" << std::endl;
          std::_Exit(1);
        }
        if (!stopping && (signal > 0 || (max_seconds > 0 && elapsed >= max_seconds))) {
          std::cerr << (signal > 0 ? "zoo-serve: stopping (signal): answering what was "
                                     "admitted, for up to --drain-s\n"
                                   : "zoo-serve: stopping (--max-seconds)\n");
          stopping = true;
          server.stop();
        }
      }
    });
    auto finish = [&] {
      serving.join();
      done = true;
      watcher.join();
    };
    try {
      for (const auto& m : models) {
        const auto eq = m.find('=');
        if (eq == std::string::npos || eq == 0 || eq + 1 == m.size())
          throw attnzoo::UserError("--model {}: give NAME=FILE", m);
        server.add_model(m.substr(0, eq), m.substr(eq + 1));
      }
    } catch (...) {
      server.stop();
      finish();
      throw;
    }
    std::cout << fmt::format("zoo-serve: listening on http://{}:{} ({} model{})", http.host, port,
                             models.size(), models.size() == 1 ? "" : "s")
              << std::endl;
    finish();
    std::cerr << "zoo-serve: stopped" << std::endl;
  } catch (const attnzoo::UserError& e) {
    std::cerr << "zoo-serve: error: " << e.what() << std::endl;
    return 1;
  } catch (const c10::Error& e) {
    std::cerr << "zoo-serve: error inside a model: " << e.what_without_backtrace() << std::endl;
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "zoo-serve: error: " << e.what() << std::endl;
    return 2;
  }
  return 0;
}
