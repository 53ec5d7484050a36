#include "serve/server.h"

#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <httplib.h>

#include <sys/socket.h>

#include <iostream>
#include <utility>

#include "data/error.h"

namespace attnzoo::serve {
namespace {

using nlohmann::json;

void reply(httplib::Response& res, int status, const json& body) {
  res.status = status;
  // Invalid UTF-8 (from a model's vocabulary or an echoed input) is replaced, never a throw.
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void fail(httplib::Response& res, int status, const std::string& what) {
  reply(res, status, {{"error", what}});
}

}  // namespace

ModelServer::ModelServer(ServerOptions options)
    : options_(std::move(options)), http_(std::make_unique<httplib::Server>()) {
  const size_t threads = static_cast<size_t>(std::max(1, options_.http_threads));
  http_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http_->set_payload_max_length(options_.max_body_bytes);
  // SO_REUSEADDR (a restart binds at once), not the library's default
  // SO_REUSEPORT, with which a second server on the port would start and
  // silently take half the connections. The library listens with a backlog
  // of 5 (CPPHTTPLIB_LISTEN_BACKLOG, fixed when Debian built it): a burst of
  // connections overflows it and some are reset; so the socket is noted and
  // listen() called on it again after bind() with a larger one (Linux takes
  // the new backlog).
  http_->set_socket_options([this](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    socket_ = sock;
  });
  routes();
}

ModelServer::~ModelServer() { stop(); }

void ModelServer::add_model(const std::string& name, const std::string& path) {
  if (name.empty() || name.find_first_of("/?# ") != std::string::npos)
    throw UserError("--model {}={}: a model name without '/', '?', '#' or spaces", name, path);
  if (models_.count(name)) throw UserError("--model {}: two models of that name", name);
  models_[name] = std::make_unique<ServedModel>(name, path, options_.model);
}

int ModelServer::bind() {
  if (options_.port == 0) {
    port_ = http_->bind_to_any_port(options_.host);
  } else {
    port_ = http_->bind_to_port(options_.host, options_.port) ? options_.port : -1;
  }
  if (port_ < 0)
    throw UserError("cannot listen on {}:{} (in use, or not an address of this machine)",
                    options_.host, options_.port);
  if (socket_ >= 0) ::listen(socket_, 1024);
  return port_;
}

void ModelServer::serve() { http_->listen_after_bind(); }

void ModelServer::stop() {
  if (http_) http_->stop();
}

void ModelServer::routes() {
  auto& s = *http_;
  s.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    reply(res, 200, {{"status", "ok"}, {"models", models_.size()}});
  });
  s.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
    json list = json::array();
    for (const auto& [name, model] : models_) list.push_back(model->info());
    reply(res, 200, {{"models", list}});
  });
  auto find = [this](const httplib::Request& req, httplib::Response& res) -> ServedModel* {
    const std::string name = req.matches[1];
    const auto it = models_.find(name);
    if (it != models_.end()) return it->second.get();
    std::string names;
    for (const auto& [n, m] : models_) names += (names.empty() ? "" : ", ") + n;
    fail(res, 404, fmt::format("no model \"{}\"; this server has {}", name, names));
    return nullptr;
  };
  s.Get(R"(/v1/models/([^/]+))", [find](const httplib::Request& req, httplib::Response& res) {
    if (auto* model = find(req, res)) reply(res, 200, model->info());
  });
  s.Post(R"(/v1/models/([^/]+))", [find](const httplib::Request& req, httplib::Response& res) {
    auto* model = find(req, res);
    if (model == nullptr) return;
    try {
      if (req.is_multipart_form_data()) {
        std::vector<std::string> files;
        json form = json::object();
        for (const auto& [key, part] : req.files) {
          if (key == "image") {
            files.push_back(part.content);
          } else {
            form[key] = part.content;
          }
        }
        reply(res, 200, model->handle_images(files, form));
        return;
      }
      json request;
      try {
        request = json::parse(req.body);
      } catch (const json::parse_error& e) {
        fail(res, 400, fmt::format("malformed JSON: {}", e.what()));
        return;
      }
      reply(res, 200, model->handle_json(request));
    } catch (const RequestError& e) {
      fail(res, e.status, e.what());
    } catch (const UserError& e) {
      fail(res, 400, e.what());
    } catch (const c10::Error& e) {
      fail(res, 500, std::string("error inside the model: ") + e.what_without_backtrace());
    }
  });
  // Anything else that goes wrong in a handler: 500, and the server goes on.
  s.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          fail(res, 500, e.what());
        } catch (...) {
          fail(res, 500, "unknown error");
        }
      });
  // httplib's own refusals (404 for an unknown path, 413, 400 for a broken
  // request) get a JSON body too.
  s.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    std::string what = fmt::format("HTTP {}", res.status);
    if (res.status == 404) what = fmt::format("no route {} {}", req.method, req.path);
    if (res.status == 413) what = "the request body is larger than this server takes";
    if (res.status == 405) what = fmt::format("{} is not allowed here", req.method);
    fail(res, res.status, what);
  });
  if (options_.log)
    s.set_logger([](const httplib::Request& req, const httplib::Response& res) {
      std::cerr << fmt::format("{} {} {} {}\n", req.method, req.path, res.status, req.body.size());
    });
}

}  // namespace attnzoo::serve
