// TorchScript every exported model's source is built from: the linear
// helper, the search, convolutions and BatchNorm as their modules have them.
#include "models/script.h"

#include <attnzoo/torchscript/models/helpers.h>
#include <attnzoo/torchscript/models/search.h>
#include <fmt/format.h>

namespace attnzoo {

// models/helpers.ts.
const char* const kLinearSource = torchscript::models_helpers;

// models/search.ts, the port of models/search.cpp.
const char* const kSearchSource = torchscript::models_search;

std::string conv2d_source(const torch::nn::Conv2dImpl& conv, const std::string& path,
                          const std::string& x) {
  const auto* padding = c10::get_if<torch::ExpandingArray<2>>(&conv.options.padding());
  if (padding == nullptr)
    throw std::logic_error("export: " + path + " pads by name (same/valid), not by size");
  const auto& stride = conv.options.stride();
  return fmt::format("torch.conv2d({}, {}.weight, {}, [{}, {}], [{}, {}])", x, path,
                     conv.options.bias() ? path + ".bias" : "None", (*stride)[0], (*stride)[1],
                     (**padding)[0], (**padding)[1]);
}

std::string bn_source(const torch::nn::BatchNorm2dImpl& bn, const std::string& path,
                      const std::string& x) {
  return fmt::format(
      "torch.batch_norm({0}, {1}.weight, {1}.bias, {1}.running_mean, {1}.running_var, False, "
      "0.0, {2:.17g}, False)",
      x, path, bn.options.eps());
}

}  // namespace attnzoo
