#include "runtime/image_kind.h"

#include "runtime/inputs.h"

namespace attnzoo::runtime {

void ImageKind::read(const nlohmann::json& v, const std::string& where, const Limits& limits,
                     Input& into) const {
  if (!v.is_string()) throw bad(where + ": must be a base64 string of an image file");
  into.tensor = request_image(decode_base64(v.get<std::string>(), where), where, module(), limits);
}

void ImageKind::read_upload(const std::string& bytes, const std::string& where,
                            const Limits& limits, Input& into) const {
  into.tensor = request_image(bytes, where, module(), limits);
}

std::optional<Input> ImageKind::warm_up_input() const {
  const auto o = image_options(module());
  Input input;
  input.tensor = o.grey ? torch::zeros({o.side, o.side}, torch::kUInt8)
                        : torch::zeros({o.side, o.side, 3}, torch::kUInt8);
  return input;
}

torch::Tensor ImageKind::preprocess(const std::vector<Input>& inputs) {
  std::vector<torch::Tensor> pixels;
  for (const auto& input : inputs) pixels.push_back(input.tensor);
  return module().get_method("preprocess")({torch::stack(pixels)}).toTensor();
}

Input ImageKind::read_file(const std::string& path) const {
  Input input;
  input.tensor = read_image(path, image_options(module()));
  return input;
}

nlohmann::json ImageKind::input_schema() {
  return {{"type", "string"}, {"description", "base64 of a PNG or JPEG file (a data: URL too)"}};
}

}  // namespace attnzoo::runtime
