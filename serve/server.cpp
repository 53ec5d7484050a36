#include "serve/server.h"

#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <fstream>
#include <random>
#include <utility>

#include "attnzoo/version.h"
#include "data/error.h"
#include "serve/line_log.h"

namespace attnzoo::serve {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

HttpResponse reply(int status, const json& body) {
  HttpResponse r;
  r.status = status;
  // Invalid UTF-8 (from a model's vocabulary or an echoed input) is replaced, never a throw.
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

HttpResponse error_reply(int status, const std::string& what) {
  HttpResponse r = reply(status, {{"error", what}});
  if (status == 503) r.set_header("Retry-After", "1");
  if (status == 405) r.set_header("Allow", "GET, HEAD");
  return r;
}

// The routes and the methods each takes (for 405 and Allow).
const std::string kModels = "/v1/models/", kReload = "/reload";

// NAME from /v1/models/NAME (a model's route); "" for any other path.
std::string model_route(const std::string& path) {
  if (path.rfind(kModels, 0) != 0 || path.size() == kModels.size() ||
      path.find('/', kModels.size()) != std::string::npos)
    return "";
  return path.substr(kModels.size());
}

// NAME from /v1/models/NAME/reload; "" for any other path.
std::string reload_route(const std::string& path) {
  if (path.size() <= kModels.size() + kReload.size() || path.rfind(kModels, 0) != 0 ||
      path.compare(path.size() - kReload.size(), kReload.size(), kReload) != 0 ||
      path.find('/', kModels.size()) != path.size() - kReload.size())
    return "";
  return path.substr(kModels.size(), path.size() - kModels.size() - kReload.size());
}

bool is_reload(const std::string& path) { return !reload_route(path).empty(); }

// Equal strings, in a time that does not depend on where they differ.
bool same_key(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const size_t n = std::max(a.size(), b.size());
  for (size_t i = 0; i < n; ++i)
    diff |= static_cast<unsigned char>((i < a.size() ? a[i] : 0) ^ (i < b.size() ? b[i] : 0));
  return diff == 0;
}

bool any_key(const std::vector<std::string>& keys, const std::string& given) {
  bool found = false;
  for (const auto& k : keys) found = same_key(k, given) || found;  // every key is compared
  return found;
}

std::string allowed_methods(const std::string& path) {
  if (is_reload(path)) return "POST";
  if (path == "/health" || path == "/health/live" || path == "/health/ready" ||
      path == "/v1/models" || path == "/metrics" || path == "/openapi.json")
    return "GET, HEAD";
  if (!model_route(path).empty()) return "GET, HEAD, POST";
  return "";
}

std::string utc_now() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03d}Z", text, ms);
}

// The start of a request's answer, for the access log's total milliseconds
// (handlers run on one thread each, so thread-local is the request's).
thread_local Clock::time_point request_start;

}  // namespace

json parse_request_json(const std::string& body, int max_depth) {
  // The depth is counted on the bytes, before the parser builds anything.
  int depth = 0;
  bool in_string = false, escaped = false;
  for (const char c : body) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') in_string = true;
    if (c == '[' || c == '{') {
      if (++depth > max_depth)
        throw RequestError(400,
                           fmt::format("the JSON body nests deeper than {} levels", max_depth));
    }
    if ((c == ']' || c == '}') && depth > 0) --depth;
  }
  try {
    return json::parse(body);
  } catch (const json::parse_error& e) {
    throw RequestError(400, fmt::format("malformed JSON: {}", e.what()));
  }
}

std::vector<std::string> read_keys(const std::string& path, const std::string& flag) {
  std::ifstream in(path);
  if (!in) throw UserError("{} {}: cannot read the file", flag, path);
  std::vector<std::string> keys;
  std::string line;
  while (std::getline(in, line)) {
    const size_t hash = line.find('#');
    if (hash != std::string::npos) line.erase(hash);
    const auto begin = line.find_first_not_of(" \t\r");
    if (begin == std::string::npos) continue;
    line = line.substr(begin, line.find_last_not_of(" \t\r") - begin + 1);
    if (line.size() < 16 || line.find_first_of(" \t") != std::string::npos)
      throw UserError("{} {}: a key must be 16 or more characters without spaces (line of {})",
                      flag, path, line.size());
    keys.push_back(line);
  }
  if (keys.empty()) throw UserError("{} {}: no key in the file", flag, path);
  return keys;
}

std::string request_id(const HttpRequest& request) {
  const std::string& given = request.header("x-request-id");
  if (!given.empty() && given.size() <= 128 &&
      std::all_of(given.begin(), given.end(), [](char c) { return c > 0x20 && c < 0x7f; }))
    return given;
  thread_local std::mt19937_64 random(std::random_device{}() ^ static_cast<uint64_t>(::getpid())
                                                                   << 32u);
  return fmt::format("{:016x}", random());
}

ModelServer::ModelServer(ServerOptions options) : options_(std::move(options)) {
  HttpHandlers handlers;
  handlers.answer = [this](const HttpRequest& r) { return answer(r); };
  handlers.refuse = [this](int status, const std::string& why, const HttpRequest& r) {
    return refuse(status, why, r);
  };
  // Health and the lists are answered on the connection thread: they never wait.
  handlers.quick = [](const HttpRequest& r) { return r.method != "POST"; };
  handlers.admit = [this](HttpRequest& r) { return admit(r); };
  http_ = std::make_unique<HttpServer>(options_.http, std::move(handlers));
}

ModelServer::~ModelServer() = default;

void ModelServer::add_model(const std::string& name, const std::string& path) {
  if (name.empty() || name.find_first_of("/?#% ") != std::string::npos)
    throw UserError("--model {}={}: a model name without '/', '?', '#', '%' or spaces", name, path);
  {
    std::shared_lock<std::shared_mutex> lock(models_mutex_);
    if (models_.count(name)) throw UserError("--model {}: two models of that name", name);
  }
  loading_ += 1;
  try {
    auto model = std::make_shared<ServedModel>(name, path, options_.model);
    model->warm_up();
    std::unique_lock<std::shared_mutex> lock(models_mutex_);
    if (models_.count(name)) throw UserError("--model {}: two models of that name", name);
    models_[name] = std::move(model);
    paths_[name] = path;
  } catch (...) {
    loading_ -= 1;
    throw;
  }
  loading_ -= 1;
}

void ModelServer::reload(const std::string& name, const std::string& path) {
  const std::lock_guard<std::mutex> one_at_a_time(reload_mutex_);
  std::shared_ptr<ServedModel> old;
  std::string file = path;
  {
    std::shared_lock<std::shared_mutex> lock(models_mutex_);
    const auto it = models_.find(name);
    if (it == models_.end()) throw RequestError(404, fmt::format("no model \"{}\"", name));
    old = it->second;
    if (file.empty()) file = paths_.at(name);
  }
  loading_ += 1;  // not ready while a model reloads; the old one serves meanwhile
  struct Done {
    std::atomic<int>& n;
    ~Done() { n -= 1; }
  } done{loading_};
  std::shared_ptr<ServedModel> fresh;
  try {
    fresh = std::make_shared<ServedModel>(name, file, options_.model);
    fresh->warm_up();
  } catch (const std::exception& e) {
    throw RequestError(409, fmt::format("{} stays as it was: {}", name, e.what()));
  }
  if (fresh->app() != old->app())
    throw RequestError(409, fmt::format("{} stays as it was: {} is a {} model, not {}", name, file,
                                        fresh->app(), old->app()));
  {
    std::unique_lock<std::shared_mutex> lock(models_mutex_);
    models_[name] = std::move(fresh);
    paths_[name] = file;
  }
  old.reset();  // freed here, or by its last request (~ServedModel)
}

std::vector<std::string> ModelServer::reload_all() {
  std::vector<std::string> names, said;
  {
    std::shared_lock<std::shared_mutex> lock(models_mutex_);
    for (const auto& [name, m] : models_) names.push_back(name);
  }
  for (const auto& name : names) {
    try {
      reload(name);
      std::shared_lock<std::shared_mutex> lock(models_mutex_);
      said.push_back(fmt::format("reloaded {} from {}", name, paths_.at(name)));
    } catch (const std::exception& e) {
      said.push_back(fmt::format("not reloaded: {}", e.what()));
    }
  }
  return said;
}

json ModelServer::openapi() const {
  const auto ref = [](const std::string& name) {
    return json{{"$ref", "#/components/schemas/" + name}};
  };
  const auto content = [](const json& schema, const std::string& type = "application/json") {
    return json{{type, {{"schema", schema}}}};
  };
  const auto answer = [&](const std::string& what, const json& schema) {
    return json{{"description", what}, {"content", content(schema)}};
  };
  const auto error = [&](const std::string& what) { return answer(what, ref("Error")); };
  const bool keys = !options_.api_keys.empty() || !options_.management_keys.empty();
  const json open = json::array();  // no key needed
  json paths = json::object();
  const json health = {
      {"type", "object"},
      {"properties", {{"status", {{"type", "string"}}}, {"models", {{"type", "integer"}}}}},
      {"required", {"status"}}};
  paths["/health/live"]["get"] = {{"summary", "200 while the process answers"},
                                  {"security", open},
                                  {"responses", {{"200", answer("live", health)}}}};
  paths["/health/ready"]["get"] = {
      {"summary", "200 once every model is loaded and warmed up"},
      {"security", open},
      {"responses",
       {{"200", answer("ready", health)},
        {"503", answer("loading, stopping, reloading or no models", health)}}}};
  paths["/health"]["get"] = {{"summary", "200 with the number of models"},
                             {"security", open},
                             {"responses", {{"200", answer("ok", health)}}}};
  paths["/metrics"]["get"] = {
      {"summary", "Prometheus text format 0.0.4"},
      {"responses",
       {{"200",
         {{"description", "metrics"}, {"content", content({{"type", "string"}}, "text/plain")}}}}}};
  paths["/openapi.json"]["get"] = {
      {"summary", "this document"},
      {"responses", {{"200", answer("OpenAPI 3.1", {{"type", "object"}})}}}};
  paths["/v1/models"]["get"] = {
      {"summary", "every model served"},
      {"responses",
       {{"200",
         answer("the models",
                {{"type", "object"},
                 {"properties", {{"models", {{"type", "array"}, {"items", ref("ModelInfo")}}}}},
                 {"required", {"models"}}})}}}};
  std::vector<std::pair<std::string, std::shared_ptr<ServedModel>>> all;
  {
    std::shared_lock<std::shared_mutex> lock(models_mutex_);
    for (const auto& [name, m] : models_) all.emplace_back(name, m);
  }
  for (const auto& [name, m] : all) {
    const json s = m->schemas();
    const std::string path = "/v1/models/" + name;
    paths[path]["get"] = {{"summary", name + ": what it is and its batching figures"},
                          {"responses", {{"200", answer("the model", ref("ModelInfo"))}}}};
    json body = {{"required", true}, {"content", content(s.at("request"))}};
    if (m->takes_uploads())
      body["content"]["multipart/form-data"] = {
          {"schema",
           {{"type", "object"},
            {"properties",
             {{"image", {{"type", "string"}, {"contentMediaType", "application/octet-stream"}}},
              {"beam", {{"type", "string"}}},
              {"top_k", {{"type", "string"}}},
              {"timeout_ms", {{"type", "string"}}}}},
            {"required", {"image"}}}}};
    paths[path]["post"] = {
        {"summary", name + " (" + m->app() + "): answer inputs"},
        {"requestBody", body},
        {"responses",
         {{"200",
           answer("the answer; a plural field gives {\"results\": [...]}", s.at("response"))},
          {"400", error("a malformed or invalid request")},
          {"401", error("no valid key")},
          {"404", error("no such model")},
          {"408", error("the request did not arrive in time")},
          {"413", error("a body, input count, text or image past the server's limits")},
          {"415", error("a compressed body")},
          {"500", error("a fault inside the model")},
          {"503", error("the model's queue is full, or the server is loading or stopping")},
          {"504", error("the deadline passed before the model ran the request")}}}};
    paths[path + "/reload"]["post"] = {
        {"summary", "management key: load a new file for " + name + " and swap it in"},
        {"requestBody",
         {{"required", false},
          {"content", content({{"type", "object"},
                               {"properties", {{"file", {{"type", "string"}}}}},
                               {"additionalProperties", false}})}}},
        {"responses",
         {{"200", answer("reloaded",
                         {{"type", "object"},
                          {"properties",
                           {{"reloaded", {{"type", "string"}}}, {"file", {{"type", "string"}}}}},
                          {"required", {"reloaded", "file"}}})},
          {"401", error("no valid management key")},
          {"403", error("the server has no management key file")},
          {"409", error("the file does not load or is another app's; the old model serves on")}}}};
  }
  json doc = {{"openapi", "3.1.0"},
              {"info",
               {{"title", "zoo-serve"},
                {"version", ATTNZOO_VERSION},
                {"description", "attnzoo's exported models over HTTP/JSON (docs/serving.md)"}}},
              {"paths", paths},
              {"components",
               {{"schemas",
                 {{"Error",
                   {{"type", "object"},
                    {"properties", {{"error", {{"type", "string"}}}}},
                    {"required", {"error"}},
                    {"additionalProperties", false}}},
                  {"ModelInfo",
                   {{"type", "object"},
                    {"properties",
                     {{"name", {{"type", "string"}}},
                      {"app", {{"type", "string"}, {"enum", runtime::kind_names()}}},
                      {"ready", {{"type", "boolean"}}}}},
                    {"required", {"name", "app", "ready", "fields"}}}}}}}}};
  if (keys) {
    doc["components"]["securitySchemes"] = {{"bearer", {{"type", "http"}, {"scheme", "bearer"}}}};
    doc["security"] = json::array({{{"bearer", json::array()}}});
  }
  return doc;
}

int ModelServer::bind() {
  port_ = http_->bind();
  return port_;
}

void ModelServer::serve() { http_->serve(); }

void ModelServer::stop() { http_->stop(options_.drain_s); }

bool ModelServer::ready() const {
  std::shared_lock<std::shared_mutex> lock(models_mutex_);
  return !models_.empty() && loading_ == 0 && !http_->stopping();
}

std::shared_ptr<ServedModel> ModelServer::model(const std::string& name) const {
  std::shared_lock<std::shared_mutex> lock(models_mutex_);
  const auto it = models_.find(name);
  return it == models_.end() ? nullptr : it->second;
}

HttpResponse ModelServer::answer(const HttpRequest& request) {
  request_start = Clock::now();
  RequestContext context;
  // Read by a connection: its deadline counts from then (the fuzz target and
  // the tests may call this with a request that was never read).
  if (request.received != std::chrono::steady_clock::time_point()) {
    context.received = request.received;
    request_start = request.received;
  }
  context.ticket = request.ticket;
  HttpResponse response;
  try {
    response = route(request, context);
  } catch (const RequestError& e) {
    response = error_reply(e.status, e.what());
  } catch (const UserError& e) {
    response = error_reply(400, e.what());
  } catch (const c10::Error& e) {
    response =
        error_reply(500, std::string("error inside the model: ") + e.what_without_backtrace());
  } catch (const std::exception& e) {
    response = error_reply(500, e.what());
  }
  return finish(std::move(response), request, context);
}

std::optional<HttpResponse> ModelServer::admit(HttpRequest& request) {
  if (request.method != "POST") return std::nullopt;
  const std::string name = model_route(request.path);
  // Without a valid key, route() answers 401 and says nothing of the models.
  if (name.empty() || authorize(request, false) != 0) return std::nullopt;
  const auto served = model(name);
  if (!served) return std::nullopt;
  if (served->reserve()) {
    request.ticket = std::make_shared<Ticket>([served] { served->unreserve(); });
    return std::nullopt;
  }
  request_start = request.received == Clock::time_point() ? Clock::now() : request.received;
  RequestContext context;
  context.model = name;
  const std::string why = fmt::format(
      "model \"{}\": the queue is full ({} inputs waiting, at most {}): try again later", name,
      served->gauges().queued, options_.model.max_queue);
  return finish(error_reply(503, why), request, context);
}

HttpResponse ModelServer::refuse(int status, const std::string& why, const HttpRequest& request) {
  request_start = Clock::now();
  HttpResponse r = error_reply(status, why);
  if (status == 405) r.set_header("Allow", allowed_methods(request.path));
  return finish(std::move(r), request, RequestContext());
}

HttpResponse ModelServer::finish(HttpResponse response, const HttpRequest& request,
                                 const RequestContext& context) {
  const std::string id = request_id(request);
  response.set_header("X-Request-Id", id);
  const double ms = std::chrono::duration<double, std::milli>(Clock::now() - request_start).count();
  metrics_.observe(context.model, response.status, context.inputs, context.queue_ms,
                   context.compute_ms, ms);
  if (!options_.log) return response;
  // JSON: whatever the client sent (a path with a newline) stays inside its string.
  json line = {{"time", utc_now()},
               {"id", id},
               {"method", request.method},
               {"path", request.path},
               {"status", response.status},
               {"ms", std::round(ms * 1000) / 1000},
               {"bytes_in", request.body.size()},
               {"bytes_out", response.body.size()}};
  if (!context.model.empty()) {
    line["model"] = context.model;
    line["inputs"] = context.inputs;
    line["queue_ms"] = std::round(context.queue_ms * 1000) / 1000;
    line["compute_ms"] = std::round(context.compute_ms * 1000) / 1000;
  }
  const std::string text = line.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  write_line(text);  // whole, whatever else writes to stderr (serve/line_log.h)
  return response;
}

int ModelServer::authorize(const HttpRequest& request, bool management) const {
  if (options_.api_keys.empty() && options_.management_keys.empty()) return management ? 403 : 0;
  const std::string& header = request.header("authorization");
  const std::string scheme = "bearer ";
  std::string given;
  if (header.size() > scheme.size()) {
    std::string start = header.substr(0, scheme.size());
    std::transform(start.begin(), start.end(), start.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (start == scheme) given = header.substr(scheme.size());
  }
  const bool manager = !given.empty() && any_key(options_.management_keys, given);
  if (management) return manager ? 0 : options_.management_keys.empty() ? 403 : 401;
  const bool user = !given.empty() && any_key(options_.api_keys, given);
  return user || manager || options_.api_keys.empty() ? 0 : 401;
}

HttpResponse ModelServer::route(const HttpRequest& request, RequestContext& context) {
  const std::string& path = request.path;
  const bool health = path == "/health" || path == "/health/live" || path == "/health/ready";
  if (!health) {
    const int denied = authorize(request, is_reload(path));
    if (denied == 401) {
      HttpResponse r = error_reply(401, "a valid key is needed: Authorization: Bearer KEY");
      r.set_header("WWW-Authenticate", "Bearer");
      return r;
    }
    if (denied == 403) throw RequestError(403, "reloading needs zoo-serve --management-key-file");
  }
  const std::string allowed = allowed_methods(path);
  if (allowed.empty()) throw RequestError(404, fmt::format("no route {}", path));
  const bool get = request.method == "GET" || request.method == "HEAD";
  const bool takes = (get && allowed.find("GET") != std::string::npos) ||
                     (request.method == "POST" && allowed.find("POST") != std::string::npos);
  if (!takes) {
    HttpResponse r = error_reply(
        405, fmt::format("{} is not allowed on {}; it takes {}", request.method, path, allowed));
    r.set_header("Allow", allowed);
    return r;
  }
  if (path == "/health/live") return reply(200, {{"status", "live"}});
  if (path == "/health/ready") {
    const bool ok = ready();
    const char* status = ok                  ? "ready"
                         : http_->stopping() ? "stopping"
                         : loading_ > 0      ? "loading"
                                             : "no models";
    size_t count = 0;
    {
      std::shared_lock<std::shared_mutex> lock(models_mutex_);
      count = models_.size();
    }
    return reply(ok ? 200 : 503, {{"status", status}, {"models", count}});
  }
  if (path == "/openapi.json") return reply(200, openapi());
  if (path == "/metrics") {
    std::map<std::string, ModelGauges> gauges;
    {
      std::shared_lock<std::shared_mutex> lock(models_mutex_);
      for (const auto& [name, m] : models_) gauges[name] = m->gauges();
    }
    HttpResponse r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body =
        metrics_.text(gauges, http_->in_flight(), static_cast<int64_t>(http_->open_connections()));
    return r;
  }
  if (path == "/health") {
    std::shared_lock<std::shared_mutex> lock(models_mutex_);
    return reply(200, {{"status", "ok"}, {"models", models_.size()}});
  }
  if (path == "/v1/models") {
    std::vector<std::shared_ptr<ServedModel>> all;
    {
      std::shared_lock<std::shared_mutex> lock(models_mutex_);
      for (const auto& [name, m] : models_) all.push_back(m);
    }
    json list = json::array();
    for (const auto& m : all) list.push_back(m->info());
    return reply(200, {{"models", list}});
  }
  if (is_reload(path)) {
    const std::string name = reload_route(path);
    const json body = request.body.empty() ? json::object() : parse_request_json(request.body);
    if (!body.is_object() || (body.contains("file") && !body.at("file").is_string()) ||
        body.size() > (body.contains("file") ? 1u : 0u))
      throw RequestError(400, "a reload body is {} or {\"file\": \"PATH\"}");
    const std::string file = body.value("file", "");
    reload(name, file);
    std::shared_lock<std::shared_mutex> lock(models_mutex_);
    return reply(200, {{"reloaded", name}, {"file", paths_.at(name)}});
  }
  const std::string name = model_route(path);
  const auto served = model(name);
  if (!served && loading_ > 0)
    throw RequestError(503, fmt::format("no model \"{}\" yet: the server is loading its models",
                                        name.size() > 60 ? name.substr(0, 57) + "..." : name));
  if (!served) {
    // The name is not echoed whole: it is whatever the client sent.
    std::string names;
    {
      std::shared_lock<std::shared_mutex> lock(models_mutex_);
      for (const auto& [n, m] : models_) names += (names.empty() ? "" : ", ") + n;
    }
    throw RequestError(404, fmt::format("no model \"{}\"; this server has {}",
                                        name.size() > 60 ? name.substr(0, 57) + "..." : name,
                                        names.empty() ? "none yet" : names));
  }
  if (get) return reply(200, served->info());
  context.model = name;
  if (is_multipart(request)) {
    std::vector<FormPart> parts;
    const std::string why =
        parse_multipart(request, parts, static_cast<size_t>(options_.model.max_items) + 16);
    if (!why.empty()) throw RequestError(400, why);
    std::vector<std::string> files;
    json form = json::object();
    for (auto& part : parts) {
      if (part.name == "image") {
        files.push_back(std::move(part.content));
      } else {
        form[part.name] = std::move(part.content);
      }
    }
    return reply(200, served->handle_images(files, form, context));
  }
  return reply(200, served->handle_json(parse_request_json(request.body), context));
}

}  // namespace attnzoo::serve
