// The Residual Attention Network's TorchScript, straight-line code
// generated from its module tree.
#include <fmt/format.h>

#include "models/residual_attention.h"
#include "models/script.h"

namespace attnzoo {

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
    if (o.attention() != MaskLearning::kNone) {
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
      if (o.mask() == MaskKind::kChannel) {
        line("m = m / torch.clamp_min(torch.norm(m, 2.0, [1], True), 1e-12)");
      } else if (o.mask() == MaskKind::kSpatial) {
        line("f = m.flatten(2)");
        line("f = (f - f.mean([2], True)) / (torch.std(f, [2], False, True) + 1e-05)");
        line("m = torch.sigmoid(f).view_as(m)");
      } else {
        line("m = torch.sigmoid(m)");
      }
      line("masks.append(m)");
      line(o.attention() == MaskLearning::kResidual ? "t = (1 + m) * t" : "t = m * t");
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

}  // namespace attnzoo
