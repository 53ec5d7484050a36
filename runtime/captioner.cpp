// A captioner's file (`caption export`): images in, captions out. A batch of
// images is decoded in one call (caption_batch) for each beam size asked
// for; files exported before caption_batch caption one image at a time.
#include <map>
#include <ostream>

#include "data/error.h"
#include "runtime/image_kind.h"
#include "runtime/inputs.h"
#include "runtime/kinds.h"

namespace attnzoo::runtime {
namespace {

using nlohmann::json;

class Captioner : public ImageKind {
 public:
  explicit Captioner(ExportedFile file) : ImageKind(std::move(file)) {
    caption_batch_ = module().find_method("caption_batch").has_value();
  }

  std::vector<std::string> fields() const override { return {"image", "images", "beam"}; }

  Input options(const json& request) const override {
    Input input;
    input.beam = integer(request, "beam", 1, 64, 0);
    return input;
  }

  std::vector<json> run(const std::vector<Input>& inputs) override {
    return captions(preprocess(inputs), inputs);
  }

  json info() const override { return {{"default_beam", default_beam()}}; }

  KindSchema schema(const Limits& /*limits*/) const override {
    KindSchema s;
    s.input = input_schema();
    s.options["beam"] = integer_schema(1, 64);
    s.result["caption"] = {{"type", "string"}};
    s.result_required = {"caption"};
    return s;
  }

  std::vector<std::string> cli_flags() const override { return {"--image", "--beam"}; }

  void run_cli(const CliInputs& given, std::istream& /*in*/, std::ostream& out) override {
    if (given.images.empty()) throw UserError("a {} model needs --image FILE", app());
    for (const auto& path : given.images) {
      std::vector<Input> one{read_file(path)};
      one[0].beam = given.beam;
      out << path << '\t' << captions(preprocess(one), one)[0]["caption"].get<std::string>()
          << '\n';
    }
  }

 private:
  int64_t default_beam() const { return module().attr("default_beam").toInt(); }

  std::vector<json> captions(const torch::Tensor& images, const std::vector<Input>& inputs) {
    std::vector<json> out(inputs.size());
    const int64_t fallback = default_beam();
    if (!caption_batch_) {  // a file exported before caption_batch: one image at a time
      for (size_t i = 0; i < inputs.size(); ++i) {
        const int64_t beam = inputs[i].beam > 0 ? inputs[i].beam : fallback;
        out[i]["caption"] =
            module().get_method("caption")({images[static_cast<int64_t>(i)], beam}).toStringRef();
      }
      return out;
    }
    std::map<int64_t, std::vector<int64_t>> by_beam;  // the images of each beam, as one batch
    for (size_t i = 0; i < inputs.size(); ++i)
      by_beam[inputs[i].beam > 0 ? inputs[i].beam : fallback].push_back(static_cast<int64_t>(i));
    for (const auto& [beam, rows] : by_beam) {
      const auto batch = images.index_select(0, torch::tensor(rows, torch::kLong));
      const auto texts = module().get_method("caption_batch")({batch, beam}).toList();
      for (size_t r = 0; r < rows.size(); ++r)
        out[static_cast<size_t>(rows[r])]["caption"] = texts.get(r).toStringRef();
    }
    return out;
  }

  bool caption_batch_ = false;
};

}  // namespace

std::unique_ptr<ExportedKind> make_captioner(ExportedFile file) {
  return std::make_unique<Captioner>(std::move(file));
}

}  // namespace attnzoo::runtime
