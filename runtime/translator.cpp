// A translator's file (`translate export`): text in, translations out, with
// translate_batch (beam, n-best and attention in one batched call), or
// translate and attention one sentence at a time in files exported before
// it; a SentencePiece translator takes and gives ids.
#include <fmt/format.h>

#include <istream>
#include <map>
#include <ostream>
#include <sstream>

#include "data/error.h"
#include "data/text_io.h"
#include "runtime/inputs.h"
#include "runtime/kinds.h"

namespace attnzoo::runtime {
namespace {

using nlohmann::json;

json alignment(std::vector<std::string> source, std::vector<std::string> target,
               const torch::Tensor& weights) {
  return {
      {"source", std::move(source)},
      {"target", std::move(target)},
      {"weights", weights.defined() && weights.numel() > 0 ? tensor_rows(weights) : json::array()}};
}

bool blank(const std::string& s) { return s.find_first_not_of(" \t") == std::string::npos; }

class Translator : public ExportedKind {
 public:
  explicit Translator(ExportedFile file) : ExportedKind(std::move(file)) {
    const auto& args = module().get_method("translate").function().getSchema().arguments();
    text_ = args.size() == 2 && args[1].type()->kind() == c10::TypeKind::StringType;
    batch_method_ = text_ && module().find_method("translate_batch").has_value();
  }

  std::string one_field() const override { return text_ ? "text" : "ids"; }
  std::string many_field() const override { return text_ ? "texts" : ""; }
  std::vector<std::string> fields() const override {
    return {"text", "texts", "ids", "beam", "n_best", "attention"};
  }

  void check_request(const json& request) const override {
    if (!text_ && (request.contains("text") || request.contains("texts")))
      throw bad("this SentencePiece translator takes \"ids\" (a list of integers), not text");
    if (text_ && request.contains("ids"))
      throw bad("this translator takes \"text\" or \"texts\", not \"ids\"");
  }

  Input options(const json& request) const override {
    Input input;
    input.beam = integer(request, "beam", 1, 64, 0);
    input.n_best = integer(request, "n_best", 1, 64, 1);
    if (request.contains("attention")) {
      if (!request.at("attention").is_boolean())
        throw bad("\"attention\" must be true or false, not " + brief(request.at("attention")));
      input.attention = request.at("attention").get<bool>();
    }
    if (!batch_method_ && text_ && (input.beam > 0 || input.n_best > 1))
      throw bad(
          "this file was exported before translate_batch: \"beam\" and \"n_best\" need it "
          "(export the checkpoint again)");
    if (!text_ && (input.beam > 0 || input.n_best > 1))
      throw bad("a SentencePiece translator decodes with its own beam: no \"beam\" or \"n_best\"");
    // A beam holds `beam` hypotheses: n_best may not exceed it. Without
    // "beam", the file's default beam decodes.
    const int64_t beam = input.beam > 0  ? input.beam
                         : batch_method_ ? module().attr("default_beam").toInt()
                                         : 1;
    if (input.n_best > beam)
      throw bad(fmt::format(
          "\"n_best\" {} is above the beam ({}{}), which holds only that many hypotheses: send "
          "\"beam\": {} or more",
          input.n_best, beam, input.beam > 0 ? "" : ", the file's default", input.n_best));
    if (input.n_best > 1 && input.beam == 0) input.beam = beam;
    return input;
  }

  void read(const json& v, const std::string& where, const Limits& limits,
            Input& into) const override {
    if (text_) {
      if (!v.is_string()) throw bad(where + ": must be a string, not " + brief(v));
      try {
        into.text = check_input_line(v.get<std::string>(), where,
                                     static_cast<size_t>(limits.max_text_bytes));
      } catch (const UserError& e) {
        throw bad(e.what());
      }
      return;
    }
    const int64_t vocab = source_vocab();
    if (!v.is_array()) throw bad(where + ": must be a list of integers");
    if (static_cast<int64_t>(v.size()) > kMaxIds)
      throw RequestError(
          413, fmt::format("{}: {} ids; this server takes at most {}", where, v.size(), kMaxIds));
    for (const auto& id : v) {
      if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() >= vocab)
        throw bad(fmt::format("{}: {} is not a source id (0 to {})", where, brief(id), vocab - 1));
      into.ids.push_back(id.get<int64_t>());
    }
  }

  std::optional<Input> warm_up_input() const override {
    Input input;
    input.text = "a";
    if (!text_) input.ids = {0};
    return input;
  }

  std::vector<json> run(const std::vector<Input>& items) override {
    std::vector<json> out(items.size());
    if (!text_) {  // SentencePiece: one at a time, ids in and out
      for (size_t i = 0; i < items.size(); ++i) {
        out[i]["ids"] =
            module().get_method("translate")({c10::List<int64_t>(items[i].ids)}).toIntVector();
        if (items[i].attention) {
          const auto result = module().get_method("attention")({c10::List<int64_t>(items[i].ids)});
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
          out[i]["translation"] = module().get_method("translate")({items[i].text}).toStringRef();
          if (items[i].attention) {
            const auto result = module().get_method("attention")({items[i].text});
            const auto& a = result.toTupleRef().elements();
            out[i]["attention"] = alignment(strings(a[0]), strings(a[1]), a[2].toTensor());
          }
        }
        continue;
      }
      c10::List<std::string> texts;
      for (size_t i : rows) texts.push_back(items[i].text);
      const auto all =
          module().get_method("translate_batch")({texts, options.first, options.second}).toList();
      for (size_t r = 0; r < rows.size(); ++r) {
        const Input& item = items[rows[r]];
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

  json info() const override {
    return {{"input", text_ ? "text" : "ids"},
            {"default_beam", module().attr("default_beam").toInt()},
            {"n_best", batch_method_}};
  }

  KindSchema schema(const Limits& limits) const override {
    const json number = {{"type", "number"}}, string = {{"type", "string"}};
    KindSchema s;
    s.options["attention"] = {{"type", "boolean"}};
    s.result["attention"] = closed_object({{"source", array_of(string)},
                                           {"target", array_of(string)},
                                           {"weights", array_of(array_of(number))}},
                                          {"source", "target", "weights"});
    if (!text_) {
      s.input = array_of(integer_schema(0, source_vocab() - 1), 0, kMaxIds);
      s.result["ids"] = array_of({{"type", "integer"}});
      s.result_required = {"ids"};
      return s;
    }
    s.input = {{"type", "string"}, {"maxLength", limits.max_text_bytes}};
    s.options["beam"] = integer_schema(1, 64);
    s.options["n_best"] = integer_schema(1, 64);
    s.result["translation"] = string;
    s.result["score"] = number;
    s.result["n_best"] = array_of(
        closed_object({{"translation", string}, {"score", number}}, {"translation", "score"}));
    s.result_required = {"translation"};
    return s;
  }

  std::vector<std::string> cli_flags() const override { return {"--text"}; }

  void run_cli(const CliInputs& given, std::istream& in, std::ostream& out) override {
    auto one = [&](const std::string& line) {
      if (blank(line)) {  // empty in, empty out
        out << '\n';
        return;
      }
      if (text_) {
        out << module().get_method("translate")({line}).toStringRef() << '\n';
        return;
      }
      std::istringstream words(line);
      std::vector<int64_t> ids;
      std::string word;
      while (words >> word) {
        try {
          ids.push_back(std::stoll(word));
        } catch (const std::exception&) {
          throw UserError("this SentencePiece model takes ids (space-separated integers), not \"" +
                          word + "\"");
        }
      }
      const auto translated =
          module().get_method("translate")({c10::List<int64_t>(ids)}).toIntVector();
      for (size_t i = 0; i < translated.size(); ++i) out << (i ? " " : "") << translated[i];
      out << '\n';
    };
    if (!given.texts.empty()) {
      for (const auto& t : given.texts) one(check_input_line(t, "--text"));
      return;
    }
    // Each line answered as it comes: memory stays bounded on an endless stdin.
    InputLines lines(in, "stdin");
    for (std::string line; lines.next(line);) {
      one(line);
      out.flush();
    }
  }

 private:
  int64_t source_vocab() const {
    return static_cast<int64_t>(module().attr("src_tokens").toListRef().size());
  }

  bool text_ = true;           // takes text (not SentencePiece ids)
  bool batch_method_ = false;  // has translate_batch
};

}  // namespace

std::unique_ptr<ExportedKind> make_translator(ExportedFile file) {
  return std::make_unique<Translator>(std::move(file));
}

}  // namespace attnzoo::runtime
