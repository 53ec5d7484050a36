#pragma once
// HTTP/1.1 messages for zoo-serve, read strictly and within limits
// (RFC 9112). The parser takes bytes as they arrive and keeps only what a
// request may hold: a head past max_head_bytes is 431, a body past
// max_body_bytes is 413 as soon as its length says so (Content-Length) or
// its chunks pass it (chunked), before the rest is read. What proxies and
// servers could read two ways is refused, never guessed: two Content-Length
// headers, Content-Length with Transfer-Encoding, a transfer coding other
// than chunked, obsolete line folding, a bare LF, whitespace before a colon,
// control bytes in a header or in the decoded path. A compressed body
// (Content-Encoding) is 415: nothing is inflated. Errors close the
// connection.
//
// No sockets here: serve/http_server.h feeds the parser from connections,
// the fuzz target http_request from bytes.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace attnzoo::serve {

struct HttpLimits {
  size_t max_head_bytes = 16u << 10u;  // request line and headers
  size_t max_headers = 64;
  size_t max_body_bytes = 16u << 20u;
};

// A request's place in a model's queue, taken when the request arrived
// (HttpHandlers::admit) and given back once: by release(), when the request
// enters the model's own queue, or when the ticket is destroyed.
class Ticket {
 public:
  explicit Ticket(std::function<void()> give_back) : give_back_(std::move(give_back)) {}
  ~Ticket() { release(); }
  Ticket(const Ticket&) = delete;
  Ticket& operator=(const Ticket&) = delete;
  void release() {
    if (!released_.exchange(true) && give_back_) give_back_();
  }

 private:
  std::function<void()> give_back_;
  std::atomic<bool> released_{false};
};

struct HttpRequest {
  std::string method;  // GET, POST, ...
  std::string target;  // as sent: /v1/models/m30k?x=1
  std::string path;    // percent-decoded, without the query: /v1/models/m30k
  std::string query;   // after '?', as sent
  int minor_version = 1;
  // Header names lowercased, values without surrounding whitespace, in order.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // decoded from chunks where it came chunked
  bool keep_alive = true;
  bool expects_continue = false;                   // "Expect: 100-continue"
  std::chrono::steady_clock::time_point received;  // read whole (set by the connection layer)
  std::shared_ptr<Ticket> ticket;                  // admitted to a model's queue (may be empty)

  // The first header of that (lowercase) name; "" when there is none.
  const std::string& header(std::string_view name) const;
  bool has_header(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // besides the framing ones
  std::string content_type = "application/json";
  std::string body;
  bool close = false;  // Connection: close, and the connection ends after it

  void set_header(const std::string& name, const std::string& value);
};

// "Not Found" for 404, ...; "" for a status it does not name.
const char* reason_phrase(int status);

// The bytes of a response: status line, Content-Type, Content-Length,
// Connection, the response's headers, the body (left out for HEAD, whose
// Content-Length is still the body's).
std::string serialize(const HttpResponse& response, bool keep_alive, bool head = false);

// One request at a time from a stream of bytes (a connection's, pipelined
// requests included).
class RequestParser {
 public:
  enum class State {
    kHead,   // reading the request line and headers
    kBody,   // the head is read (request() holds it); reading the body
    kDone,   // request() is complete
    kError,  // error_status() and error() say why; the connection must close
  };

  explicit RequestParser(HttpLimits limits = {});

  // Takes bytes from `data` and returns how many it used: it stops at the end
  // of a request (kDone), leaving what follows (a pipelined request) unused.
  size_t feed(std::string_view data);
  State state() const { return state_; }
  bool started() const { return started_; }  // a byte of this request has come
  HttpRequest& request() { return request_; }
  int error_status() const { return error_status_; }
  const std::string& error() const { return error_; }
  // For the next request on the connection.
  void reset();

 private:
  void fail(int status, std::string why);
  void parse_head();
  size_t feed_chunked(std::string_view data);

  HttpLimits limits_;
  State state_ = State::kHead;
  bool started_ = false;
  std::string head_;
  HttpRequest request_;
  int error_status_ = 0;
  std::string error_;
  // Body framing.
  bool chunked_ = false;
  uint64_t remaining_ = 0;  // Content-Length bytes still to come
  enum class Chunk { kSize, kData, kDataEnd, kTrailer } chunk_ = Chunk::kSize;
  std::string line_;  // a chunk-size or trailer line being read
  uint64_t chunk_left_ = 0;
  size_t trailer_bytes_ = 0;
};

// Percent-decodes a URL path; false when an escape is malformed.
bool percent_decode(std::string_view in, std::string& out);

// One part of a multipart/form-data body (RFC 7578).
struct FormPart {
  std::string name, filename, content_type, content;
};

bool is_multipart(const HttpRequest& request);
// The parts of a multipart/form-data body, at most `max_parts`; "" when it
// reads, else why not (for a 400).
std::string parse_multipart(const HttpRequest& request, std::vector<FormPart>& parts,
                            size_t max_parts);

}  // namespace attnzoo::serve
