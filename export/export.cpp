#include "export/export.h"

#include <attnzoo/version.h>
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/passes/freeze_module.h>

#include <cctype>
#include <sstream>

#include "data/error.h"
#include "data/fashion_mnist.h"
#include "export/sources.h"
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

namespace {

// The glimpse sensor of models/glimpse.cpp: per scale an affine grid centred
// on the location, bilinear sampling with zeros outside, average pooling.
std::string sensor_source(int64_t patch, int64_t scales, int64_t zoom) {
  return fmt::format(R"JIT(
def sensor(self, images: Tensor, where: Tensor) -> Tensor:
    batch = images.size(0)
    channels = images.size(1)
    patches: List[Tensor] = []
    side = {0}
    for k in range({1}):
        theta = torch.zeros([batch, 2, 3], dtype=images.dtype, device=images.device)
        theta[:, 0, 0] = float(side) / float(images.size(3))
        theta[:, 1, 1] = float(side) / float(images.size(2))
        theta[:, :, 2] = where
        grid = torch.affine_grid_generator(theta, [batch, channels, side, side], False)
        p = torch.grid_sampler(images, grid, 0, 0, False)
        if side > {0}:
            p = torch.avg_pool2d(p, [side // {0}, side // {0}])
        patches.append(p)
        side = side * {2}
    return torch.cat(patches, 1)
)JIT",
                     patch, scales, zoom);
}

std::string ram_source(const RamOptions& o) {
  const std::string core =
      o.core() == "lstm"
          ? "h, c = torch.lstm_cell(g, [h, c], self.ram.core_lstm.weight_ih, "
            "self.ram.core_lstm.weight_hh, "
            "self.ram.core_lstm.bias_ih, self.ram.core_lstm.bias_hh)"
          : "h = torch.relu(self.linear(h, self.ram.core_h.weight, self.ram.core_h.bias) + "
            "self.linear(g, self.ram.core_g.weight, self.ram.core_g.bias))";
  return fmt::format(R"JIT(
def forward(self, images: Tensor) -> Tuple[Tensor, Tensor]:
    h = torch.zeros([images.size(0), {0}], dtype=images.dtype, device=images.device)
    c = torch.zeros_like(h)
    locations: List[Tensor] = []
    for t in range({1}):
        where = torch.tanh(self.linear(h, self.ram.policy.weight, self.ram.policy.bias)).clamp(-1.0, 1.0)
        locations.append(where)
        rho = self.sensor(images, where).flatten(1)
        seen = self.linear(torch.relu(self.linear(rho, self.ram.patch_in.weight, self.ram.patch_in.bias)),
                           self.ram.glimpse_out.weight, self.ram.glimpse_out.bias)
        place = self.linear(torch.relu(self.linear(where, self.ram.location_in.weight, self.ram.location_in.bias)),
                            self.ram.location_out.weight, self.ram.location_out.bias)
        g = torch.relu(seen + place)
        {2}
    logits = self.linear(h, self.ram.classifier.weight, self.ram.classifier.bias)
    return logits, torch.stack(locations, 1)
)JIT",
                     o.hidden(), o.glimpses(), core);
}

// The CNN baseline of models/glimpse.cpp, its convolutions as the modules have them.
std::string cnn_source(const ConvNetImpl& cnn) {
  return fmt::format(R"JIT(
def forward(self, images: Tensor) -> Tuple[Tensor, Tensor]:
    y = torch.max_pool2d(torch.relu({}), [2, 2])
    y = torch.max_pool2d(torch.relu({}), [2, 2])
    h = torch.relu(self.linear(y.flatten(1), self.cnn.hidden.weight, self.cnn.hidden.bias))
    logits = self.linear(h, self.cnn.out.weight, self.cnn.out.bias)
    return logits, torch.zeros([images.size(0), 0, 2], dtype=images.dtype, device=images.device)
)JIT",
                     conv2d_source(*cnn.conv1, "self.cnn.conv1", "images"),
                     conv2d_source(*cnn.conv2, "self.cnn.conv2", "y"));
}

const char* const kMlpSource = R"JIT(
def forward(self, images: Tensor) -> Tuple[Tensor, Tensor]:
    h = torch.relu(self.linear(images.flatten(1), self.mlp.fc1.weight, self.mlp.fc1.bias))
    h = torch.relu(self.linear(h, self.mlp.fc2.weight, self.mlp.fc2.bias))
    logits = self.linear(h, self.mlp.out.weight, self.mlp.out.bias)
    return logits, torch.zeros([images.size(0), 0, 2], dtype=images.dtype, device=images.device)
)JIT";

}  // namespace

torch::jit::Module export_glimpse(const GlimpseClassifier& classifier) {
  const auto& net = *classifier.model;
  auto module = mirror(net, "attnzoo_glimpse");
  module.define(kLinearSource);
  if (net.kind == "ram") {
    const auto& o = net.ram->options;
    module.define(sensor_source(o.patch(), o.scales(), o.zoom()));
    module.define(ram_source(o));
  } else {
    module.define(net.kind == "cnn" ? cnn_source(*net.cnn) : kMlpSource);
  }
  module.define(R"JIT(
def preprocess(self, pixels: Tensor) -> Tensor:
    return pixels.unsqueeze(1).to(dtype=6).div(255.0)
)JIT");
  module.register_attribute("image_side", c10::IntType::get(), classifier.image_size());
  module.register_attribute("image_grey", c10::BoolType::get(), true);
  module.register_attribute("image_crop", c10::BoolType::get(), false);
  c10::List<std::string> classes;
  for (const auto& name : fashion_mnist_classes()) classes.push_back(name);
  module.register_attribute("classes", c10::ListType::ofStrings(), classes);
  module.eval();
  return module;
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
  try {
    module.save(path, extra);
  } catch (const c10::Error& e) {
    throw UserError("{}: cannot write the exported model ({})", path, e.what_without_backtrace());
  }
}

}  // namespace attnzoo
