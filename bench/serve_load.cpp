// Load generator for zoo-serve: N clients on 127.0.0.1, each with one
// keep-alive connection, send translation requests (one sentence each, the
// lines of a text file in turn), or with --images requests of one image each
// (the files in turn, as base64), until R requests are answered or S seconds
// pass; prints one JSON object: requests/s, latency p50/p99/p99.9 (ms) of
// the answered (200) requests, p99 of the refused (503) ones, the count of
// each status, errors.
//
// Closed loop by default (each client sends its next request when the last
// is answered); with --rate, requests start at that many a second in all,
// whether or not earlier ones were answered (open loop, as many at once as
// there are clients). --malformed-every K makes every K-th request one the
// server must refuse (400). --scrape-s T reads /metrics every T seconds
// meanwhile, and the server's resident memory at the start and the end
// comes from it.
//
//   build/bin/bench_serve_load --port 8080 --model m30k --clients 8 --requests 400
//       --texts ../shared/data/multi30k/test_2016_flickr.de.gz
//   build/bin/bench_serve_load --port 8080 --model scenes --clients 8 --images scenes/images/*.png
#include <httplib.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "data/error.h"
#include "data/text_io.h"
#include "runtime/inputs.h"

using Clock = std::chrono::steady_clock;

namespace {

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

// Every tenth of `v`: its entries at 10%, 20%, ..., 100% (empty for none).
std::vector<double> tenths(const std::vector<double>& v) {
  std::vector<double> out;
  if (v.empty()) return out;
  for (int i = 1; i <= 10; ++i)
    out.push_back(std::round(v[(v.size() * static_cast<size_t>(i) - 1) / 10]));
  return out;
}

// process_resident_memory_bytes from the server's /metrics; -1 when unread.
double server_rss(const std::string& host, int port) {
  httplib::Client c(host, port);
  c.set_read_timeout(10, 0);
  auto res = c.Get("/metrics");
  if (!res || res->status != 200) return -1;
  const std::string key = "\nprocess_resident_memory_bytes ";
  const auto at = res->body.find(key);
  return at == std::string::npos ? -1 : std::stod(res->body.substr(at + key.size()));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench_serve_load: requests/s and latency of a zoo-serve translator under load"};
  std::string host = "127.0.0.1", model, texts_path;
  int port = 8080, clients = 1, requests = 100, malformed_every = 0;
  double max_seconds = 60, rate = 0, scrape_s = 0;
  app.add_option("--host", host)->capture_default_str();
  app.add_option("--port", port)->required();
  app.add_option("--model", model, "The served model's name")->required();
  std::vector<std::string> image_paths;
  auto* texts_option =
      app.add_option("--texts", texts_path, "Sentences, one a line (gzip or plain)");
  auto* images_option =
      app.add_option("--images", image_paths, "Image files (PNG, JPEG), one a request");
  texts_option->excludes(images_option);
  images_option->excludes(texts_option);
  app.add_option("--clients", clients, "Concurrent clients")->capture_default_str();
  app.add_option("--requests", requests, "Requests in all (the count bound)")
      ->capture_default_str();
  app.add_option("--max-seconds", max_seconds, "The time bound")->capture_default_str();
  app.add_option("--rate", rate, "Requests started a second in all (0: closed loop)")
      ->capture_default_str();
  app.add_option("--malformed-every", malformed_every,
                 "Every K-th request is one the server must refuse (0: none)")
      ->capture_default_str();
  app.add_option("--scrape-s", scrape_s, "Read /metrics every this many seconds (0: never)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    // The body of each good request, in turn: {"text": ...} or {"image": base64}.
    std::vector<std::string> bodies;
    if (!image_paths.empty()) {
      for (const auto& path : image_paths)
        bodies.push_back(
            nlohmann::json{{"image", attnzoo::runtime::encode_base64(attnzoo::read_bytes(path))}}
                .dump());
    } else {
      if (texts_path.empty()) throw attnzoo::UserError("give --texts FILE or --images FILE...");
      for (const auto& text : attnzoo::read_lines(texts_path))
        bodies.push_back(nlohmann::json{{"text", text}}.dump());
      if (bodies.empty()) throw attnzoo::UserError("{}: no lines", texts_path);
    }
    std::atomic<int> next{0};
    std::mutex mutex;
    std::vector<double> latencies, refusals;  // of 200s, of 503s
    std::map<std::string, int64_t> statuses;  // "200", "400", ..., "no answer"
    const double rss_start = server_rss(host, port);
    const auto start = Clock::now();
    const auto deadline = start + std::chrono::duration<double>(max_seconds);
    std::atomic<bool> done{false};
    int64_t scrapes = 0;
    std::vector<double> rss_seen;  // MB, at each scrape
    std::thread scraper([&] {
      while (scrape_s > 0 && !done) {
        std::this_thread::sleep_for(std::chrono::duration<double>(scrape_s));
        const double rss = done ? -1 : server_rss(host, port);
        if (rss > 0) {
          ++scrapes;
          rss_seen.push_back(rss / 1e6);
        }
      }
    });
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c)
      threads.emplace_back([&] {
        httplib::Client client(host, port);
        client.set_keep_alive(true);
        // As curl and browsers do: without it the body waits for the ACK of the
        // head (Nagle) and every request pays a delayed ACK, 40 ms.
        client.set_tcp_nodelay(true);
        client.set_read_timeout(static_cast<time_t>(max_seconds) + 60, 0);
        std::vector<double> mine, refused;
        std::map<std::string, int64_t> seen;
        for (int i = next++; i < requests && Clock::now() < deadline; i = next++) {
          if (rate > 0) {  // the i-th request's start, whatever came before
            const auto at = start + std::chrono::duration_cast<Clock::duration>(
                                        std::chrono::duration<double>(i / rate));
            if (at >= deadline) break;
            std::this_thread::sleep_until(at);
          }
          const bool broken = malformed_every > 0 && i % malformed_every == malformed_every - 1;
          const std::string body =
              broken ? (i % 2 ? std::string("{\"text\": ") : std::string(R"({"txt": "a"})"))
                     : bodies[static_cast<size_t>(i) % bodies.size()];
          const auto t0 = Clock::now();
          auto res = client.Post(("/v1/models/" + model).c_str(), body, "application/json");
          const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
          if (!res) {
            seen["no answer"] += 1;
            continue;
          }
          seen[std::to_string(res->status)] += 1;
          if (res->status == 200) mine.push_back(ms);
          if (res->status == 503) refused.push_back(ms);
        }
        std::lock_guard<std::mutex> lock(mutex);
        latencies.insert(latencies.end(), mine.begin(), mine.end());
        refusals.insert(refusals.end(), refused.begin(), refused.end());
        for (const auto& [k, n] : seen) statuses[k] += n;
      });
    for (auto& t : threads) t.join();
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    done = true;
    scraper.join();
    const double rss_end = server_rss(host, port);
    int64_t errors = 0;  // what must not happen: no answer, or a status other than 200/400/503/504
    for (const auto& [k, n] : statuses)
      if (k != "200" && k != "400" && k != "503" && k != "504") errors += n;
    const nlohmann::json out = {
        {"clients", clients},
        {"rate", rate},
        {"answered", latencies.size()},
        {"statuses", statuses},
        {"errors", errors},
        {"seconds", seconds},
        {"requests_per_sec", static_cast<double>(latencies.size()) / seconds},
        {"p50_ms", percentile(latencies, 0.5)},
        {"p99_ms", percentile(latencies, 0.99)},
        {"p999_ms", percentile(latencies, 0.999)},
        {"max_ms", percentile(latencies, 1.0)},
        {"refused_p99_ms", percentile(refusals, 0.99)},  // how soon a 503 came
        {"scrapes", scrapes},
        // resident memory at each tenth of the scrapes: growth or a plateau
        {"rss_tenths_mb", tenths(rss_seen)},
        {"rss_start_mb", rss_start / 1e6},
        {"rss_end_mb", rss_end / 1e6}};
    std::cout << out.dump() << std::endl;
    return errors > 0 ? 1 : 0;
  } catch (const attnzoo::UserError& e) {
    std::cerr << "bench_serve_load: error: " << e.what() << std::endl;
    return 1;
  }
}
