// A classifier's file (`glimpse export`: the Recurrent Attention Model, its
// CNN and MLP baselines, the Residual Attention Network): images in, classes
// and probabilities out, and where a glimpse model looked.
#include <fmt/format.h>

#include <ostream>

#include "data/error.h"
#include "runtime/image_kind.h"
#include "runtime/inputs.h"
#include "runtime/kinds.h"

namespace attnzoo::runtime {
namespace {

using nlohmann::json;

class Classifier : public ImageKind {
 public:
  explicit Classifier(ExportedFile file) : ImageKind(std::move(file)) {
    for (const auto& c : module().attr("classes").toListRef()) classes_.push_back(c.toStringRef());
  }

  std::vector<std::string> fields() const override { return {"image", "images", "top_k"}; }

  Input options(const json& request) const override {
    Input input;
    input.top_k = integer(request, "top_k", 1, static_cast<int64_t>(classes_.size()), 1);
    return input;
  }

  std::vector<json> run(const std::vector<Input>& inputs) override {
    const auto result = module().forward({preprocess(inputs)});
    const auto& outputs = result.toTupleRef().elements();
    const auto probs = torch::softmax(outputs[0].toTensor().to(torch::kDouble), 1);
    const auto looked = outputs[1].toTensor();
    std::vector<json> out(inputs.size());
    for (size_t i = 0; i < inputs.size(); ++i) {
      const auto row = probs[static_cast<int64_t>(i)];
      const auto top = row.topk(inputs[i].top_k);
      const auto p = std::get<0>(top).contiguous(), k = std::get<1>(top).contiguous();
      json& o = out[i];
      o["class"] = classes_.at(static_cast<size_t>(k[0].item<int64_t>()));
      o["probability"] = p[0].item<double>();
      if (inputs[i].top_k > 1) {
        o["top"] = json::array();
        for (int64_t j = 0; j < inputs[i].top_k; ++j)
          o["top"].push_back({{"class", classes_.at(static_cast<size_t>(k[j].item<int64_t>()))},
                              {"probability", p[j].item<double>()}});
      }
      if (looked.size(1) > 0) o["glimpses"] = tensor_rows(looked[static_cast<int64_t>(i)]);
    }
    return out;
  }

  json info() const override { return {{"classes", classes_}}; }

  KindSchema schema(const Limits& /*limits*/) const override {
    const json class_name = {{"type", "string"}, {"enum", classes_}};
    KindSchema s;
    s.input = input_schema();
    s.options["top_k"] = integer_schema(1, static_cast<int64_t>(classes_.size()));
    s.result["class"] = class_name;
    s.result["probability"] = {{"type", "number"}, {"minimum", 0}, {"maximum", 1}};
    s.result["top"] = array_of(closed_object(
        {{"class", class_name}, {"probability", {{"type", "number"}}}}, {"class", "probability"}));
    s.result["glimpses"] = array_of(array_of({{"type", "number"}}));
    s.result_required = {"class", "probability"};
    return s;
  }

  std::vector<std::string> cli_flags() const override { return {"--image"}; }

  void run_cli(const CliInputs& given, std::istream& /*in*/, std::ostream& out) override {
    if (given.images.empty()) throw UserError("a {} model needs --image FILE", app());
    for (const auto& path : given.images) {
      const auto answer = run({read_file(path)})[0];
      out << path << '\t' << answer["class"].get<std::string>() << '\t'
          << fmt::format("{:.3f}", answer["probability"].get<double>()) << '\n';
    }
  }

 private:
  std::vector<std::string> classes_;
};

}  // namespace

std::unique_ptr<ExportedKind> make_classifier(ExportedFile file) {
  return std::make_unique<Classifier>(std::move(file));
}

}  // namespace attnzoo::runtime
