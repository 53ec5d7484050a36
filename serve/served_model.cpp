#include "serve/served_model.h"

#include <fmt/format.h>
#include <malloc.h>

#include <algorithm>
#include <cctype>
#include <cfloat>
#include <cmath>
#include <map>
#include <set>
#include <tuple>
#include <utility>

#include "data/error.h"
#include "data/exported.h"
#include "data/images.h"
#include "data/text_io.h"

namespace attnzoo::serve {
namespace {

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

json alignment(std::vector<std::string> source, std::vector<std::string> target,
               const torch::Tensor& weights) {
  return {
      {"source", std::move(source)},
      {"target", std::move(target)},
      {"weights", weights.defined() && weights.numel() > 0 ? tensor_rows(weights) : json::array()}};
}

bool blank(const std::string& s) { return s.find_first_not_of(" \t") == std::string::npos; }

// What each app's requests may hold, for the unknown-field error.
const std::map<std::string, std::vector<std::string>>& fields() {
  static const std::map<std::string, std::vector<std::string>> f = {
      {"translate", {"text", "texts", "ids", "beam", "n_best", "attention", "timeout_ms"}},
      {"caption", {"image", "images", "beam", "timeout_ms"}},
      {"glimpse", {"image", "images", "top_k", "timeout_ms"}},
      {"forecast", {"values", "windows", "timeout_ms"}},
  };
  return f;
}

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
    : name_(std::move(name)), options_(options) {
  auto loaded = load_exported(path);
  module_ = loaded.module;
  record_ = loaded.record;
  app_ = loaded.app();
  if (!fields().count(app_))
    throw UserError("{}: an export of app \"{}\", which zoo-serve does not know", path, app_);
  if (app_ == "translate") {
    const auto& args = module_.get_method("translate").function().getSchema().arguments();
    text_ = args.size() == 2 && args[1].type()->kind() == c10::TypeKind::StringType;
    batch_method_ = text_ && module_.find_method("translate_batch").has_value();
  }
  if (app_ == "caption") caption_batch_ = module_.find_method("caption_batch").has_value();
  if (app_ == "glimpse")
    for (const auto& c : module_.attr("classes").toListRef()) classes_.push_back(c.toStringRef());
  if (app_ == "forecast")
    for (const auto& c : module_.attr("channels").toListRef()) channels_.push_back(c.toStringRef());
  batcher_ = std::make_unique<Batcher<Item, json>>(
      [this](const std::vector<Item>& items) { return run(items); }, options.max_batch,
      std::chrono::microseconds(static_cast<int64_t>(std::llround(options.max_wait_ms * 1000))),
      options.max_queue, static_cast<int>(options.batch_workers));
}

ServedModel::~ServedModel() {
  batcher_.reset();  // its worker runs this model: first
  module_ = torch::jit::Module();
  ::malloc_trim(0);
}

void ServedModel::warm_up() {
  Item item;
  if (app_ == "translate") {
    item.text = "a";
    if (!text_) item.ids = {0};
  } else if (app_ == "forecast") {
    if (module_.attr("time_features").toBool()) return;  // not served; nothing to warm
    item.input =
        torch::zeros({module_.attr("input_len").toInt(), static_cast<int64_t>(channels_.size())});
  } else {
    const int64_t side = module_.attr("image_side").toInt();
    item.input = module_.attr("image_grey").toBool() ? torch::zeros({side, side}, torch::kUInt8)
                                                     : torch::zeros({side, side, 3}, torch::kUInt8);
  }
  try {
    run({item});
  } catch (const std::exception& e) {
    throw UserError("{}: the model fails on a first input: {}", name_, e.what());
  }
}

json ServedModel::info() const {
  const auto s = batcher_->stats();
  json out = {{"name", name_},
              {"app", app_},
              {"version", record_.value("version", "")},
              {"frozen", record_.value("frozen", false)},
              {"fields", fields().at(app_)},
              {"batches", s.batches},
              {"items", s.items},
              {"largest_batch", s.largest},
              {"queued", s.queued},
              {"refused", s.refused},
              {"expired", s.expired},
              {"max_queue", options_.max_queue},
              {"ready", true},
              {"config", public_config(record_.value("config", json::object()))}};
  if (app_ == "translate") {
    out["input"] = text_ ? "text" : "ids";
    out["default_beam"] = module_.attr("default_beam").toInt();
    out["n_best"] = batch_method_;
  }
  if (app_ == "caption") out["default_beam"] = module_.attr("default_beam").toInt();
  if (app_ == "glimpse") out["classes"] = classes_;
  if (app_ == "forecast") {
    out["channels"] = channels_;
    out["input_len"] = module_.attr("input_len").toInt();
    out["horizon"] = module_.attr("horizon").toInt();
  }
  return out;
}

namespace {

json integer_schema(int64_t lo, int64_t hi) {
  return {{"type", "integer"}, {"minimum", lo}, {"maximum", hi}};
}

json array_of(json items, int64_t min_items = 0, int64_t max_items = -1) {
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

}  // namespace

json ServedModel::schemas() const {
  const json number = {{"type", "number"}}, string = {{"type", "string"}};
  const int64_t most_ms = options_.timeout_ms > 0 ? static_cast<int64_t>(options_.timeout_ms)
                                                  : int64_t{24} * 3600 * 1000;
  json request = json::object(), result = json::object();
  std::vector<std::string> result_required;
  std::string one, many;
  json input;
  if (app_ == "translate") {
    const json alignment_schema = closed_object({{"source", array_of(string)},
                                                 {"target", array_of(string)},
                                                 {"weights", array_of(array_of(number))}},
                                                {"source", "target", "weights"});
    request["attention"] = {{"type", "boolean"}};
    result["attention"] = alignment_schema;
    if (text_) {
      one = "text", many = "texts";
      input = {{"type", "string"}, {"maxLength", options_.max_text_bytes}};
      request["beam"] = integer_schema(1, 64);
      request["n_best"] = integer_schema(1, 64);
      result["translation"] = string;
      result["score"] = number;
      result["n_best"] = array_of(
          closed_object({{"translation", string}, {"score", number}}, {"translation", "score"}));
      result_required = {"translation"};
    } else {
      one = "ids";
      const auto vocab = static_cast<int64_t>(module_.attr("src_tokens").toListRef().size());
      input = array_of(integer_schema(0, vocab - 1), 0, kMaxIds);
      result["ids"] = array_of({{"type", "integer"}});
      result_required = {"ids"};
    }
  } else if (app_ == "forecast") {
    one = "values", many = "windows";
    const auto width = static_cast<int64_t>(channels_.size());
    const int64_t len = module_.attr("input_len").toInt();
    input = array_of(array_of(number, width, width), len, len);
    result["target"] = {
        {"type", "string"},
        {"enum", {channels_.at(static_cast<size_t>(module_.attr("target").toInt()))}}};
    result["forecast"] =
        array_of(number, module_.attr("horizon").toInt(), module_.attr("horizon").toInt());
    result_required = {"target", "forecast"};
  } else {
    one = "image", many = "images";
    input = {{"type", "string"}, {"description", "base64 of a PNG or JPEG file (a data: URL too)"}};
    if (app_ == "caption") {
      request["beam"] = integer_schema(1, 64);
      result["caption"] = string;
      result_required = {"caption"};
    } else {
      const json class_name = {{"type", "string"}, {"enum", classes_}};
      request["top_k"] = integer_schema(1, static_cast<int64_t>(classes_.size()));
      result["class"] = class_name;
      result["probability"] = {{"type", "number"}, {"minimum", 0}, {"maximum", 1}};
      result["top"] = array_of(closed_object({{"class", class_name}, {"probability", number}},
                                             {"class", "probability"}));
      result["glimpses"] = array_of(array_of(number));
      result_required = {"class", "probability"};
    }
  }
  request["timeout_ms"] = integer_schema(1, most_ms);
  request[one] = input;
  json choices = json::array({{{"required", {one}}}});
  if (!many.empty()) {
    request[many] = array_of(input, 1, options_.max_items);
    choices.push_back({{"required", {many}}});
  }
  json request_schema = {{"type", "object"},
                         {"properties", request},
                         {"additionalProperties", false},
                         {"oneOf", choices}};
  json single = result;
  single["model"] = string;
  auto single_required = result_required;
  single_required.push_back("model");
  json response = closed_object(single, single_required);
  if (!many.empty())
    response = {
        {"oneOf",
         {response, closed_object({{"model", string},
                                   {"results", array_of(closed_object(result, result_required))}},
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

Item ServedModel::options_item(const json& request) const {
  Item item;
  if (app_ == "translate") {
    item.beam = integer(request, "beam", 1, 64, 0);
    item.n_best = integer(request, "n_best", 1, 64, 1);
    if (request.contains("attention")) {
      if (!request.at("attention").is_boolean())
        throw bad("\"attention\" must be true or false, not " + brief(request.at("attention")));
      item.attention = request.at("attention").get<bool>();
    }
    if (!batch_method_ && text_ && (item.beam > 0 || item.n_best > 1))
      throw bad(
          "this file was exported before translate_batch: \"beam\" and \"n_best\" need it "
          "(export the checkpoint again)");
    if (!text_ && (item.beam > 0 || item.n_best > 1))
      throw bad("a SentencePiece translator decodes with its own beam: no \"beam\" or \"n_best\"");
    // A beam holds `beam` hypotheses: n_best may not exceed it. Without
    // "beam", the file's default beam decodes.
    const int64_t beam = item.beam > 0   ? item.beam
                         : batch_method_ ? module_.attr("default_beam").toInt()
                                         : 1;
    if (item.n_best > beam)
      throw bad(fmt::format(
          "\"n_best\" {} is above the beam ({}{}), which holds only that many hypotheses: send "
          "\"beam\": {} or more",
          item.n_best, beam, item.beam > 0 ? "" : ", the file's default", item.n_best));
    if (item.n_best > 1 && item.beam == 0) item.beam = beam;
  }
  if (app_ == "caption") item.beam = integer(request, "beam", 1, 64, 0);
  if (app_ == "glimpse")
    item.top_k = integer(request, "top_k", 1, static_cast<int64_t>(classes_.size()), 1);
  return item;
}

torch::Tensor ServedModel::image(const std::string& bytes, const std::string& where) const {
  ImageReadOptions o;
  o.side = module_.attr("image_side").toInt();
  o.grey = module_.attr("image_grey").toBool();
  o.centre_crop = module_.attr("image_crop").toBool();
  // Decoded in a worker thread next to others: the codec's messages are not
  // captured (that redirects the whole process's stderr).
  o.capture_codec_messages = false;
  const auto [width, height] = image_size(bytes);
  if (width <= 0 || height <= 0)
    throw bad(where + ": not a PNG or JPEG image (or its header is broken)");
  if (width * height > options_.max_image_pixels)
    throw RequestError(413, fmt::format("{}: {}x{} pixels; this server takes at most {} pixels an "
                                        "image",
                                        where, width, height, options_.max_image_pixels));
  try {
    return decode_image(bytes, o, where);
  } catch (const UserError& e) {
    throw bad(e.what());
  }
}

torch::Tensor ServedModel::window(const json& rows, const std::string& where) const {
  const int64_t len = module_.attr("input_len").toInt();
  const auto width = static_cast<int64_t>(channels_.size());
  const std::string shape =
      fmt::format("{} rows of {} numbers ({})", len, width, fmt::join(channels_, ", "));
  if (!rows.is_array() || static_cast<int64_t>(rows.size()) != len)
    throw bad(fmt::format("{}: must be {}", where, shape));
  auto out = torch::empty({len, width});
  auto a = out.accessor<float, 2>();
  for (int64_t i = 0; i < len; ++i) {
    const auto& row = rows[static_cast<size_t>(i)];
    if (!row.is_array() || static_cast<int64_t>(row.size()) != width)
      throw bad(fmt::format("{}[{}]: must be {} numbers ({})", where, i, width,
                            fmt::join(channels_, ", ")));
    for (int64_t c = 0; c < width; ++c) {
      const auto& v = row[static_cast<size_t>(c)];
      // Within float range: a larger double passes isfinite and becomes inf.
      if (!v.is_number() || !std::isfinite(v.get<double>()) ||
          std::abs(v.get<double>()) > static_cast<double>(FLT_MAX))
        throw bad(fmt::format("{}[{}][{}]: must be a finite number within float range, not {}",
                              where, i, c, brief(v)));
      a[i][c] = v.get<float>();
    }
  }
  return out;
}

void ServedModel::check_fields(const json& request) const {
  const auto& allowed = fields().at(app_);
  for (const auto& field : request.items())
    if (std::find(allowed.begin(), allowed.end(), field.key()) == allowed.end())
      throw bad(fmt::format("unknown field \"{}\"; a {} model reads {}", field.key(), app_,
                            fmt::join(allowed, ", ")));
}

json ServedModel::handle_json(const json& request, RequestContext& context) {
  if (!request.is_object()) throw bad("the body must be a JSON object");
  check_fields(request);
  if (app_ == "translate" && !text_ && (request.contains("text") || request.contains("texts")))
    throw bad("this SentencePiece translator takes \"ids\" (a list of integers), not text");
  if (app_ == "translate" && text_ && request.contains("ids"))
    throw bad("this translator takes \"text\" or \"texts\", not \"ids\"");
  const std::map<std::string, std::pair<std::string, std::string>> inputs = {
      {"translate", {text_ ? "text" : "ids", text_ ? "texts" : ""}},
      {"caption", {"image", "images"}},
      {"glimpse", {"image", "images"}},
      {"forecast", {"values", "windows"}}};
  const auto& [one, many] = inputs.at(app_);
  const bool plural = !many.empty() && request.contains(many);
  if (plural == request.contains(one))
    throw bad(many.empty() ? fmt::format("a {} model needs \"{}\"", app_, one)
                           : fmt::format("give \"{}\" or \"{}\" (one of them)", one, many));

  const Item base = options_item(request);
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
    if (app_ == "translate" && text_) {
      if (!v.is_string()) throw bad(where + ": must be a string, not " + brief(v));
      try {
        item.text = check_input_line(v.get<std::string>(), where,
                                     static_cast<size_t>(options_.max_text_bytes));
      } catch (const UserError& e) {
        throw bad(e.what());
      }
    } else if (app_ == "translate") {
      const int64_t vocab = static_cast<int64_t>(module_.attr("src_tokens").toListRef().size());
      if (!v.is_array()) throw bad(where + ": must be a list of integers");
      if (static_cast<int64_t>(v.size()) > kMaxIds)
        throw RequestError(
            413, fmt::format("{}: {} ids; this server takes at most {}", where, v.size(), kMaxIds));
      for (const auto& id : v) {
        if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() >= vocab)
          throw bad(
              fmt::format("{}: {} is not a source id (0 to {})", where, brief(id), vocab - 1));
        item.ids.push_back(id.get<int64_t>());
      }
    } else if (app_ == "forecast") {
      if (module_.attr("time_features").toBool())
        throw bad("this forecaster needs calendar features, which zoo-serve does not take");
      item.input = window(v, where);
    } else {
      if (!v.is_string()) throw bad(where + ": must be a base64 string of an image file");
      item.input = image(decode_base64(v.get<std::string>(), where), where);
    }
    items.push_back(std::move(item));
  }
  return answer(std::move(items), plural, request, context);
}

json ServedModel::handle_images(const std::vector<std::string>& files, const json& form,
                                RequestContext& context) {
  if (app_ != "caption" && app_ != "glimpse")
    throw bad("a " + app_ + " model takes a JSON body, not an upload");
  if (files.empty()) throw bad("the upload has no file field named \"image\"");
  if (static_cast<int64_t>(files.size()) > options_.max_items)
    throw RequestError(413, fmt::format("{} images; this server takes at most {} a request",
                                        files.size(), options_.max_items));
  check_fields(form);
  const Item base = options_item(form);
  std::vector<Item> items;
  for (size_t i = 0; i < files.size(); ++i) {
    Item item = base;
    item.input = image(files[i], fmt::format("image {}", i + 1));
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

std::vector<json> ServedModel::run(const std::vector<Item>& items) {
  torch::NoGradGuard no_grad;
  if (app_ == "translate") return run_translate(items);
  if (app_ == "forecast") return run_forecast(items);
  return run_images(items);
}

std::vector<json> ServedModel::run_translate(const std::vector<Item>& items) {
  std::vector<json> out(items.size());
  if (!text_) {  // SentencePiece: one at a time, ids in and out
    for (size_t i = 0; i < items.size(); ++i) {
      out[i]["ids"] =
          module_.get_method("translate")({c10::List<int64_t>(items[i].ids)}).toIntVector();
      if (items[i].attention) {
        const auto result = module_.get_method("attention")({c10::List<int64_t>(items[i].ids)});
        const auto& a = result.toTupleRef().elements();
        out[i]["attention"] = alignment(strings(a[0]), strings(a[1]), a[2].toTensor());
      }
    }
    return out;
  }
  // Empty in, empty out (as zoo-run); the rest grouped by decoding options.
  std::map<std::pair<int64_t, int64_t>, std::vector<size_t>> groups;
  for (size_t i = 0; i < items.size(); ++i) {
    if (blank(items[i].text)) {
      out[i]["translation"] = "";
      if (items[i].attention) out[i]["attention"] = alignment({}, {}, torch::Tensor());
      continue;
    }
    groups[{items[i].beam, items[i].n_best}].push_back(i);
  }
  for (const auto& [options, rows] : groups) {
    if (!batch_method_) {  // a file exported before translate_batch
      for (size_t i : rows) {
        out[i]["translation"] = module_.get_method("translate")({items[i].text}).toStringRef();
        if (items[i].attention) {
          const auto result = module_.get_method("attention")({items[i].text});
          const auto& a = result.toTupleRef().elements();
          out[i]["attention"] = alignment(strings(a[0]), strings(a[1]), a[2].toTensor());
        }
      }
      continue;
    }
    c10::List<std::string> texts;
    for (size_t i : rows) texts.push_back(items[i].text);
    const auto all =
        module_.get_method("translate_batch")({texts, options.first, options.second}).toList();
    for (size_t r = 0; r < rows.size(); ++r) {
      const Item& item = items[rows[r]];
      json& o = out[rows[r]];
      const auto hypotheses = all.get(r).toList();
      json n_best = json::array();
      for (size_t h = 0; h < hypotheses.size(); ++h) {
        const auto hypothesis = hypotheses.get(h);
        const auto& e = hypothesis.toTupleRef().elements();
        if (h == 0) {
          o["translation"] = e[0].toStringRef();
          o["score"] = e[1].toDouble();
          if (item.attention)
            o["attention"] = alignment(strings(e[2]), strings(e[3]), e[4].toTensor());
        }
        n_best.push_back({{"translation", e[0].toStringRef()}, {"score", e[1].toDouble()}});
      }
      if (item.n_best > 1) o["n_best"] = n_best;
    }
  }
  return out;
}

std::vector<json> ServedModel::run_images(const std::vector<Item>& items) {
  std::vector<torch::Tensor> pixels;
  for (const auto& item : items) pixels.push_back(item.input);
  const auto input = module_.get_method("preprocess")({torch::stack(pixels)}).toTensor();
  std::vector<json> out(items.size());
  if (app_ == "caption") {
    const int64_t fallback = module_.attr("default_beam").toInt();
    if (!caption_batch_) {  // a file exported before caption_batch: one image at a time
      for (size_t i = 0; i < items.size(); ++i) {
        const int64_t beam = items[i].beam > 0 ? items[i].beam : fallback;
        out[i]["caption"] =
            module_.get_method("caption")({input[static_cast<int64_t>(i)], beam}).toStringRef();
      }
      return out;
    }
    std::map<int64_t, std::vector<int64_t>> by_beam;  // the images of each beam, as one batch
    for (size_t i = 0; i < items.size(); ++i)
      by_beam[items[i].beam > 0 ? items[i].beam : fallback].push_back(static_cast<int64_t>(i));
    for (const auto& [beam, rows] : by_beam) {
      const auto batch = input.index_select(0, torch::tensor(rows, torch::kLong));
      const auto captions = module_.get_method("caption_batch")({batch, beam}).toList();
      for (size_t r = 0; r < rows.size(); ++r)
        out[static_cast<size_t>(rows[r])]["caption"] = captions.get(r).toStringRef();
    }
    return out;
  }
  const auto result = module_.forward({input});
  const auto& outputs = result.toTupleRef().elements();
  const auto probs = torch::softmax(outputs[0].toTensor().to(torch::kDouble), 1);
  const auto looked = outputs[1].toTensor();
  for (size_t i = 0; i < items.size(); ++i) {
    const auto row = probs[static_cast<int64_t>(i)];
    const auto top = row.topk(items[i].top_k);
    const auto p = std::get<0>(top).contiguous(), k = std::get<1>(top).contiguous();
    json& o = out[i];
    o["class"] = classes_.at(static_cast<size_t>(k[0].item<int64_t>()));
    o["probability"] = p[0].item<double>();
    if (items[i].top_k > 1) {
      o["top"] = json::array();
      for (int64_t j = 0; j < items[i].top_k; ++j)
        o["top"].push_back({{"class", classes_.at(static_cast<size_t>(k[j].item<int64_t>()))},
                            {"probability", p[j].item<double>()}});
    }
    if (looked.size(1) > 0) o["glimpses"] = tensor_rows(looked[static_cast<int64_t>(i)]);
  }
  return out;
}

std::vector<json> ServedModel::run_forecast(const std::vector<Item>& items) {
  std::vector<torch::Tensor> windows;
  for (const auto& item : items) windows.push_back(item.input);
  const auto result = module_.forward({torch::stack(windows)});
  const auto forecast =
      result.toTupleRef().elements()[0].toTensor().to(torch::kDouble).contiguous();
  const auto target = channels_.at(static_cast<size_t>(module_.attr("target").toInt()));
  std::vector<json> out(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    const auto row = forecast[static_cast<int64_t>(i)];
    out[i]["target"] = target;
    out[i]["forecast"] =
        std::vector<double>(row.data_ptr<double>(), row.data_ptr<double>() + row.numel());
  }
  return out;
}

}  // namespace attnzoo::serve
