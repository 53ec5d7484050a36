// models/encoder.ts filled in for one encoder: its layers and directions.
#include <attnzoo/torchscript/models/encoder.h>
#include <fmt/format.h>

#include "models/encoder.h"

namespace attnzoo {

std::string encoder_source(const EncoderImpl& encoder, const std::string& path) {
  const auto& o = encoder.options;
  const bool lstm = o.rnn() == Cell::kLstm;
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

}  // namespace attnzoo
