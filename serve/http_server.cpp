#include "serve/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <system_error>
#include <utility>

#include "data/error.h"

namespace attnzoo::serve {
namespace {

constexpr size_t kReadChunk = 64u << 10u;
// After a response that ends the connection, what the client still sends is
// read and dropped for this long (so that its unread bytes do not turn the
// close into a reset that destroys the response before it is read).
constexpr double kLingerS = 2;
constexpr size_t kLingerBytes = 1u << 20u;

std::chrono::steady_clock::duration seconds(double s) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(s));
}

}  // namespace

struct HttpServer::Connection {
  enum class Phase { kRead, kWork, kWrite, kLinger };
  int fd = -1;
  uint64_t id = 0;
  RequestParser parser;
  std::string in;  // bytes read and not yet parsed (a pipelined request)
  std::string out;
  size_t out_done = 0;
  Phase phase = Phase::kRead;
  Clock::time_point phase_start, request_start;
  bool close_after = false;
  bool continue_sent = false;
  bool head = false;  // the request being answered is a HEAD
  size_t lingered = 0;
  uint32_t events = 0;  // what epoll watches for it (0: not registered)
};

HttpServer::HttpServer(HttpServerOptions options, HttpHandlers handlers)
    : options_(std::move(options)), handlers_(std::move(handlers)) {
  if (!handlers_.answer || !handlers_.refuse)
    throw std::logic_error("HttpServer: answer and refuse are needed");
}

HttpServer::~HttpServer() {
  {
    std::lock_guard<std::mutex> lock(jobs_mutex_);
    workers_stop_ = true;
  }
  jobs_ready_.notify_all();
  for (auto& w : workers_) w.join();
  for (auto& [fd, c] : connections_) ::close(fd);
  for (int fd : {listen_fd_, epoll_fd_, wake_fd_, spare_fd_})
    if (fd >= 0) ::close(fd);
}

int HttpServer::bind() {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(options_.port);
  if (::getaddrinfo(options_.host.c_str(), port.c_str(), &hints, &found) != 0 || !found)
    throw UserError("cannot listen on {}:{}: not an address of this machine", options_.host,
                    options_.port);
  std::string why = "no address";
  for (addrinfo* a = found; a != nullptr && listen_fd_ < 0; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    // SO_REUSEADDR (a restart binds at once), never SO_REUSEPORT, with which
    // a second server on the port would start and take half the connections.
    int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, 1024) == 0) {
      listen_fd_ = fd;
    } else {
      why = std::strerror(errno);
      ::close(fd);
    }
  }
  ::freeaddrinfo(found);
  if (listen_fd_ < 0)
    throw UserError("cannot listen on {}:{}: {}", options_.host, options_.port, why);
  sockaddr_storage bound{};
  socklen_t length = sizeof(bound);
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&bound), &length);
  const int p = bound.ss_family == AF_INET6
                    ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                    : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);

  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  // Kept open so that, out of file descriptors, a connection can still be
  // accepted and closed instead of waking the loop forever.
  spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (epoll_fd_ < 0 || wake_fd_ < 0)
    throw UserError("cannot listen on {}:{}: {}", options_.host, options_.port,
                    std::strerror(errno));
  epoll_event e{};
  e.events = EPOLLIN;
  e.data.fd = listen_fd_;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &e);
  e.data.fd = wake_fd_;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &e);
  start_workers();
  return p;
}

void HttpServer::start_workers() {
  if (!workers_.empty()) return;
  const int workers = std::max(1, options_.workers);
  try {
    for (int i = 0; i < workers; ++i) workers_.emplace_back([this] { work(); });
  } catch (const std::system_error& e) {  // out of threads, or of address space for their stacks
    {
      std::lock_guard<std::mutex> lock(jobs_mutex_);
      workers_stop_ = true;
    }
    jobs_ready_.notify_all();
    for (auto& w : workers_) w.join();
    workers_.clear();
    workers_stop_ = false;
    throw UserError("cannot start {} HTTP threads ({}): lower --http-threads", workers, e.what());
  }
}

void HttpServer::stop(double drain_s) {
  drain_s_ = drain_s;
  stopping_ = true;
  if (wake_fd_ >= 0) {
    const uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(wake_fd_, &one, sizeof(one));
  }
}

void HttpServer::serve() {
  if (listen_fd_ < 0) throw std::logic_error("HttpServer: serve() before bind()");
  start_workers();
  loop();
  {
    std::lock_guard<std::mutex> lock(jobs_mutex_);
    workers_stop_ = true;
  }
  jobs_ready_.notify_all();
  for (auto& w : workers_) w.join();
  workers_.clear();
}

void HttpServer::loop() {
  std::vector<epoll_event> events(256);
  for (;;) {
    if (stopping_ && !draining_) begin_drain();
    if (draining_ && (connections_.empty() || Clock::now() >= drain_deadline_)) return;
    const int n = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()),
                               ready_.empty() ? 100 : 0);
    for (int i = 0; i < n; ++i) {
      const int fd = events[static_cast<size_t>(i)].data.fd;
      if (fd == listen_fd_) {
        accept_all();
      } else if (fd == wake_fd_) {
        uint64_t count = 0;
        [[maybe_unused]] const auto r = ::read(wake_fd_, &count, sizeof(count));
        take_done();
      } else {
        const auto it = connections_.find(fd);
        if (it != connections_.end()) on_event(*it->second, events[static_cast<size_t>(i)].events);
      }
    }
    std::vector<int> ready;
    ready.swap(ready_);
    for (int fd : ready) {
      const auto it = connections_.find(fd);
      if (it != connections_.end() && it->second->phase == Connection::Phase::kRead)
        advance(*it->second);
    }
    sweep();
  }
}

void HttpServer::accept_all() {
  for (;;) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if ((errno == EMFILE || errno == ENFILE) && spare_fd_ >= 0) {
        // Out of descriptors: free the spare, take the connection and close it.
        ::close(spare_fd_);
        const int refused = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (refused >= 0) ::close(refused);
        spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        continue;
      }
      return;  // EAGAIN: none left
    }
    if (draining_ || connections_.size() >= options_.max_connections) {
      HttpResponse busy = handlers_.refuse(
          503, draining_ ? "the server is stopping" : "the server has too many connections open",
          HttpRequest());
      busy.close = true;
      busy.set_header("Retry-After", "1");
      const std::string bytes = serialize(busy, false);
      [[maybe_unused]] const auto sent = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      ::close(fd);
      continue;
    }
    int yes = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
    auto c = std::make_unique<Connection>();
    c->fd = fd;
    c->id = next_id_++;
    c->parser = RequestParser(options_.limits);
    c->phase_start = Clock::now();
    Connection& ref = *c;
    connections_[fd] = std::move(c);
    open_ = connections_.size();
    watch(ref, EPOLLIN | EPOLLRDHUP);
  }
}

void HttpServer::watch(Connection& c, uint32_t events) {
  if (events == c.events) return;
  epoll_event e{};
  e.events = events;
  e.data.fd = c.fd;
  if (c.events == 0) {
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, c.fd, &e);
  } else if (events == 0) {
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c.fd, nullptr);
  } else {
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &e);
  }
  c.events = events;
}

void HttpServer::close_connection(int fd) {
  const auto it = connections_.find(fd);
  if (it == connections_.end()) return;
  if (it->second->events != 0) ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  ::close(fd);
  connections_.erase(it);
  open_ = connections_.size();
}

void HttpServer::on_event(Connection& c, uint32_t events) {
  if ((events & EPOLLERR) != 0) return close_connection(c.fd);
  if (c.phase == Connection::Phase::kWrite && (events & EPOLLOUT) != 0) return flush(c);
  if (c.phase == Connection::Phase::kLinger) {
    char sink[kReadChunk];
    for (;;) {
      const ssize_t n = ::recv(c.fd, sink, sizeof(sink), 0);
      if (n > 0 && (c.lingered += static_cast<size_t>(n)) < kLingerBytes) continue;
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      return close_connection(c.fd);  // end of stream, an error, or enough dropped
    }
  }
  if (c.phase == Connection::Phase::kRead && (events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP)) != 0)
    read_from(c);
}

void HttpServer::read_from(Connection& c) {
  const int fd = c.fd;
  char buffer[kReadChunk];
  for (;;) {
    const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n > 0) {
      if (!c.parser.started() && c.in.empty()) c.request_start = Clock::now();
      c.in.append(buffer, static_cast<size_t>(n));
      advance(c);
      if (connections_.count(fd) == 0 || c.phase != Connection::Phase::kRead) return;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    // The client closed (or reset): a request it did not finish is not answered.
    return close_connection(fd);
  }
}

void HttpServer::advance(Connection& c) {
  const size_t used = c.parser.feed(c.in);
  c.in.erase(0, used);
  switch (c.parser.state()) {
    case RequestParser::State::kHead:
      return;
    case RequestParser::State::kBody:
      if (c.parser.request().expects_continue && !c.continue_sent) {
        c.continue_sent = true;
        static const std::string go = "HTTP/1.1 100 Continue\r\n\r\n";
        [[maybe_unused]] const auto sent = ::send(c.fd, go.data(), go.size(), MSG_NOSIGNAL);
      }
      return;
    case RequestParser::State::kError: {
      HttpResponse r =
          handlers_.refuse(c.parser.error_status(), c.parser.error(), c.parser.request());
      r.close = true;
      return respond(c, std::move(r));
    }
    case RequestParser::State::kDone:
      return dispatch(c);
  }
}

void HttpServer::dispatch(Connection& c) {
  HttpRequest request = std::move(c.parser.request());
  request.received = Clock::now();
  c.parser.reset();
  c.continue_sent = false;
  c.head = request.method == "HEAD";
  c.close_after = !request.keep_alive;
  if (handlers_.quick && handlers_.quick(request)) {
    HttpResponse r;
    try {
      r = handlers_.answer(request);
    } catch (const std::exception& e) {
      r = handlers_.refuse(500, e.what(), request);
    }
    return respond(c, std::move(r));
  }
  if (handlers_.admit) {
    std::optional<HttpResponse> refused;
    try {
      refused = handlers_.admit(request);
    } catch (const std::exception& e) {
      refused = handlers_.refuse(500, e.what(), request);
    }
    if (refused) return respond(c, std::move(*refused));
  }
  {
    std::unique_lock<std::mutex> lock(jobs_mutex_);
    if (jobs_.size() >= options_.max_pending) {
      lock.unlock();
      HttpResponse busy =
          handlers_.refuse(503, "the server is busy: too many requests waiting", request);
      busy.set_header("Retry-After", "1");
      return respond(c, std::move(busy));
    }
    jobs_.push_back(Job{c.fd, c.id, std::move(request)});
  }
  in_flight_ += 1;
  jobs_ready_.notify_one();
  c.phase = Connection::Phase::kWork;
  c.phase_start = Clock::now();
  watch(c, 0);  // nothing is read while the request is answered
}

void HttpServer::work() {
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(jobs_mutex_);
      jobs_ready_.wait(lock, [&] { return workers_stop_ || !jobs_.empty(); });
      if (jobs_.empty()) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    HttpResponse response;
    try {
      response = handlers_.answer(job.request);
    } catch (const std::exception& e) {
      response = handlers_.refuse(500, e.what(), job.request);
    } catch (...) {
      response = handlers_.refuse(500, "unknown error", job.request);
    }
    {
      std::lock_guard<std::mutex> lock(done_mutex_);
      done_.push_back(Done{job.fd, job.id, std::move(response)});
    }
    const uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(wake_fd_, &one, sizeof(one));
  }
}

void HttpServer::take_done() {
  std::vector<Done> done;
  {
    std::lock_guard<std::mutex> lock(done_mutex_);
    done.swap(done_);
  }
  for (auto& d : done) {
    in_flight_ -= 1;
    const auto it = connections_.find(d.fd);
    if (it == connections_.end() || it->second->id != d.id) continue;  // closed meanwhile
    respond(*it->second, std::move(d.response));
  }
}

void HttpServer::respond(Connection& c, HttpResponse response) {
  c.close_after = c.close_after || response.close || draining_;
  c.out = serialize(response, !c.close_after, c.head);
  c.out_done = 0;
  c.phase = Connection::Phase::kWrite;
  c.phase_start = Clock::now();
  flush(c);
}

void HttpServer::flush(Connection& c) {
  while (c.out_done < c.out.size()) {
    const ssize_t n =
        ::send(c.fd, c.out.data() + c.out_done, c.out.size() - c.out_done, MSG_NOSIGNAL);
    if (n > 0) {
      c.out_done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return watch(c, EPOLLOUT);
    return close_connection(c.fd);
  }
  finish_write(c);
}

void HttpServer::finish_write(Connection& c) {
  c.out.clear();
  c.out.shrink_to_fit();
  c.phase_start = Clock::now();
  if (c.close_after) {
    ::shutdown(c.fd, SHUT_WR);
    c.phase = Connection::Phase::kLinger;
    return watch(c, EPOLLIN | EPOLLRDHUP);
  }
  c.phase = Connection::Phase::kRead;
  c.head = false;
  watch(c, EPOLLIN | EPOLLRDHUP);
  if (!c.in.empty()) {  // a pipelined request already read: parsed from the loop
    c.request_start = Clock::now();
    ready_.push_back(c.fd);
  }
}

void HttpServer::begin_drain() {
  draining_ = true;
  drain_deadline_ = Clock::now() + seconds(drain_s_.load());
  if (listen_fd_ >= 0) {
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, listen_fd_, nullptr);
    ::close(listen_fd_);
    listen_fd_ = -1;
  }
  std::vector<int> closing;
  for (const auto& [fd, c] : connections_)
    if (c->phase == Connection::Phase::kRead &&
        (!c->parser.started() || c->parser.state() == RequestParser::State::kHead))
      closing.push_back(fd);  // no request admitted on it
  for (int fd : closing) close_connection(fd);
}

void HttpServer::sweep() {
  const auto now = Clock::now();
  std::vector<int> closing;
  std::vector<std::pair<int, std::string>> late;
  for (const auto& [fd, c] : connections_) {
    switch (c->phase) {
      case Connection::Phase::kRead:
        if (!c->parser.started() && c->in.empty()) {
          if (draining_ || now - c->phase_start > seconds(options_.idle_timeout_s))
            closing.push_back(fd);
        } else if (c->parser.state() == RequestParser::State::kHead &&
                   now - c->request_start > seconds(options_.head_timeout_s)) {
          late.emplace_back(fd, fmt::format("the request head did not arrive within {} s",
                                            options_.head_timeout_s));
        } else if (now - c->request_start > seconds(options_.read_timeout_s)) {
          late.emplace_back(
              fd, fmt::format("the request did not arrive within {} s", options_.read_timeout_s));
        }
        break;
      case Connection::Phase::kWrite:
        if (now - c->phase_start > seconds(options_.write_timeout_s)) closing.push_back(fd);
        break;
      case Connection::Phase::kLinger:
        if (now - c->phase_start > seconds(kLingerS)) closing.push_back(fd);
        break;
      case Connection::Phase::kWork:
        break;
    }
  }
  for (int fd : closing) close_connection(fd);
  for (auto& [fd, why] : late) {
    Connection& c = *connections_.at(fd);
    HttpResponse r = handlers_.refuse(408, why, c.parser.request());
    r.close = true;
    c.parser.reset();
    c.in.clear();
    respond(c, std::move(r));
  }
}

}  // namespace attnzoo::serve
