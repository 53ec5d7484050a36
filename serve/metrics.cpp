#include "serve/metrics.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

namespace attnzoo::serve {
namespace {

// Seconds, from 1 ms to 30 s.
std::vector<double> latency_bounds() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
}

std::string number(double v) { return fmt::format("{}", v); }

}  // namespace

std::string label_value(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

int64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t size = 0, resident = 0;
  if (!(statm >> size >> resident)) return 0;
  return resident * static_cast<int64_t>(::sysconf(_SC_PAGESIZE));
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double value) {
  const auto at = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  counts_[static_cast<size_t>(at)] += 1;
  sum_ += value;
  count_ += 1;
}

std::string Histogram::text(const std::string& name, const std::string& labels) const {
  std::string out;
  const std::string sep = labels.empty() ? "" : ",";
  int64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    out += fmt::format("{}_bucket{{{}{}le=\"{}\"}} {}\n", name, labels, sep, number(bounds_[i]),
                       cumulative);
  }
  out += fmt::format("{}_bucket{{{}{}le=\"+Inf\"}} {}\n", name, labels, sep, count_);
  const std::string braces = labels.empty() ? "" : "{" + labels + "}";
  out +=
      fmt::format("{}_sum{} {}\n{}_count{} {}\n", name, braces, number(sum_), name, braces, count_);
  return out;
}

Metrics::PerModel::PerModel()
    : queue(latency_bounds()), compute(latency_bounds()), total(latency_bounds()) {}

void Metrics::observe(const std::string& model, int status, int64_t inputs, double queue_ms,
                      double compute_ms, double total_ms) {
  std::lock_guard<std::mutex> lock(mutex_);
  http_requests_[status] += 1;
  if (model.empty()) return;
  auto& m = models_[model];
  m.requests[status] += 1;
  m.inputs += inputs;
  m.total.observe(total_ms / 1000);
  if (status == 200) {  // queue and compute times are those of requests that ran
    m.queue.observe(queue_ms / 1000);
    m.compute.observe(compute_ms / 1000);
  }
}

std::string Metrics::text(const std::map<std::string, ModelGauges>& models, int64_t in_flight,
                          int64_t open_connections) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out;
  auto help = [&](const char* name, const char* type, const char* what) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, what, name, type);
  };
  help("zoo_http_requests_total", "counter", "HTTP requests answered, by status code");
  for (const auto& [status, n] : http_requests_)
    out += fmt::format("zoo_http_requests_total{{code=\"{}\"}} {}\n", status, n);
  help("zoo_requests_total", "counter", "Requests to a model answered, by model and status code");
  for (const auto& [name, m] : models_)
    for (const auto& [status, n] : m.requests)
      out += fmt::format("zoo_requests_total{{model=\"{}\",code=\"{}\"}} {}\n", label_value(name),
                         status, n);
  // One series a model: NAME{model="..."} value(entry).
  auto per_model = [&](const char* name, const char* type, const char* what, const auto& map,
                       auto value) {
    help(name, type, what);
    for (const auto& [model, entry] : map)
      out += fmt::format("{}{{model=\"{}\"}} {}\n", name, label_value(model), value(entry));
  };
  auto histograms = [&](const char* name, const char* what, Histogram PerModel::*which) {
    help(name, "histogram", what);
    for (const auto& [model, m] : models_)
      out += (m.*which).text(name, "model=\"" + label_value(model) + "\"");
  };
  per_model("zoo_request_inputs_total", "counter",
            "Inputs in requests to a model (texts, images, windows)", models_,
            [](const PerModel& m) { return m.inputs; });
  histograms("zoo_request_duration_seconds",
             "Time from a complete request to its answer, every status", &PerModel::total);
  histograms("zoo_queue_duration_seconds",
             "Time a request's slowest input waited for its batch (answered requests)",
             &PerModel::queue);
  histograms("zoo_compute_duration_seconds",
             "Time the batch of a request's slowest input ran (answered requests)",
             &PerModel::compute);
  per_model("zoo_batches_total", "counter", "Batches a model ran", models,
            [](const ModelGauges& g) { return g.batches; });
  help("zoo_batch_size", "histogram", "Inputs per batch run");
  for (const auto& [name, g] : models) {
    const std::string labels = "model=\"" + label_value(name) + "\"";
    int64_t cumulative = 0, sum = 0;
    const std::vector<int64_t> bounds = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512};
    size_t size = 0;
    for (int64_t bound : bounds) {
      for (; size < g.batch_sizes.size() && static_cast<int64_t>(size) <= bound; ++size) {
        cumulative += g.batch_sizes[size];
        sum += g.batch_sizes[size] * static_cast<int64_t>(size);
      }
      out += fmt::format("zoo_batch_size_bucket{{{},le=\"{}\"}} {}\n", labels, bound, cumulative);
    }
    for (; size < g.batch_sizes.size(); ++size) {
      cumulative += g.batch_sizes[size];
      sum += g.batch_sizes[size] * static_cast<int64_t>(size);
    }
    out += fmt::format("zoo_batch_size_bucket{{{},le=\"+Inf\"}} {}\n", labels, cumulative);
    out += fmt::format("zoo_batch_size_sum{{{}}} {}\nzoo_batch_size_count{{{}}} {}\n", labels, sum,
                       labels, cumulative);
  }
  per_model("zoo_refused_inputs_total", "counter",
            "Inputs refused with 503 because the model's queue was full (a request refused as "
            "it arrived counts one)",
            models, [](const ModelGauges& g) { return g.refused; });
  per_model("zoo_expired_inputs_total", "counter",
            "Inputs whose deadline passed, or would have before their batch ended (504, never run)",
            models, [](const ModelGauges& g) { return g.expired; });
  per_model("zoo_queued_inputs", "gauge",
            "Inputs waiting for a model now, requests waiting for a worker included", models,
            [](const ModelGauges& g) { return g.queued; });
  per_model("zoo_model_ready", "gauge", "1 where the model is loaded and serving", models,
            [](const ModelGauges& g) { return g.ready ? 1 : 0; });
  help("zoo_in_flight_requests", "gauge", "Requests read and not yet answered");
  out += fmt::format("zoo_in_flight_requests {}\n", in_flight);
  help("zoo_open_connections", "gauge", "Open client connections");
  out += fmt::format("zoo_open_connections {}\n", open_connections);
  help("process_resident_memory_bytes", "gauge", "Resident memory of the process");
  out += fmt::format("process_resident_memory_bytes {}\n", resident_bytes());
  return out;
}

}  // namespace attnzoo::serve
