#include "serve/served_model.h"

#include <fmt/format.h>
#include <malloc.h>

#include <algorithm>
#include <utility>

#include "data/error.h"
#include "data/exported.h"
#include "runtime/inputs.h"

namespace attnzoo::serve {
namespace {

using nlohmann::json;
using runtime::array_of;
using runtime::bad;
using runtime::closed_object;
using runtime::integer;
using runtime::integer_schema;

// What a file's config may show a client: the model's shape and decoding,
// never the data, training or any path on the server's disks.
json public_config(const json& config) {
  json out = json::object();
  if (!config.is_object()) return out;
  for (const auto& [section, values] : config.items()) {
    if (section == "data" || section == "train" || !values.is_object()) continue;
    json kept = json::object();
    for (const auto& [key, value] : values.items()) {
      const bool path_like =
          key == "weights" || key == "cache" ||
          (value.is_string() && value.get<std::string>().find_first_of("/\\") != std::string::npos);
      if (!path_like) kept[key] = value;
    }
    out[section] = kept;
  }
  return out;
}

}  // namespace

ServedModel::ServedModel(std::string name, const std::string& path, const ServeOptions& options)
    : name_(std::move(name)),
      kind_(runtime::open_kind(load_exported(path), path)),
      options_(options) {
  app_ = kind_->app();
  batcher_ = std::make_unique<Batcher<Item, json>>(
      [this](const std::vector<Item>& items) {
        torch::NoGradGuard no_grad;
        return kind_->run(items);
      },
      options.max_batch,
      std::chrono::microseconds(static_cast<int64_t>(std::llround(options.max_wait_ms * 1000))),
      options.max_queue, static_cast<int>(options.batch_workers));
}

ServedModel::~ServedModel() {
  batcher_.reset();  // its worker runs this model: first
  kind_.reset();
  ::malloc_trim(0);
}

void ServedModel::warm_up() {
  const auto input = kind_->warm_up_input();
  if (!input) return;
  try {
    torch::NoGradGuard no_grad;
    kind_->run({*input});
  } catch (const std::exception& e) {
    throw UserError("{}: the model fails on a first input: {}", name_, e.what());
  }
}

std::vector<std::string> ServedModel::fields() const {
  auto all = kind_->fields();
  all.push_back("timeout_ms");
  return all;
}

json ServedModel::info() const {
  const auto s = batcher_->stats();
  const auto& record = kind_->record();
  json out = {{"name", name_},
              {"app", app_},
              {"version", record.value("version", "")},
              {"frozen", record.value("frozen", false)},
              {"fields", fields()},
              {"batches", s.batches},
              {"items", s.items},
              {"largest_batch", s.largest},
              {"queued", s.queued},
              {"refused", s.refused},
              {"expired", s.expired},
              {"max_queue", options_.max_queue},
              {"ready", true},
              {"config", public_config(record.value("config", json::object()))}};
  out.update(kind_->info());
  return out;
}

json ServedModel::schemas() const {
  const json string = {{"type", "string"}};
  const int64_t most_ms = options_.timeout_ms > 0 ? static_cast<int64_t>(options_.timeout_ms)
                                                  : int64_t{24} * 3600 * 1000;
  const auto kind = kind_->schema(options_.limits);
  const std::string one = kind_->one_field(), many = kind_->many_field();
  json request = kind.options;
  request["timeout_ms"] = integer_schema(1, most_ms);
  request[one] = kind.input;
  json choices = json::array({{{"required", {one}}}});
  if (!many.empty()) {
    request[many] = array_of(kind.input, 1, options_.max_items);
    choices.push_back({{"required", {many}}});
  }
  json request_schema = {{"type", "object"},
                         {"properties", request},
                         {"additionalProperties", false},
                         {"oneOf", choices}};
  json single = kind.result;
  single["model"] = string;
  auto single_required = kind.result_required;
  single_required.push_back("model");
  json response = closed_object(single, single_required);
  if (!many.empty())
    response = {
        {"oneOf",
         {response,
          closed_object({{"model", string},
                         {"results", array_of(closed_object(kind.result, kind.result_required))}},
                        {"model", "results"})}}};
  return {{"request", request_schema}, {"response", response}};
}

ModelGauges ServedModel::gauges() const {
  const auto s = batcher_->stats();
  ModelGauges g;
  g.queued = s.queued;
  g.batches = s.batches;
  g.items = s.items;
  g.refused = s.refused;
  g.expired = s.expired;
  g.batch_sizes = s.sizes;
  g.ready = true;
  return g;
}

void ServedModel::check_fields(const json& request) const {
  const auto allowed = fields();
  for (const auto& field : request.items())
    if (std::find(allowed.begin(), allowed.end(), field.key()) == allowed.end())
      throw bad(fmt::format("unknown field \"{}\"; a {} model reads {}", field.key(), app_,
                            fmt::join(allowed, ", ")));
}

json ServedModel::handle_json(const json& request, RequestContext& context) {
  if (!request.is_object()) throw bad("the body must be a JSON object");
  check_fields(request);
  kind_->check_request(request);
  const std::string one = kind_->one_field(), many = kind_->many_field();
  const bool plural = !many.empty() && request.contains(many);
  if (plural == request.contains(one))
    throw bad(many.empty() ? fmt::format("a {} model needs \"{}\"", app_, one)
                           : fmt::format("give \"{}\" or \"{}\" (one of them)", one, many));

  const Item base = kind_->options(request);
  json values = json::array();
  if (plural) {
    values = request.at(many);
    if (!values.is_array() || values.empty())
      throw bad(fmt::format("\"{}\" must be a non-empty list", many));
    if (static_cast<int64_t>(values.size()) > options_.max_items)
      throw RequestError(413, fmt::format("\"{}\" holds {} inputs; this server takes at most {} "
                                          "a request",
                                          many, values.size(), options_.max_items));
  } else {
    values.push_back(request.at(one));
  }
  std::vector<Item> items;
  for (size_t i = 0; i < values.size(); ++i) {
    const std::string where = plural ? fmt::format("{}[{}]", many, i) : one;
    const auto& v = values[i];
    Item item = base;
    kind_->read(v, where, options_.limits, item);
    items.push_back(std::move(item));
  }
  return answer(std::move(items), plural, request, context);
}

json ServedModel::handle_images(const std::vector<std::string>& files, const json& form,
                                RequestContext& context) {
  if (!kind_->takes_uploads()) throw bad("a " + app_ + " model takes a JSON body, not an upload");
  if (files.empty()) throw bad("the upload has no file field named \"image\"");
  if (static_cast<int64_t>(files.size()) > options_.max_items)
    throw RequestError(413, fmt::format("{} images; this server takes at most {} a request",
                                        files.size(), options_.max_items));
  check_fields(form);
  const Item base = kind_->options(form);
  std::vector<Item> items;
  for (size_t i = 0; i < files.size(); ++i) {
    Item item = base;
    kind_->read_upload(files[i], fmt::format("image {}", i + 1), options_.limits, item);
    items.push_back(std::move(item));
  }
  return answer(std::move(items), files.size() > 1, form, context);
}

json ServedModel::answer(std::vector<Item> items, bool plural, const json& request,
                         RequestContext& context) {
  // The server's deadline, or the request's own where it is sooner.
  const int64_t most = options_.timeout_ms > 0 ? static_cast<int64_t>(options_.timeout_ms)
                                               : int64_t{24} * 3600 * 1000;
  const int64_t timeout = integer(request, "timeout_ms", 1, most, most);
  if (options_.timeout_ms > 0 || request.contains("timeout_ms"))
    context.deadline =
        std::min(context.deadline, context.received + std::chrono::milliseconds(timeout));
  if (BatchClock::now() >= context.deadline)  // it waited for a worker past it: not queued
    throw RequestError(504, "the request's deadline passed before its model could take it");
  context.inputs = static_cast<int64_t>(items.size());
  std::vector<std::future<Timed<json>>> futures;
  try {
    futures = batcher_->submit_all(std::move(items), context.deadline);
  } catch (const Overloaded& e) {
    if (context.ticket) context.ticket->release();
    throw RequestError(503, e.what());
  }
  if (context.ticket) context.ticket->release();  // its inputs hold their places now
  json results = json::array();
  std::exception_ptr failed;
  for (auto& f : futures) {
    try {
      auto timed = f.get();  // rethrows a run's error
      context.queue_ms = std::max(context.queue_ms, timed.queue_ms);
      context.compute_ms = std::max(context.compute_ms, timed.compute_ms);
      results.push_back(std::move(timed.value));
    } catch (...) {
      if (!failed) failed = std::current_exception();  // every future is waited for first
    }
  }
  if (failed) {
    try {
      std::rethrow_exception(failed);
    } catch (const DeadlineExceeded& e) {
      throw RequestError(504, e.what());
    } catch (const Overloaded& e) {
      throw RequestError(503, e.what());
    }
  }
  if (!plural) {
    auto out = results[0];
    out["model"] = name_;
    return out;
  }
  return {{"model", name_}, {"results", results}};
}

}  // namespace attnzoo::serve
