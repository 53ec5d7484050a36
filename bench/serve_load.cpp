// Load generator for zoo-serve: N clients on 127.0.0.1, each with one
// keep-alive connection, send translation requests (one sentence each, the
// lines of a text file in turn) until R requests are answered or S seconds
// pass; prints one JSON object: requests/s, latency p50/p99 (ms), errors.
//
//   build/bin/bench_serve_load --port 8080 --model m30k --clients 8 --requests 400
//       --texts ../shared/data/multi30k/test_2016_flickr.de.gz
#include <httplib.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <mutex>
#include <thread>
#include <vector>

#include "data/error.h"
#include "data/text_io.h"

using Clock = std::chrono::steady_clock;

namespace {

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench_serve_load: requests/s and latency of a zoo-serve translator under load"};
  std::string host = "127.0.0.1", model, texts_path;
  int port = 8080, clients = 1, requests = 100;
  double max_seconds = 60;
  app.add_option("--host", host)->capture_default_str();
  app.add_option("--port", port)->required();
  app.add_option("--model", model, "The served model's name")->required();
  app.add_option("--texts", texts_path, "Sentences, one a line (gzip or plain)")->required();
  app.add_option("--clients", clients, "Concurrent clients")->capture_default_str();
  app.add_option("--requests", requests, "Requests in all (the count bound)")
      ->capture_default_str();
  app.add_option("--max-seconds", max_seconds, "The time bound")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    const auto texts = attnzoo::read_lines(texts_path);
    if (texts.empty()) throw attnzoo::UserError("{}: no lines", texts_path);
    std::atomic<int> next{0};
    std::atomic<int> errors{0};
    std::mutex mutex;
    std::vector<double> latencies;
    const auto start = Clock::now();
    const auto deadline = start + std::chrono::duration<double>(max_seconds);
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c)
      threads.emplace_back([&] {
        httplib::Client client(host, port);
        client.set_keep_alive(true);
        client.set_read_timeout(static_cast<time_t>(max_seconds) + 60, 0);
        std::vector<double> mine;
        for (int i = next++; i < requests && Clock::now() < deadline; i = next++) {
          const nlohmann::json body = {{"text", texts[static_cast<size_t>(i) % texts.size()]}};
          const auto t0 = Clock::now();
          auto res = client.Post(("/v1/models/" + model).c_str(), body.dump(), "application/json");
          const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
          if (!res || res->status != 200) {
            ++errors;
            continue;
          }
          mine.push_back(ms);
        }
        std::lock_guard<std::mutex> lock(mutex);
        latencies.insert(latencies.end(), mine.begin(), mine.end());
      });
    for (auto& t : threads) t.join();
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    const nlohmann::json out = {
        {"clients", clients},
        {"answered", latencies.size()},
        {"errors", errors.load()},
        {"seconds", seconds},
        {"requests_per_sec", static_cast<double>(latencies.size()) / seconds},
        {"p50_ms", percentile(latencies, 0.5)},
        {"p99_ms", percentile(latencies, 0.99)}};
    std::cout << out.dump() << std::endl;
    return errors.load() > 0 ? 1 : 0;
  } catch (const attnzoo::UserError& e) {
    std::cerr << "bench_serve_load: error: " << e.what() << std::endl;
    return 1;
  }
}
