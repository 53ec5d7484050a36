// The glimpse classifiers' TorchScript: models/glimpse_ram.ts filled with
// RAM's options, models/glimpse_cnn.ts with the CNN's convolutions, the MLP
// as it is, and the Residual Attention Network's generated source.
#include <attnzoo/torchscript/models/glimpse_cnn.h>
#include <attnzoo/torchscript/models/glimpse_mlp.h>
#include <attnzoo/torchscript/models/glimpse_ram.h>
#include <attnzoo/torchscript/models/residual_attention.h>
#include <fmt/format.h>

#include "models/glimpse.h"
#include "models/script.h"

namespace attnzoo {
namespace {

std::string ram_source(const RamOptions& o) {
  const std::string core =
      o.core() == GlimpseCore::kLstm
          ? "h, c = torch.lstm_cell(g, [h, c], self.ram.core_lstm.weight_ih, "
            "self.ram.core_lstm.weight_hh, self.ram.core_lstm.bias_ih, self.ram.core_lstm.bias_hh)"
          : "h = torch.relu(self.linear(h, self.ram.core_h.weight, self.ram.core_h.bias) + "
            "self.linear(g, self.ram.core_g.weight, self.ram.core_g.bias))";
  return fmt::format(fmt::runtime(torchscript::models_glimpse_ram), fmt::arg("patch", o.patch()),
                     fmt::arg("scales", o.scales()), fmt::arg("zoom", o.zoom()),
                     fmt::arg("hidden", o.hidden()), fmt::arg("glimpses", o.glimpses()),
                     fmt::arg("core", core));
}

std::string cnn_source(const ConvNetImpl& cnn) {
  return fmt::format(fmt::runtime(torchscript::models_glimpse_cnn),
                     fmt::arg("conv1", conv2d_source(*cnn.conv1, "self.cnn.conv1", "images")),
                     fmt::arg("conv2", conv2d_source(*cnn.conv2, "self.cnn.conv2", "y")));
}

}  // namespace

std::vector<std::string> glimpse_sources(const GlimpseNetImpl& net) {
  if (net.residual)
    return {residual_attention_source(*net.residual, "self.residual"),
            torchscript::models_residual_attention};
  if (net.ram) return {ram_source(net.ram->options)};
  if (net.cnn) return {cnn_source(*net.cnn)};
  return {torchscript::models_glimpse_mlp};
}

}  // namespace attnzoo
