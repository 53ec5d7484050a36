// models/captioner.ts filled in for one Show-Attend-Tell decoder: its gate
// and its output.
#include <attnzoo/torchscript/models/captioner.h>
#include <fmt/format.h>

#include "models/captioner.h"

namespace attnzoo {

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

}  // namespace attnzoo
