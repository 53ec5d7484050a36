#pragma once
// zoo-serve's connections: one thread reads and writes every socket
// (non-blocking, epoll), a pool of workers answers complete requests. A
// connection costs a worker only while its request is answered, so clients
// that send slowly, or not at all, hold a socket and a little memory, never a
// thread: their request head must arrive within head_timeout_s and the whole
// request within read_timeout_s (408), an idle keep-alive connection closes
// after idle_timeout_s, a response the client does not take after
// write_timeout_s. Past max_connections a new connection gets 503 and is
// closed; past max_pending requests waiting for a worker, 503 too.
//
// stop() begins a graceful stop: the listening socket closes, idle
// connections and those still sending a request head close, and every
// request already read (and any body being read) is answered, with
// "Connection: close", for up to drain_s; then serve() returns.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "serve/http.h"

namespace attnzoo::serve {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port (bind() returns it)
  HttpLimits limits;
  int workers = 32;               // requests answered at once
  size_t max_connections = 1000;  // open at once (kept below the process's file limit)
  size_t max_pending = 1024;      // complete requests waiting for a worker
  double head_timeout_s = 10;     // request line and headers, from the request's first byte
  double read_timeout_s = 60;     // the whole request, from its first byte
  double idle_timeout_s = 30;     // a keep-alive connection between requests
  double write_timeout_s = 30;    // a response the client is slow to take
};

struct HttpHandlers {
  // Answers a complete request; runs on a worker (it may wait for a model).
  std::function<HttpResponse(const HttpRequest&)> answer;
  // True where `answer` returns at once (health, metrics): such requests are
  // answered on the connection thread, so they are answered while every
  // worker is busy. May be empty (none are).
  std::function<bool(const HttpRequest&)> quick;
  // Called on the connection thread as a request arrives, before it waits
  // for a worker: a refusal (503 when its model's queue is full) answers it
  // at once; otherwise it may take a Ticket (request.ticket) that holds its
  // place while it waits. May be empty (every request is admitted).
  std::function<std::optional<HttpResponse>(HttpRequest&)> admit;
  // The answer to a request refused before it reached `answer`: the status,
  // why, and the request as far as it was read. The connection closes after.
  std::function<HttpResponse(int status, const std::string& why, const HttpRequest&)> refuse;
};

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, HttpHandlers handlers);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Listens on host:port and starts the worker threads, so that what runs
  // after it (loading models under an address-space cap: data/address_space.h)
  // does not meet their creation; returns the port. UserError when it cannot.
  int bind();
  // Serves until stop() has drained; then returns.
  void serve();
  // From any thread (a signal watcher): the graceful stop above.
  void stop(double drain_s = 30);
  bool stopping() const { return stopping_; }

  size_t open_connections() const { return open_.load(); }
  int64_t in_flight() const { return in_flight_.load(); }

 private:
  // The --http-threads workers, once (UserError when they cannot start).
  void start_workers();
  struct Connection;
  struct Job {
    int fd;
    uint64_t id;
    HttpRequest request;
  };
  struct Done {
    int fd;
    uint64_t id;
    HttpResponse response;
  };
  using Clock = std::chrono::steady_clock;

  void loop();
  void accept_all();
  void on_event(Connection& c, uint32_t events);
  void read_from(Connection& c);
  void advance(Connection& c);
  void dispatch(Connection& c);
  void respond(Connection& c, HttpResponse response);
  void flush(Connection& c);
  void finish_write(Connection& c);
  void close_connection(int fd);
  void watch(Connection& c, uint32_t events);
  void sweep();
  void begin_drain();
  void take_done();
  void work();

  HttpServerOptions options_;
  HttpHandlers handlers_;
  int listen_fd_ = -1, epoll_fd_ = -1, wake_fd_ = -1, spare_fd_ = -1;
  uint64_t next_id_ = 1;
  std::map<int, std::unique_ptr<Connection>> connections_;
  std::vector<int> ready_;  // connections with a pipelined request to parse
  std::atomic<bool> stopping_{false};
  std::atomic<double> drain_s_{30};
  bool draining_ = false;
  Clock::time_point drain_deadline_;
  std::atomic<size_t> open_{0};
  std::atomic<int64_t> in_flight_{0};

  std::mutex jobs_mutex_;
  std::condition_variable jobs_ready_;
  std::deque<Job> jobs_;
  bool workers_stop_ = false;
  std::mutex done_mutex_;
  std::vector<Done> done_;
  std::vector<std::thread> workers_;
};

}  // namespace attnzoo::serve
