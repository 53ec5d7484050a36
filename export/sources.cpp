#include "export/sources.h"

#include <attnzoo/torchscript/data/text.h>
#include <attnzoo/torchscript/data/tokenizer.h>
#include <attnzoo/torchscript/data/vocab.h>
#include <attnzoo/torchscript/export/helpers.h>
#include <attnzoo/torchscript/models/attention.h>
#include <attnzoo/torchscript/models/captioner.h>
#include <attnzoo/torchscript/models/decoder.h>
#include <attnzoo/torchscript/models/encoder.h>
#include <attnzoo/torchscript/models/search.h>

#include <fmt/format.h>
#include <torch/csrc/jit/frontend/resolver.h>
#include <torch/csrc/jit/frontend/sugared_value.h>

#include "data/error.h"
#include "data/tokenizer.h"
#include "data/vocab.h"
#include "models/attention.h"
#include "models/captioner.h"
#include "models/decoder.h"
#include "models/encoder.h"
#include "models/quantize.h"
#include "models/residual_attention.h"
#include "models/resnet.h"

namespace attnzoo {

// export/helpers.ts.
const char* const kLinearSource = torchscript::export_helpers;

// models/search.ts, the port of models/search.cpp.
const char* const kSearchSource = torchscript::models_search;

std::string attention_source(const AttentionImpl& attention, const std::string& p) {
  const std::string& kind = attention.options.kind();
  const std::string keys = attention.key_proj
                               ? fmt::format("self.linear(values, {}.key_proj.weight, None)", p)
                               : std::string("values");
  // additive and hard: v' tanh(W_q q + W_k k); dot and general: q' k over the keys.
  const std::string scores =
      kind == "additive" || kind == "hard"
          ? fmt::format(
                "q = self.linear(query, {0}.query_proj.weight, {0}.query_proj.bias).unsqueeze(1)\n"
                "    scores = self.linear(torch.tanh(keys + q), {0}.energy.weight, "
                "None).squeeze(2)",
                p)
          : "scores = torch.bmm(keys, query.unsqueeze(2)).squeeze(2)";
  const bool argmax = kind == "hard" && attention.options.hard_eval() == "argmax";
  return fmt::format(fmt::runtime(torchscript::models_attention), fmt::arg("keys", keys),
                     fmt::arg("variant", kind == "none" ? "none" : "scored"),
                     fmt::arg("scores", scores), fmt::arg("argmax", argmax ? "True" : "False"));
}

std::string encoder_source(const EncoderImpl& encoder, const std::string& path) {
  const auto& o = encoder.options;
  const bool lstm = o.rnn() == "lstm";
  std::string layers;
  auto line = [&](const std::string& s) { layers += "    " + s + "\n"; };
  for (int64_t layer = 0; layer < o.num_layers(); ++layer) {
    for (int direction = 0; direction < (o.bidirectional() ? 2 : 1); ++direction) {
      const std::string name =
          fmt::format("{}.rnn_l{}{}", path, layer, direction == 1 ? "_reverse" : "");
      const std::string params =
          fmt::format("[{0}.weight_ih_l0, {0}.weight_hh_l0, {0}.bias_ih_l0, {0}.bias_hh_l0]", name);
      const std::string input = direction == 1 ? "self.reverse(x, reverse)" : "x";
      const std::string call =
          lstm ? fmt::format("torch.lstm({}, [h0, h0], {}, True, 1, 0.0, False, False, True)[0]",
                             input, params)
               : fmt::format("torch.gru({}, h0, {}, True, 1, 0.0, False, False, True)[0]", input,
                             params);
      line(direction == 0 ? "forward_out = " + call
                          : "backward_out = self.reverse(" + call + ", reverse)");
    }
    line(o.bidirectional() ? "x = torch.cat([forward_out, backward_out], 2)" : "x = forward_out");
  }
  return fmt::format(fmt::runtime(torchscript::models_encoder), fmt::arg("hidden", o.hidden_size()),
                     fmt::arg("layers", layers),
                     fmt::arg("bidirectional", o.bidirectional() ? "True" : "False"));
}

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
  const bool lstm = o.rnn() == "lstm";
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

torch::jit::ResolverPtr export_resolver() {
  struct Resolver : torch::jit::Resolver {
    std::shared_ptr<torch::jit::SugaredValue> resolveValue(
        const std::string& name, torch::jit::GraphFunction&,
        const torch::jit::SourceRange&) override {
      if (name == "torch") return std::make_shared<torch::jit::BuiltinModule>("aten");
      if (name == "quantized") return std::make_shared<torch::jit::BuiltinModule>("quantized");
      return nullptr;
    }
    c10::TypePtr resolveType(const std::string&, const torch::jit::SourceRange&) override {
      return nullptr;
    }
  };
  static const auto resolver = std::make_shared<Resolver>();
  return resolver;
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

std::string caption_decoder_source(const CaptionDecoderImpl& decoder, const std::string& path) {
  const std::string gate =
      decoder.gate
          ? fmt::format("torch.sigmoid(self.linear(state[0], {}.gate.weight, {}.gate.bias))", path,
                        path)
          : "torch.ones([state[0].size(0), 1], dtype=state[0].dtype, device=state[0].device)";
  return fmt::format(fmt::runtime(torchscript::models_captioner), fmt::arg("d", path),
                     fmt::arg("gate", gate),
                     fmt::arg("output", decoder.mixture() ? "mixture" : "context"));
}

// data/text.ts, the port of data/utf8.cpp and the word and character tokenizers.
const char* const kTextSource = torchscript::data_text;

std::string tokenizer_source(const TokenizerOptions& options, const std::string& name) {
  if (options.kind != "word" && options.kind != "char")
    throw UserError("a {} tokenizer cannot run inside TorchScript", options.kind);
  return fmt::format(fmt::runtime(torchscript::data_tokenizer), fmt::arg("name", name),
                     fmt::arg("kind", options.kind),
                     fmt::arg("lowercase", options.lowercase ? "True" : "False"));
}

void register_vocab(torch::jit::Module& module, const Vocab& vocab, const std::string& name) {
  c10::Dict<std::string, int64_t> ids;
  c10::List<std::string> tokens;
  for (int64_t i = 0; i < vocab.size(); ++i) {
    ids.insert(vocab.token(i), i);
    tokens.push_back(vocab.token(i));
  }
  module.register_attribute(
      name + "_ids", c10::DictType::create(c10::StringType::get(), c10::IntType::get()), ids);
  module.register_attribute(name + "_tokens", c10::ListType::ofStrings(), tokens);
}

std::string vocab_decode_source(const std::string& name) {
  return fmt::format(fmt::runtime(torchscript::data_vocab), fmt::arg("name", name));
}

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

namespace {

// A BatchNorm2d (eval) at a mirrored path.
std::string bn_source(const torch::nn::BatchNorm2dImpl& bn, const std::string& path,
                      const std::string& x) {
  return fmt::format(
      "torch.batch_norm({0}, {1}.weight, {1}.bias, {1}.running_mean, {1}.running_var, False, "
      "0.0, {2:.17g}, False)",
      x, path, bn.options.eps());
}

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

namespace {

// Straight-line TorchScript of the Residual Attention Network, a line at a time.
class ResidualAttentionWriter {
 public:
  std::string body;

  void line(const std::string& s) { body += "    " + s + "\n"; }

  // x = unit(x), the unit mirrored at `path`.
  void unit(const PreActUnitImpl& u, const std::string& path, const std::string& x) {
    line("a = torch.relu(" + bn_source(*u.bn1, path + ".bn1", x) + ")");
    line("y = " + conv2d_source(*u.conv1, path + ".conv1", "a"));
    line("y = " + conv2d_source(*u.conv2, path + ".conv2",
                                "torch.relu(" + bn_source(*u.bn2, path + ".bn2", "y") + ")"));
    line("y = " + conv2d_source(*u.conv3, path + ".conv3",
                                "torch.relu(" + bn_source(*u.bn3, path + ".bn3", "y") + ")"));
    line(x + " = y + " + (u.project ? conv2d_source(*u.project, path + ".project", "a") : x));
  }

  void units(const torch::nn::Sequential& s, const std::string& path, const std::string& x) {
    for (size_t i = 0; i < s->size(); ++i)
      unit(*s->ptr(i)->as<PreActUnitImpl>(), path + "._" + std::to_string(i), x);
  }

  // The module mirrored at `path`, from x to x; its mask, where it has one, into masks.
  void module(const AttentionModuleImpl& m, const std::string& path) {
    const auto& o = m.options;
    units(m.before, path + ".before", "x");
    line("t = x");
    units(m.trunk, path + ".trunk", "t");
    if (o.attention() != "none") {
      const int64_t levels = o.downsamples();
      for (int64_t level = 0; level < levels; ++level) {
        const std::string n = std::to_string(level);
        line("m = torch.max_pool2d(" + std::string(level == 0 ? "x" : "m") +
             ", [3, 3], [2, 2], [1, 1])");
        units(m.down[level], path + ".down" + n, "m");
        if (level + 1 < levels) {
          line("m" + std::to_string(level + 1) + " = m");
          line("s" + n + " = m");
          unit(*m.skip[level], path + ".skip" + n, "s" + n);
        }
      }
      units(m.deepest, path + ".deepest", "m");
      for (int64_t level = levels - 2; level >= 0; --level) {
        const std::string n = std::to_string(level), to = "m" + std::to_string(level + 1);
        line(
            fmt::format("m = torch.upsample_bilinear2d(m, [{0}.size(2), {0}.size(3)], False, "
                        "None, None) + s{1}",
                        to, n));
        units(m.up[level], path + ".up" + n, "m");
      }
      line("m = torch.upsample_bilinear2d(m, [x.size(2), x.size(3)], False, None, None)");
      const auto& head = m.head;
      line("m = " + conv2d_source(*head->ptr(2)->as<torch::nn::Conv2dImpl>(), path + ".head._2",
                                  "torch.relu(" +
                                      bn_source(*head->ptr(0)->as<torch::nn::BatchNorm2dImpl>(),
                                                path + ".head._0", "m") +
                                      ")"));
      line("m = " + conv2d_source(*head->ptr(5)->as<torch::nn::Conv2dImpl>(), path + ".head._5",
                                  "torch.relu(" +
                                      bn_source(*head->ptr(3)->as<torch::nn::BatchNorm2dImpl>(),
                                                path + ".head._3", "m") +
                                      ")"));
      if (o.mask() == "channel") {
        line("m = m / torch.clamp_min(torch.norm(m, 2.0, [1], True), 1e-12)");
      } else if (o.mask() == "spatial") {
        line("f = m.flatten(2)");
        line("f = (f - f.mean([2], True)) / (torch.std(f, [2], False, True) + 1e-05)");
        line("m = torch.sigmoid(f).view_as(m)");
      } else {
        line("m = torch.sigmoid(m)");
      }
      line("masks.append(m)");
      line(o.attention() == "arl" ? "t = (1 + m) * t" : "t = m * t");
    }
    line("x = t");
    units(m.after, path + ".after", "x");
  }
};

}  // namespace

std::string residual_attention_source(const ResidualAttentionNetImpl& net,
                                      const std::string& path) {
  ResidualAttentionWriter w;
  w.line("masks: List[Tensor] = []");
  w.line("x = " + conv2d_source(*net.stem, path + ".stem", "images"));
  size_t block = 0;
  for (size_t s = 0; s < net.transitions->size(); ++s) {
    w.unit(*net.transitions->ptr(s)->as<PreActUnitImpl>(),
           path + ".transitions._" + std::to_string(s), "x");
    for (;
         block < net.stage_of_block.size() && net.stage_of_block[block] == static_cast<int64_t>(s);
         ++block)
      w.module(*net.blocks->ptr(block)->as<AttentionModuleImpl>(),
               path + ".blocks._" + std::to_string(block));
  }
  w.line("x = torch.relu(" + bn_source(*net.final_bn, path + ".final_bn", "x") + ")");
  w.line("logits = self.linear(x.mean([2, 3]), " + path + ".classifier.weight, " + path +
         ".classifier.bias)");
  return "\ndef residual_attention(self, images: Tensor) -> Tuple[Tensor, List[Tensor]]:\n" +
         w.body + "    return logits, masks\n";
}

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
