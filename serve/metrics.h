#pragma once
// zoo-serve's counters and latency histograms, written in the Prometheus text
// format (version 0.0.4) for GET /metrics. Every request is counted once,
// when its answer is ready.
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace attnzoo::serve {

// Cumulative buckets over fixed upper bounds, as Prometheus reads them.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);
  // `name`_bucket{labels,le=...}, _sum and _count lines.
  std::string text(const std::string& name, const std::string& labels) const;
  int64_t count() const { return count_; }

 private:
  std::vector<double> bounds_;
  std::vector<int64_t> counts_;  // per bucket, not cumulative; the last is +Inf
  double sum_ = 0;
  int64_t count_ = 0;
};

// What a model's batcher says at scrape time.
struct ModelGauges {
  int64_t queued = 0, batches = 0, items = 0, refused = 0, expired = 0;
  std::vector<int64_t> batch_sizes;  // [n]: batches of n inputs
  bool ready = false;
};

class Metrics {
 public:
  // One answered request: its status, and for a model's, what it cost.
  void observe(const std::string& model, int status, int64_t inputs, double queue_ms,
               double compute_ms, double total_ms);
  std::string text(const std::map<std::string, ModelGauges>& models, int64_t in_flight,
                   int64_t open_connections) const;

 private:
  struct PerModel {
    std::map<int, int64_t> requests;  // by status
    int64_t inputs = 0;
    Histogram queue, compute, total;
    PerModel();
  };
  mutable std::mutex mutex_;
  std::map<int, int64_t> http_requests_;  // every request, by status
  std::map<std::string, PerModel> models_;
};

// The process's resident memory, bytes (0 where /proc is not there).
int64_t resident_bytes();

// A label value as Prometheus escapes it (backslash, quote, newline).
std::string label_value(const std::string& value);

}  // namespace attnzoo::serve
