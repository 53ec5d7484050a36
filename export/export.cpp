#include "export/export.h"

#include <attnzoo/torchscript/export/glimpse.h>
#include <attnzoo/version.h>
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/passes/freeze_module.h>

#include <cctype>
#include <sstream>

#include "data/error.h"
#include "data/fashion_mnist.h"
#include "data/files.h"
#include "models/script.h"
#include "tasks/glimpse.h"

namespace attnzoo {

torch::jit::Module mirror(const torch::nn::Module& module, const std::string& type_name) {
  torch::jit::Module out(type_name);
  for (const auto& p : module.named_parameters(/*recurse=*/false))
    out.register_parameter(p.key(), p.value().detach().clone(), /*is_buffer=*/false);
  for (const auto& b : module.named_buffers(/*recurse=*/false))
    out.register_buffer(b.key(), b.value().detach().clone());
  out.register_attribute("training", c10::BoolType::get(), false);
  for (const auto& child : module.named_children()) {
    const std::string& key = child.key();
    const std::string name =
        std::isdigit(static_cast<unsigned char>(key.front())) ? "_" + key : key;
    out.register_module(name, mirror(*child.value(), type_name + "_" + name));
  }
  return out;
}

torch::jit::Module export_glimpse(const GlimpseClassifier& classifier) {
  const auto& net = *classifier.model;
  auto module = mirror(net, "attnzoo_glimpse");
  module.define(kLinearSource);
  for (const auto& source : glimpse_sources(net)) module.define(source);
  module.define(torchscript::export_glimpse);
  module.register_attribute("image_side", c10::IntType::get(), classifier.image_size());
  const auto& data = classifier.config.at("data");
  module.register_attribute("image_grey", c10::BoolType::get(), glimpse_channels(data) == 1);
  module.register_attribute("image_crop", c10::BoolType::get(), false);
  c10::List<std::string> classes;
  for (const auto& name : glimpse_classes(data)) classes.push_back(name);
  module.register_attribute("classes", c10::ListType::ofStrings(), classes);
  module.eval();
  return module;
}

ExportedMethods glimpse_methods(const GlimpseClassifier& classifier) {
  return {{"preprocess", "image_side", "image_grey", "image_crop", "classes"},
          fmt::format("  forward(images: Tensor (B,{2},{0},{0}) in [0,1]) -> (logits (B,10), "
                      "locations (B,G,2)){1}",
                      classifier.image_size(),
                      classifier.model->kind == GlimpseKind::kResidualAttention
                          ? "\n  attention_masks(images) -> List[Tensor]: each module's mask "
                            "(B,C,H,W)"
                          : "",
                      glimpse_channels(classifier.config.at("data")))};
}

torch::jit::Module freeze_export(const torch::jit::Module& module,
                                 const std::vector<std::string>& keep, bool* optimized) {
  auto frozen = torch::jit::freeze(module, keep);
  std::vector<std::string> methods;
  for (const auto& name : keep)
    if (frozen.find_method(name)) methods.push_back(name);
  auto copy = frozen.clone();
  auto faster = torch::jit::optimize_for_inference(copy, methods);
  // Some of its rewrites (oneDNN-prepacked convolutions) cannot be saved:
  // keep them only when the module still loads back.
  try {
    std::stringstream bytes;
    faster.save(bytes);
    torch::jit::load(bytes);
  } catch (const std::exception&) {  // c10::Error, torch::jit::IRAttributeError
    if (optimized != nullptr) *optimized = false;
    return frozen;
  }
  if (optimized != nullptr) *optimized = true;
  return faster;
}

void save_export(const torch::jit::Module& module, const std::string& path, const std::string& app,
                 const nlohmann::json& config, bool frozen,
                 const torch::jit::ExtraFilesMap& files) {
  const nlohmann::json record = {
      {"app", app}, {"version", ATTNZOO_VERSION}, {"config", config}, {"frozen", frozen}};
  torch::jit::ExtraFilesMap extra = files;
  extra["attnzoo.json"] = record.dump();
  std::ostringstream bytes;
  try {
    module.save(bytes, extra);
  } catch (const c10::Error& e) {
    throw UserError("{}: cannot write the exported model ({})", path, e.what_without_backtrace());
  }
  write_file_atomically(path, bytes.str(), "the exported model");
}

}  // namespace attnzoo
