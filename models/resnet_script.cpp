// The ResNet trunk's TorchScript, generated from its module tree.
#include <fmt/format.h>

#include "models/resnet.h"
#include "models/script.h"

namespace attnzoo {

namespace {

// One convolution and its BatchNorm (eval), at mirrored paths.
std::string conv_bn(const torch::nn::Module& conv_module, const torch::nn::Module& bn_module,
                    const std::string& conv, const std::string& bn, const std::string& x) {
  const auto* c = dynamic_cast<const torch::nn::Conv2dImpl*>(&conv_module);
  const auto* b = dynamic_cast<const torch::nn::BatchNorm2dImpl*>(&bn_module);
  if (c == nullptr || b == nullptr)
    throw std::logic_error("resnet export: unexpected module " + conv + " / " + bn);
  return bn_source(*b, bn, conv2d_source(*c, conv, x));
}

}  // namespace

std::string resnet_source(const ResNetImpl& resnet, const std::string& path) {
  std::string body;
  auto line = [&](const std::string& s) { body += "    " + s + "\n"; };
  line("x = torch.relu(" +
       conv_bn(*resnet.conv1, *resnet.bn1, path + ".conv1", path + ".bn1", "images") + ")");
  line("x = torch.max_pool2d(x, [3, 3], [2, 2], [1, 1])");
  for (const auto& stage : resnet.named_children()) {
    if (stage.key().rfind("layer", 0) != 0) continue;
    for (const auto& block : stage.value()->named_children()) {
      const std::string at = path + "." + stage.key() + "._" + block.key();
      const auto children = block.value()->named_children();
      std::shared_ptr<torch::nn::Module> downsample;
      int64_t convs = 0;
      for (const auto& child : children) {
        if (child.key() == "downsample") downsample = child.value();
        if (child.key().rfind("conv", 0) == 0) ++convs;
      }
      std::string y = "x";
      for (int64_t i = 1; i <= convs; ++i) {
        const std::string n = std::to_string(i);
        const auto expr = conv_bn(*children["conv" + n], *children["bn" + n], at + ".conv" + n,
                                  at + ".bn" + n, y);
        line("y = " + (i < convs ? "torch.relu(" + expr + ")" : expr));
        y = "y";
      }
      if (downsample) {
        const auto parts = downsample->named_children();
        line("x = torch.relu(y + " +
             conv_bn(*parts["0"], *parts["1"], at + ".downsample._0", at + ".downsample._1", "x") +
             ")");
      } else {
        line("x = torch.relu(y + x)");
      }
    }
  }
  if (resnet.options.grid() > 0)
    line(fmt::format("x = torch.adaptive_avg_pool2d(x, [{0}, {0}])", resnet.options.grid()));
  return "\ndef resnet_map(self, images: Tensor) -> Tensor:\n" + body +
         "    return x\n\n"
         "def resnet(self, images: Tensor) -> Tensor:\n"
         "    return self.resnet_map(images).flatten(2).transpose(1, 2).contiguous()\n";
}

}  // namespace attnzoo
