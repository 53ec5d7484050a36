// zoo-serve: serves exported files over HTTP/JSON, batching concurrent
// requests to a model. Like zoo-run it links LibTorch, OpenCV and, of
// attnzoo, only the readers of its input: no model code.
//
//   zoo-serve --model m30k=m30k.pt --model scenes=scenes.pt --port 8080
//   curl -s localhost:8080/v1/models/m30k -d '{"text": "Ein Hund rennt ."}'
//
// Routes and request fields: serve/server.h, serve/served_model.h.
#include <ATen/Parallel.h>
#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <pthread.h>
#include <CLI/CLI.hpp>

#include <atomic>
#include <csignal>
#include <ctime>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "apps/cli_checks.h"
#include "data/blas.h"
#include "data/error.h"
#include "serve/server.h"

int main(int argc, char** argv) {
  CLI::App app{
      "zoo-serve: serve files exported by translate/caption/glimpse/forecast export over "
      "HTTP/JSON (POST /v1/models/NAME, GET /v1/models, GET /health)"};
  std::vector<std::string> models;
  attnzoo::serve::ServerOptions o;
  double max_body_mb = 16, max_seconds = 0;
  int threads = 0;
  app.add_option("--model", models, "NAME=FILE: serve the exported FILE as NAME (repeat)")
      ->required();
  app.add_option("--host", o.host, "Address to listen on")->capture_default_str();
  app.add_option("--port", o.port, "Port (0: any free one, printed at start)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  app.add_option("--max-batch", o.model.max_batch,
                 "Inputs a model runs at once, gathered from concurrent requests (1: one at a "
                 "time)")
      ->capture_default_str()
      ->check(attnzoo::at_least(1));
  app.add_option("--max-wait-ms", o.model.max_wait_ms,
                 "How long a batch waits for more inputs after its first")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 10000.0));
  app.add_option("--max-items", o.model.max_items, "Inputs one request may hold")
      ->capture_default_str()
      ->check(attnzoo::at_least(1));
  app.add_option("--max-body-mb", max_body_mb, "Largest request body, MiB (larger: 413)")
      ->capture_default_str()
      ->check(CLI::Range(0.001, 4096.0));
  app.add_option("--http-threads", o.http_threads, "Connections served at once")
      ->capture_default_str()
      ->check(attnzoo::at_least(1));
  app.add_option("--threads", threads, "ATen threads (0: LibTorch's default)")
      ->check(attnzoo::at_least(0));
  app.add_option("--max-seconds", max_seconds,
                 "Stop after this many seconds (0: at SIGINT or SIGTERM only)")
      ->check(CLI::Range(0.0, 1e9));
  app.add_flag("--log", o.log, "One line per request on stderr");
  CLI11_PARSE(app, argc, argv);
  o.max_body_bytes = static_cast<size_t>(max_body_mb * 1024 * 1024);

  // SIGINT and SIGTERM are taken by one thread, which stops the server; every
  // other thread (started below) inherits the blocked mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  try {
    attnzoo::use_best_blas_kernels();
    if (threads > 0) at::set_num_threads(threads);
    attnzoo::serve::ModelServer server(o);
    for (const auto& m : models) {
      const auto eq = m.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == m.size())
        throw attnzoo::UserError("--model {}: give NAME=FILE", m);
      server.add_model(m.substr(0, eq), m.substr(eq + 1));
    }
    const int port = server.bind();
    std::cout << fmt::format("zoo-serve: listening on http://{}:{} ({} model{})", o.host, port,
                             models.size(), models.size() == 1 ? "" : "s")
              << std::endl;
    std::atomic<bool> stopped{false};
    std::thread watcher([&] {
      timespec wait{};
      const double s = max_seconds > 0 ? max_seconds : 1e9;
      wait.tv_sec = static_cast<time_t>(s);
      wait.tv_nsec = static_cast<long>((s - static_cast<double>(wait.tv_sec)) * 1e9);
      const int signal = sigtimedwait(&stop_signals, nullptr, &wait);
      std::cerr << (signal > 0 ? "zoo-serve: stopping (signal)\n"
                               : "zoo-serve: stopping (--max-seconds)\n");
      stopped = true;
      server.stop();
    });
    server.serve();
    if (!stopped) pthread_kill(watcher.native_handle(), SIGTERM);  // the server ended by itself
    watcher.join();
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
