#include "serve/http.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace attnzoo::serve {
namespace {

// RFC 9110's tchar: what a method or a header name is made of.
bool token_char(unsigned char c) {
  if (std::isalnum(c) != 0) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// What may be quoted in an error: printable ASCII, the rest as '?', at most 60 bytes.
std::string shown(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 60)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  if (s.size() > 60) out += "...";
  return out;
}

constexpr size_t kMaxChunkLine = 1024;
constexpr size_t kMaxTrailerBytes = 8u << 10u;

}  // namespace

const std::string& HttpRequest::header(std::string_view name) const {
  static const std::string none;
  for (const auto& [n, v] : headers)
    if (n == name) return v;
  return none;
}

bool HttpRequest::has_header(std::string_view name) const {
  return std::any_of(headers.begin(), headers.end(),
                     [&](const auto& h) { return h.first == name; });
}

void HttpResponse::set_header(const std::string& name, const std::string& value) {
  for (auto& h : headers)
    if (lower(h.first) == lower(name)) {
      h.second = value;
      return;
    }
  headers.emplace_back(name, value);
}

const char* reason_phrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 417:
      return "Expectation Failed";
    case 422:
      return "Unprocessable Content";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "";
  }
}

std::string serialize(const HttpResponse& response, bool keep_alive, bool head) {
  std::string out =
      fmt::format("HTTP/1.1 {} {}\r\n", response.status, reason_phrase(response.status));
  out += fmt::format("Content-Type: {}\r\nContent-Length: {}\r\nConnection: {}\r\n",
                     response.content_type, response.body.size(),
                     keep_alive && !response.close ? "keep-alive" : "close");
  for (const auto& [name, value] : response.headers) {
    // A header that could split the response is dropped, never sent.
    if (name.find_first_of("\r\n:") != std::string::npos ||
        value.find_first_of("\r\n") != std::string::npos)
      continue;
    out += name + ": " + value + "\r\n";
  }
  out += "\r\n";
  if (!head) out += response.body;
  return out;
}

bool percent_decode(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    const int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

RequestParser::RequestParser(HttpLimits limits) : limits_(limits) {}

void RequestParser::reset() {
  state_ = State::kHead;
  started_ = false;
  head_.clear();
  request_ = HttpRequest();
  error_status_ = 0;
  error_.clear();
  chunked_ = false;
  remaining_ = 0;
  chunk_ = Chunk::kSize;
  line_.clear();
  chunk_left_ = 0;
  trailer_bytes_ = 0;
}

void RequestParser::fail(int status, std::string why) {
  state_ = State::kError;
  error_status_ = status;
  error_ = std::move(why);
}

size_t RequestParser::feed(std::string_view data) {
  size_t used = 0;
  if (!data.empty()) started_ = true;
  if (state_ == State::kHead) {
    const size_t old = head_.size();
    // Room for the head and its blank line; past that the head is too long.
    const size_t room = limits_.max_head_bytes + 4 > old ? limits_.max_head_bytes + 4 - old : 0;
    const size_t take = std::min(data.size(), room);
    head_.append(data.data(), take);
    const size_t end = head_.find("\r\n\r\n", old >= 3 ? old - 3 : 0);
    if (end == std::string::npos) {
      if (head_.size() > limits_.max_head_bytes)
        fail(431, fmt::format("the request line and headers are longer than {} bytes",
                              limits_.max_head_bytes));
      return take;
    }
    if (end + 2 > limits_.max_head_bytes) {
      fail(431, fmt::format("the request line and headers are longer than {} bytes",
                            limits_.max_head_bytes));
      return take;
    }
    used = end + 4 - old;
    head_.resize(end + 2);  // each line with its CRLF
    parse_head();
    head_.clear();
    head_.shrink_to_fit();
    if (state_ != State::kBody) return used;
    data.remove_prefix(used);
  }
  if (state_ != State::kBody) return used;
  if (chunked_) return used + feed_chunked(data);
  const size_t take = static_cast<size_t>(std::min<uint64_t>(remaining_, data.size()));
  request_.body.append(data.data(), take);
  remaining_ -= take;
  if (remaining_ == 0) state_ = State::kDone;
  return used + take;
}

void RequestParser::parse_head() {
  // Lines end in CRLF; a CR or LF alone is refused (servers differ on it).
  std::vector<std::string_view> lines;
  std::string_view rest(head_);
  while (!rest.empty()) {
    const size_t eol = rest.find("\r\n");
    std::string_view line = rest.substr(0, eol);
    if (line.find_first_of("\r\n") != std::string_view::npos)
      return fail(400, "a CR or LF alone inside the request head");
    lines.push_back(line);
    rest.remove_prefix(eol + 2);
  }
  if (lines.empty()) return fail(400, "no request line");

  // METHOD SP request-target SP HTTP-version
  const std::string_view line = lines[0];
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos ||
      line.find(' ', sp2 + 1) != std::string_view::npos)
    return fail(400, fmt::format("not an HTTP request line: \"{}\"", shown(line)));
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (method.empty() || method.size() > 20 ||
      !std::all_of(method.begin(), method.end(),
                   [](char c) { return token_char(static_cast<unsigned char>(c)); }))
    return fail(400, fmt::format("not an HTTP method: \"{}\"", shown(method)));
  request_.method = std::string(method);
  if (version == "HTTP/1.1") {
    request_.minor_version = 1;
  } else if (version == "HTTP/1.0") {
    request_.minor_version = 0;
  } else if (version.substr(0, 5) == "HTTP/" && version.size() == 8 && version[6] == '.' &&
             std::isdigit(static_cast<unsigned char>(version[5])) != 0) {
    return fail(505, fmt::format("{} is not spoken here; send HTTP/1.1", shown(version)));
  } else {
    return fail(400, fmt::format("not an HTTP version: \"{}\"", shown(version)));
  }
  // origin-form only (a path and a query), printable ASCII.
  if (target.empty() || (target[0] != '/' && target != "*"))
    return fail(400, fmt::format("the request target \"{}\" is not a path", shown(target)));
  for (char c : target)
    if (c <= 0x20 || c >= 0x7f || c == '#')
      return fail(400, "the request target holds a byte that may not be there");
  request_.target = std::string(target);
  const size_t q = target.find('?');
  if (!percent_decode(target.substr(0, q), request_.path))
    return fail(400, fmt::format("a malformed %-escape in the path \"{}\"", shown(target)));
  if (q != std::string_view::npos) request_.query = std::string(target.substr(q + 1));
  for (char c : request_.path)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      return fail(400, "the path holds a control character");

  // field-name ":" OWS field-value OWS
  size_t content_lengths = 0, hosts = 0, encodings = 0;
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::string_view h = lines[i];
    if (h.empty()) break;
    if (h[0] == ' ' || h[0] == '\t') return fail(400, "a folded header line (obsolete)");
    const size_t colon = h.find(':');
    if (colon == std::string_view::npos || colon == 0)
      return fail(400, fmt::format("not a header line: \"{}\"", shown(h)));
    const std::string_view name = h.substr(0, colon);
    if (!std::all_of(name.begin(), name.end(),
                     [](char c) { return token_char(static_cast<unsigned char>(c)); }))
      return fail(400, fmt::format("not a header name: \"{}\"", shown(name)));
    const std::string_view value = trim(h.substr(colon + 1));
    for (char c : value) {
      const auto u = static_cast<unsigned char>(c);
      if ((u < 0x20 && c != '\t') || u == 0x7f)
        return fail(400, fmt::format("header {} holds a control character", shown(name)));
    }
    if (request_.headers.size() >= limits_.max_headers)
      return fail(431, fmt::format("more than {} headers", limits_.max_headers));
    request_.headers.emplace_back(lower(name), std::string(value));
    const std::string& n = request_.headers.back().first;
    content_lengths += n == "content-length" ? 1 : 0;
    hosts += n == "host" ? 1 : 0;
    encodings += n == "transfer-encoding" ? 1 : 0;
  }
  if (hosts > 1) return fail(400, "two Host headers");
  if (content_lengths > 1) return fail(400, "two Content-Length headers");

  request_.keep_alive = request_.minor_version == 1;
  const std::string connection = lower(request_.header("connection"));
  if (connection.find("close") != std::string::npos) request_.keep_alive = false;
  if (request_.minor_version == 0 && connection.find("keep-alive") != std::string::npos)
    request_.keep_alive = true;

  const std::string expect = lower(request_.header("expect"));
  if (!expect.empty()) {
    if (expect != "100-continue")
      return fail(417, fmt::format("Expect: {} is not met here", shown(expect)));
    request_.expects_continue = request_.minor_version == 1;
  }
  const std::string coding = lower(request_.header("content-encoding"));
  if (!coding.empty() && coding != "identity")
    return fail(415, fmt::format("Content-Encoding {}: send the body uncompressed", shown(coding)));

  if (encodings > 0) {
    if (content_lengths > 0) return fail(400, "both Content-Length and Transfer-Encoding");
    if (request_.minor_version == 0) return fail(400, "Transfer-Encoding in an HTTP/1.0 request");
    if (encodings > 1 || lower(request_.header("transfer-encoding")) != "chunked")
      return fail(501, "a Transfer-Encoding other than chunked");
    chunked_ = true;
    state_ = State::kBody;
    return;
  }
  if (content_lengths == 1) {
    const std::string& v = request_.header("content-length");
    if (v.empty() || v.size() > 18 ||
        !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return fail(400, fmt::format("Content-Length \"{}\" is not a length", shown(v)));
    remaining_ = std::stoull(v);
    if (remaining_ > limits_.max_body_bytes)
      return fail(413,
                  fmt::format("the body ({} bytes) is larger than this server takes ({} bytes)",
                              remaining_, limits_.max_body_bytes));
  }
  state_ = remaining_ > 0 ? State::kBody : State::kDone;
}

size_t RequestParser::feed_chunked(std::string_view data) {
  size_t i = 0;
  while (i < data.size() && state_ == State::kBody) {
    if (chunk_ == Chunk::kData) {
      const size_t take = static_cast<size_t>(std::min<uint64_t>(chunk_left_, data.size() - i));
      request_.body.append(data.data() + i, take);
      chunk_left_ -= take;
      i += take;
      if (chunk_left_ == 0) chunk_ = Chunk::kDataEnd;
      continue;
    }
    // A line: chunk size, the CRLF after a chunk's data, or a trailer field.
    const char c = data[i++];
    line_.push_back(c);
    if (chunk_ == Chunk::kTrailer && ++trailer_bytes_ > kMaxTrailerBytes)
      return fail(431, "the chunked body's trailer is too long"), i;
    if (line_.size() > kMaxChunkLine) return fail(400, "a chunk-size line is too long"), i;
    if (c != '\n') {
      if (chunk_ == Chunk::kDataEnd && c != '\r')
        return fail(400, "a chunk's data is longer than its size says"), i;
      continue;
    }
    if (line_.size() < 2 || line_[line_.size() - 2] != '\r')
      return fail(400, "a LF alone inside the chunked body"), i;
    line_.resize(line_.size() - 2);
    const std::string line = std::move(line_);
    line_.clear();
    if (chunk_ == Chunk::kDataEnd) {
      if (!line.empty()) return fail(400, "a chunk's data is longer than its size says"), i;
      chunk_ = Chunk::kSize;
      continue;
    }
    if (chunk_ == Chunk::kTrailer) {
      if (line.empty()) state_ = State::kDone;
      if (line.find('\r') != std::string::npos) return fail(400, "a CR alone in a trailer"), i;
      continue;
    }
    // chunk-size [ BWS ";" chunk-ext ]
    uint64_t size = 0;
    size_t k = 0;
    for (; k < line.size() && hex_value(line[k]) >= 0; ++k) {
      if (k >= 15) return fail(400, "a chunk size too large to be one"), i;
      size = size * 16 + static_cast<uint64_t>(hex_value(line[k]));
    }
    size_t e = k;
    while (e < line.size() && (line[e] == ' ' || line[e] == '\t')) ++e;
    if (k == 0 || (e < line.size() && line[e] != ';'))
      return fail(400, fmt::format("not a chunk size: \"{}\"", shown(line))), i;
    for (char ch : line)
      if ((static_cast<unsigned char>(ch) < 0x20 && ch != '\t') || ch == 0x7f)
        return fail(400, "a control character in a chunk-size line"), i;
    if (size == 0) {
      chunk_ = Chunk::kTrailer;
      continue;
    }
    if (request_.body.size() + size > limits_.max_body_bytes)
      return fail(413, fmt::format("the chunked body is larger than this server takes ({} bytes)",
                                   limits_.max_body_bytes)),
             i;
    chunk_left_ = size;
    chunk_ = Chunk::kData;
  }
  return i;
}

namespace {

// `key=value; key="quoted value"` parameters after a header's first token,
// keys lowercased.
std::vector<std::pair<std::string, std::string>> header_parameters(std::string_view value) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t i = value.find(';');
  while (i != std::string_view::npos && i < value.size()) {
    ++i;
    while (i < value.size() && (value[i] == ' ' || value[i] == '\t')) ++i;
    const size_t eq = value.find('=', i);
    if (eq == std::string_view::npos) break;
    std::string key = lower(trim(value.substr(i, eq - i)));
    std::string v;
    i = eq + 1;
    if (i < value.size() && value[i] == '"') {
      for (++i; i < value.size() && value[i] != '"'; ++i) {
        if (value[i] == '\\' && i + 1 < value.size()) ++i;
        v.push_back(value[i]);
      }
      i = value.find(';', i);
    } else {
      const size_t end = value.find(';', i);
      v = std::string(trim(value.substr(i, end == std::string_view::npos ? end : end - i)));
      i = end;
    }
    out.emplace_back(std::move(key), std::move(v));
  }
  return out;
}

}  // namespace

bool is_multipart(const HttpRequest& request) {
  return lower(request.header("content-type")).rfind("multipart/form-data", 0) == 0;
}

std::string parse_multipart(const HttpRequest& request, std::vector<FormPart>& parts,
                            size_t max_parts) {
  parts.clear();
  std::string boundary;
  for (const auto& [key, value] : header_parameters(request.header("content-type")))
    if (key == "boundary") boundary = value;
  if (boundary.empty() || boundary.size() > 70)
    return "multipart/form-data without a boundary of 1 to 70 characters";
  const std::string delimiter = "--" + boundary;
  const std::string_view body(request.body);
  size_t at = 0;
  if (body.compare(0, delimiter.size(), delimiter) != 0) {
    at = body.find("\r\n" + delimiter);  // after a preamble
    if (at == std::string_view::npos) return "the multipart body has no boundary line";
    at += 2;
  }
  for (;;) {
    at += delimiter.size();
    if (body.compare(at, 2, "--") == 0) return "";  // the close delimiter
    while (at < body.size() && (body[at] == ' ' || body[at] == '\t')) ++at;
    if (body.compare(at, 2, "\r\n") != 0) return "a multipart boundary line without its CRLF";
    at += 2;
    if (parts.size() >= max_parts) return fmt::format("more than {} multipart parts", max_parts);
    const size_t head_end = body.find("\r\n\r\n", at);
    const size_t head_limit = 8u << 10u;
    const bool no_headers = body.compare(at, 2, "\r\n") == 0;
    if (!no_headers && (head_end == std::string_view::npos || head_end - at > head_limit))
      return "a multipart part without the blank line after its headers";
    FormPart part;
    std::string_view headers = no_headers ? std::string_view() : body.substr(at, head_end - at);
    at = no_headers ? at + 2 : head_end + 4;
    while (!headers.empty()) {
      const size_t eol = headers.find("\r\n");
      const std::string_view line = headers.substr(0, eol);
      headers.remove_prefix(eol == std::string_view::npos ? headers.size() : eol + 2);
      const size_t colon = line.find(':');
      if (colon == std::string_view::npos) return "a multipart part with a broken header line";
      const std::string name = lower(trim(line.substr(0, colon)));
      const std::string_view value = trim(line.substr(colon + 1));
      if (name == "content-type") part.content_type = std::string(value);
      if (name != "content-disposition") continue;
      if (lower(value.substr(0, value.find(';'))) != "form-data")
        return "a multipart part whose Content-Disposition is not form-data";
      for (const auto& [key, v] : header_parameters(value)) {
        if (key == "name") part.name = v;
        if (key == "filename") part.filename = v;
      }
    }
    const size_t end = body.find("\r\n" + delimiter, at);
    if (end == std::string_view::npos) return "a multipart part without the boundary after it";
    part.content = std::string(body.substr(at, end - at));
    parts.push_back(std::move(part));
    at = end + 2;
  }
}

}  // namespace attnzoo::serve
