#include "runtime/inputs.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "data/error.h"

namespace attnzoo::runtime {

using nlohmann::json;

RequestError bad(const std::string& what) { return RequestError(400, what); }

// A value as an error message may quote it: its JSON, cut at 60 characters.
std::string brief(const json& v) {
  std::string text = v.dump(-1, ' ', false, json::error_handler_t::replace);
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text;
}

// Width and height from a PNG's or a JPEG's header, read before anything is
// decoded; {0, 0} for any other bytes.
std::pair<int64_t, int64_t> image_size(const std::string& b) {
  auto byte = [&](size_t i) -> int64_t {
    return i < b.size() ? static_cast<unsigned char>(b[i]) : -1;
  };
  auto be16 = [&](size_t i) { return (byte(i) << 8) | byte(i + 1); };
  if (b.size() >= 24 && b.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0 && b.compare(12, 4, "IHDR") == 0)
    return {(be16(16) << 16) | be16(18), (be16(20) << 16) | be16(22)};
  if (byte(0) != 0xFF || byte(1) != 0xD8) return {0, 0};
  size_t i = 2;
  while (i + 9 < b.size()) {
    if (byte(i) != 0xFF) return {0, 0};
    const int64_t marker = byte(i + 1);
    if (marker == 0xFF) {  // fill byte
      i += 1;
      continue;
    }
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) {  // no length
      i += 2;
      continue;
    }
    if (marker == 0xD9 || marker == 0xDA) return {0, 0};  // no frame header before the scan
    const bool frame =
        marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (frame) return {be16(i + 7), be16(i + 5)};
    const int64_t length = be16(i + 2);
    if (length < 2) return {0, 0};
    i += 2 + static_cast<size_t>(length);
  }
  return {0, 0};
}

// Standard base64 (RFC 4648), padding optional, whitespace and a data URL's
// "data:...;base64," prefix ignored.
std::string decode_base64(const std::string& text, const std::string& where) {
  size_t start = 0;
  if (text.rfind("data:", 0) == 0) {
    const size_t comma = text.find(',');
    if (comma == std::string::npos) throw bad(where + ": a data URL without a comma");
    start = comma + 1;
  }
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t bits = 0;
  int count = 0;
  bool padding = false;
  for (size_t i = start; i < text.size(); ++i) {
    const char c = text[i];
    int v = -1;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    if (c >= '0' && c <= '9') v = c - '0' + 52;
    if (c == '+' || c == '-') v = 62;
    if (c == '/' || c == '_') v = 63;
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    if (c == '=') {
      padding = true;
      continue;
    }
    if (v < 0 || padding)
      throw bad(fmt::format(
          "{}: not base64 (character {} is '{}')", where, i,
          std::isprint(static_cast<unsigned char>(c)) ? std::string(1, c) : std::string("?")));
    bits = (bits << 6) | static_cast<uint32_t>(v);
    if (++count == 4) {
      out.push_back(static_cast<char>((bits >> 16) & 0xff));
      out.push_back(static_cast<char>((bits >> 8) & 0xff));
      out.push_back(static_cast<char>(bits & 0xff));
      bits = 0;
      count = 0;
    }
  }
  if (count == 1) throw bad(where + ": not base64 (its length is not whole bytes)");
  if (count == 2) out.push_back(static_cast<char>((bits >> 4) & 0xff));
  if (count == 3) {
    out.push_back(static_cast<char>((bits >> 10) & 0xff));
    out.push_back(static_cast<char>((bits >> 2) & 0xff));
  }
  return out;
}

std::string encode_base64(const std::string& bytes) {
  static const char* const table =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const size_t n = std::min<size_t>(3, bytes.size() - i);
    uint32_t v = 0;
    for (size_t k = 0; k < 3; ++k)
      v = (v << 8) | (k < n ? static_cast<unsigned char>(bytes[i + k]) : 0u);
    for (size_t k = 0; k < 4; ++k) out.push_back(k <= n ? table[(v >> (18 - 6 * k)) & 63] : '=');
  }
  return out;
}

// An integer field in [lo, hi]; `fallback` when absent.
int64_t integer(const json& request, const std::string& key, int64_t lo, int64_t hi,
                int64_t fallback) {
  if (!request.contains(key)) return fallback;
  const auto& v = request.at(key);
  // Form fields arrive as strings.
  if (v.is_string()) {
    try {
      size_t used = 0;
      const int64_t n = std::stoll(v.get<std::string>(), &used);
      if (used == v.get<std::string>().size() && n >= lo && n <= hi) return n;
    } catch (const std::exception&) {
    }
  } else if (v.is_number_integer()) {
    const int64_t n = v.get<int64_t>();
    if (n >= lo && n <= hi) return n;
  }
  throw bad(fmt::format("\"{}\" must be an integer from {} to {}, not {}", key, lo, hi, brief(v)));
}

json tensor_rows(const torch::Tensor& t) {
  const auto d = t.to(torch::kDouble).contiguous();
  json rows = json::array();
  for (int64_t i = 0; i < d.size(0); ++i)
    rows.push_back(
        std::vector<double>(d[i].data_ptr<double>(), d[i].data_ptr<double>() + d.size(1)));
  return rows;
}

std::vector<std::string> strings(const c10::IValue& v) {
  std::vector<std::string> out;
  for (const auto& s : v.toListRef()) out.push_back(s.toStringRef());
  return out;
}

json integer_schema(int64_t lo, int64_t hi) {
  return {{"type", "integer"}, {"minimum", lo}, {"maximum", hi}};
}

json array_of(json items, int64_t min_items, int64_t max_items) {
  json out = {{"type", "array"}, {"items", std::move(items)}};
  if (min_items > 0) out["minItems"] = min_items;
  if (max_items >= 0) out["maxItems"] = max_items;
  return out;
}

// An object with exactly these properties, `required` among them.
json closed_object(json properties, std::vector<std::string> required) {
  return {{"type", "object"},
          {"properties", std::move(properties)},
          {"required", std::move(required)},
          {"additionalProperties", false}};
}

ImageReadOptions image_options(const torch::jit::Module& module) {
  ImageReadOptions o;
  o.side = module.attr("image_side").toInt();
  o.grey = module.attr("image_grey").toBool();
  o.centre_crop = module.attr("image_crop").toBool();
  return o;
}

torch::Tensor request_image(const std::string& bytes, const std::string& where,
                            const torch::jit::Module& module, const Limits& limits) {
  ImageReadOptions o = image_options(module);
  // Decoded in a worker thread next to others: the codec's messages are not
  // captured (that redirects the whole process's stderr).
  o.capture_codec_messages = false;
  const auto [width, height] = image_size(bytes);
  if (width <= 0 || height <= 0)
    throw bad(where + ": not a PNG or JPEG image (or its header is broken)");
  if (width * height > limits.max_image_pixels)
    throw RequestError(413, fmt::format("{}: {}x{} pixels; this server takes at most {} pixels an "
                                        "image",
                                        where, width, height, limits.max_image_pixels));
  try {
    return decode_image(bytes, o, where);
  } catch (const UserError& e) {
    throw bad(e.what());
  }
}

}  // namespace attnzoo::runtime
