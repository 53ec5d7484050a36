// models/decoder.ts filled in for one decoder (its cells, depth, readout,
// and int8 layers where it was quantised), and the int8 weights' attributes.
#include <attnzoo/torchscript/models/decoder.h>
#include <fmt/format.h>

#include <algorithm>

#include "models/decoder.h"
#include "models/script.h"

namespace attnzoo {

namespace {

// The root attribute holding the packed int8 copy of `what` of the decoder at
// `path`: "self.decoder", "out" -> "int8_decoder_out".
std::string int8_attribute(const std::string& path, const std::string& what) {
  std::string name = path.rfind("self.", 0) == 0 ? path.substr(5) : path;
  std::replace(name.begin(), name.end(), '.', '_');
  return "int8_" + name + "_" + what;
}

}  // namespace

std::string decoder_source(const DecoderImpl& decoder, const std::string& path) {
  const auto& o = decoder.options;
  const bool lstm = o.rnn() == Cell::kLstm;
  const bool int8 = decoder.int8();
  const int64_t layers = o.num_layers();
  std::string cells;
  for (int64_t l = 0; l < layers; ++l) {
    const std::string cell = fmt::format("{}.cells._{}", path, l);
    const std::string weights =
        int8 ? fmt::format("self.{0}, self.{1}, {2}.bias_ih, {2}.bias_hh",
                           int8_attribute(path, fmt::format("cell{}_ih", l)),
                           int8_attribute(path, fmt::format("cell{}_hh", l)), cell)
             : fmt::format("{0}.weight_ih, {0}.weight_hh, {0}.bias_ih, {0}.bias_hh", cell);
    const std::string ops = int8 ? "quantized.quantized_" : "torch.";
    if (lstm) {
      cells += fmt::format("    h, c = {}lstm_cell{}(x, [state[{}], state[{}]], {})\n", ops,
                           int8 ? "_dynamic" : "", l, layers + l, weights);
      cells += "    hs.append(h)\n    cs.append(c)\n    x = h\n";
    } else {
      cells += fmt::format("    x = {}gru_cell{}(x, state[{}], {})\n    hs.append(x)\n", ops,
                           int8 ? "_dynamic" : "", l, weights);
    }
  }
  auto linear = [&](const std::string& layer, const std::string& x) {
    return int8 ? fmt::format("quantized.linear_dynamic({}, self.{}, True)", x,
                              int8_attribute(path, layer))
                : fmt::format("self.linear({0}, {1}.{2}.weight, {1}.{2}.bias)", x, path, layer);
  };
  const std::string readout =
      decoder.readout ? fmt::format(
                            "r = {}\n"
                            "    return r.view(r.size()[:-1] + [r.size(-1) // 2, 2]).max(-1)[0]",
                            linear("readout", "features"))
                      : "return features";
  const std::string project = "return " + linear("out", "self.output_input(features)");
  return fmt::format(fmt::runtime(torchscript::models_decoder), fmt::arg("d", path),
                     fmt::arg("layers", layers), fmt::arg("lstm", lstm ? "True" : "False"),
                     fmt::arg("top", layers - 1), fmt::arg("cells", cells),
                     fmt::arg("readout", readout), fmt::arg("project", project));
}

void register_int8_decoder(torch::jit::Module& root, const DecoderImpl& decoder,
                           const std::string& path) {
  if (!decoder.int8()) return;
  const auto type = Int8Linear::packed_type();
  // The mirrored module at `path`, and an empty stand-in for a weight int8 replaces.
  auto module = root;
  const std::string rel = path.rfind("self.", 0) == 0 ? path.substr(5) : path;
  size_t start = 0;
  while (start <= rel.size()) {
    const size_t dot = std::min(rel.find('.', start), rel.size());
    module = module.attr(rel.substr(start, dot - start)).toModule();
    start = dot + 1;
  }
  auto drop = [](torch::jit::Module m, const std::string& name) {
    m.register_parameter(name, torch::empty({0}), /*is_buffer=*/false);
  };
  root.register_attribute(int8_attribute(path, "out"), type, decoder.out_int8.packed());
  drop(module.attr("out").toModule(), "weight");
  drop(module.attr("out").toModule(), "bias");
  if (decoder.readout) {
    root.register_attribute(int8_attribute(path, "readout"), type, decoder.readout_int8.packed());
    drop(module.attr("readout").toModule(), "weight");
    drop(module.attr("readout").toModule(), "bias");
  }
  for (size_t l = 0; l < decoder.cells_int8.size(); ++l) {
    root.register_attribute(int8_attribute(path, fmt::format("cell{}_ih", l)), type,
                            decoder.cells_int8[l].ih.packed());
    root.register_attribute(int8_attribute(path, fmt::format("cell{}_hh", l)), type,
                            decoder.cells_int8[l].hh.packed());
    auto cell = module.attr("cells").toModule().attr(fmt::format("_{}", l)).toModule();
    drop(cell, "weight_ih");
    drop(cell, "weight_hh");
  }
}

}  // namespace attnzoo
