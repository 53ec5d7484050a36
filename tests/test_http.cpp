// zoo-serve's HTTP/1.1 reader (serve/http.h) without a socket: requests as
// clients send them, whole and in pieces, and every way a request can be
// read two ways or cost more than its limits, refused with its status.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "serve/http.h"
#include "serve/server.h"

using namespace attnzoo::serve;

namespace {

// Feeds `bytes` `piece` bytes at a time; the parser as it ends.
RequestParser parse(const std::string& bytes, size_t piece = 1u << 30u, HttpLimits limits = {}) {
  RequestParser p(limits);
  std::string_view rest(bytes);
  while (!rest.empty() && p.state() != RequestParser::State::kDone &&
         p.state() != RequestParser::State::kError) {
    const size_t used = p.feed(rest.substr(0, piece));
    rest.remove_prefix(used);
    if (used == 0) break;
  }
  return p;
}

}  // namespace

TEST_CASE("http: a request is read the same whole and byte by byte", "[serve][http]") {
  const std::string bytes =
      "POST /v1/models/m%20x?a=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n"
      "X-Request-Id: abc\r\n\r\n{\"text\": 1}";
  for (size_t piece : {size_t{1}, size_t{3}, bytes.size()}) {
    auto p = parse(bytes, piece);
    REQUIRE(p.state() == RequestParser::State::kDone);
    const auto& r = p.request();
    CHECK(r.method == "POST");
    CHECK(r.path == "/v1/models/m x");
    CHECK(r.query == "a=1");
    CHECK(r.body == "{\"text\": 1}");
    CHECK(r.header("x-request-id") == "abc");
    CHECK(r.keep_alive);
  }
}

TEST_CASE("http: pipelined requests are read one at a time", "[serve][http]") {
  const std::string one = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string two = "GET /health/live HTTP/1.0\r\n\r\n";
  RequestParser p;
  const std::string both = one + two;
  const size_t used = p.feed(both);
  CHECK(used == one.size());
  REQUIRE(p.state() == RequestParser::State::kDone);
  CHECK(p.request().path == "/health");
  p.reset();
  CHECK(p.feed(std::string_view(both).substr(used)) == two.size());
  REQUIRE(p.state() == RequestParser::State::kDone);
  CHECK(p.request().path == "/health/live");
  CHECK_FALSE(p.request().keep_alive);  // HTTP/1.0 without keep-alive
}

TEST_CASE("http: a chunked body is decoded, extensions and trailers skipped", "[serve][http]") {
  const std::string bytes =
      "POST /v1/models/m HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;note=x\r\nhello\r\nA\r\n, chunked!\r\n0\r\nX-Trailer: 1\r\n\r\n";
  for (size_t piece : {size_t{1}, size_t{5}, bytes.size()}) {
    auto p = parse(bytes, piece);
    REQUIRE(p.state() == RequestParser::State::kDone);
    CHECK(p.request().body == "hello, chunked!");
  }
}

TEST_CASE("http: requests that could be read two ways, or cost past a limit, are refused",
          "[serve][http]") {
  HttpLimits small;
  small.max_head_bytes = 512;
  small.max_headers = 8;
  small.max_body_bytes = 100;
  const std::string head = "POST /v1/models/m HTTP/1.1\r\nHost: x\r\n";
  struct Case {
    std::string bytes;
    int status;
    std::string says;
  };
  for (const auto& c : std::vector<Case>{
           {head + "Content-Length: 5\r\nContent-Length: 5\r\n\r\n12345", 400,
            "two Content-Length"},
           {head + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "both"},
           {head + "Transfer-Encoding: gzip, chunked\r\n\r\n", 501, "other than chunked"},
           {head + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 501,
            "other than chunked"},
           {head + "Content-Length: -1\r\n\r\n", 400, "not a length"},
           {head + "Content-Length: 1e3\r\n\r\n", 400, "not a length"},
           {head + "Content-Length: 99999999999999999999999\r\n\r\n", 400, "not a length"},
           {head + "Content-Length: 101\r\n\r\n", 413, "larger than"},
           {head + "Transfer-Encoding: chunked\r\n\r\n65\r\n", 413, "larger than"},
           {head + "Transfer-Encoding: chunked\r\n\r\n40\r\n" + std::string(64, 'x') + "\r\n40\r\n",
            413, "larger than"},
           {head + "Transfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n", 400, "too large"},
           {head + "Transfer-Encoding: chunked\r\n\r\nzz\r\n", 400, "not a chunk size"},
           {head + "Transfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n", 400, "longer than its size"},
           {head + "Transfer-Encoding: chunked\r\n\r\n2\nab\r\n", 400, "LF alone"},
           {head + "Content-Encoding: gzip\r\nContent-Length: 3\r\n\r\nabc", 415, "uncompressed"},
           {head + "Expect: something\r\n\r\n", 417, "Expect"},
           {head + "X-A: 1\r\n folded\r\n\r\n", 400, "folded"},
           {head + "X-A : 1\r\n\r\n", 400, "not a header name"},
           {head + "X-A: a\x01z\r\n\r\n", 400, "control character"},
           {"POST /v1/models/m HTTP/1.1\nHost: x\r\n\r\n", 400, "alone"},
           {"GET /a%0Ab HTTP/1.1\r\n\r\n", 400, "control character"},
           {"GET /a%00 HTTP/1.1\r\n\r\n", 400, "control character"},
           {"GET /a%zz HTTP/1.1\r\n\r\n", 400, "malformed"},
           {"GET http://x/health HTTP/1.1\r\n\r\n", 400, "not a path"},
           {"GET /a b HTTP/1.1\r\n\r\n", 400, "request line"},
           {"GET /\x7f HTTP/1.1\r\n\r\n", 400, "may not be there"},
           {"GET / HTTP/2.0\r\n\r\n", 505, "HTTP/1.1"},
           {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "two Host"},
           {"G(T / HTTP/1.1\r\n\r\n", 400, "not an HTTP method"},
           {head + std::string(600, 'x'), 431, "longer than 512"},
           {head + "A: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\nE: 1\r\nF: 1\r\nG: 1\r\nH: 1\r\n\r\n", 431,
            "more than 8 headers"},
       }) {
    CAPTURE(c.bytes);
    for (size_t piece : {size_t{1}, c.bytes.size()}) {
      auto p = parse(c.bytes, piece, small);
      REQUIRE(p.state() == RequestParser::State::kError);
      CHECK(p.error_status() == c.status);
      CHECK_THAT(p.error(), Catch::Contains(c.says));
    }
  }
}

TEST_CASE("http: the body past the limit is not read", "[serve][http]") {
  HttpLimits small;
  small.max_body_bytes = 1000;
  // A declared length past the limit: refused from the head alone.
  RequestParser p(small);
  const std::string head = "POST / HTTP/1.1\r\nContent-Length: 100000\r\n\r\n";
  CHECK(p.feed(head + std::string(5000, 'x')) == head.size());
  CHECK(p.state() == RequestParser::State::kError);
  CHECK(p.request().body.empty());
  // A chunked body: refused at the chunk that passes it, the rest unread.
  RequestParser q(small);
  const std::string chunked = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  std::string body;
  for (int i = 0; i < 100; ++i) body += "64\r\n" + std::string(100, 'y') + "\r\n";
  const std::string all = chunked + body;
  const size_t used = q.feed(all);
  CHECK(q.state() == RequestParser::State::kError);
  CHECK(q.error_status() == 413);
  CHECK(q.request().body.size() <= 1000);
  CHECK(used < all.size() / 5);
}

TEST_CASE("http: multipart/form-data parts", "[serve][http]") {
  HttpRequest r;
  r.headers = {{"content-type", "multipart/form-data; boundary=\"XyZ\""}};
  r.body =
      "--XyZ\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n"
      "Content-Type: image/png\r\n\r\nPNG\r\nbytes\r\n--XyZ\r\n"
      "Content-Disposition: form-data; name=\"beam\"\r\n\r\n3\r\n--XyZ--\r\n";
  REQUIRE(is_multipart(r));
  std::vector<FormPart> parts;
  REQUIRE(parse_multipart(r, parts, 10).empty());
  REQUIRE(parts.size() == 2);
  CHECK(parts[0].name == "image");
  CHECK(parts[0].filename == "a.png");
  CHECK(parts[0].content == "PNG\r\nbytes");
  CHECK(parts[1].name == "beam");
  CHECK(parts[1].content == "3");
  CHECK_THAT(parse_multipart(r, parts, 1), Catch::Contains("more than 1"));
  r.body = "--XyZ\r\nContent-Disposition: form-data; name=\"image\"\r\n\r\nno end";
  CHECK_THAT(parse_multipart(r, parts, 10), Catch::Contains("without the boundary"));
  r.headers = {{"content-type", "multipart/form-data"}};
  CHECK_THAT(parse_multipart(r, parts, 10), Catch::Contains("without a boundary"));
}

TEST_CASE("http: a response head cannot be split by a header value", "[serve][http]") {
  HttpResponse r;
  r.status = 404;
  r.body = "{}";
  r.set_header("X-Request-Id", "a\r\nSet-Cookie: x=1");
  r.set_header("X-Fine", "yes");
  const std::string bytes = serialize(r, true);
  CHECK(bytes.find("Set-Cookie") == std::string::npos);
  CHECK(bytes.find("X-Fine: yes\r\n") != std::string::npos);
  CHECK(bytes.rfind("HTTP/1.1 404 Not Found\r\n", 0) == 0);
  CHECK(bytes.find("Content-Length: 2\r\n") != std::string::npos);
  CHECK(serialize(r, true, /*head=*/true).find("{}") == std::string::npos);
}

TEST_CASE("http: JSON bodies nested past 32 levels are refused before they are parsed",
          "[serve][http]") {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  try {
    parse_request_json("{\"text\": " + deep + "}");
    FAIL("no error");
  } catch (const RequestError& e) {
    CHECK(e.status == 400);
    CHECK_THAT(e.what(), Catch::Contains("deeper than 32"));
  }
  // Brackets inside strings do not count; 32 levels are fine.
  CHECK(parse_request_json("{\"text\": \"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"[[[\"}")
            .at("text")
            .get<std::string>()
            .size() > 33);
  CHECK_NOTHROW(parse_request_json(std::string(31, '[') + std::string(31, ']')));
  try {
    parse_request_json("{\"text\": ");
    FAIL("no error");
  } catch (const RequestError& e) {
    CHECK(e.status == 400);
    CHECK_THAT(e.what(), Catch::Contains("malformed JSON"));
  }
}

TEST_CASE("http: X-Request-Id is the client's when usable, else a new one", "[serve][http]") {
  HttpRequest r;
  r.headers = {{"x-request-id", "client-42"}};
  CHECK(request_id(r) == "client-42");
  r.headers = {{"x-request-id", "has space"}};
  const auto made = request_id(r);
  CHECK(made.size() == 16);
  CHECK(made != request_id(r));  // new each time
  r.headers = {{"x-request-id", std::string(200, 'a')}};
  CHECK(request_id(r).size() == 16);
}
