# TorchScript port of Decoder (models/decoder.cpp), a template that
# models/decoder_script.cpp fills in (decoder_source): d is the path the decoder is
# mirrored under, layers its depth, lstm whether its cells are LSTMs, top the
# index of the top layer's state, cells the lines that run each layer's cell,
# readout what the output layer reads (the features, or their maxout
# readout), project the output layer; cells and layers in int8 where the
# decoder was quantised (torch.ops.quantized). The state is
# h per layer, then c per layer (LSTM); memory is values, keys, mask, summary.
def initial_state(self, summary: Tensor) -> List[Tensor]:
    h0 = torch.tanh(self.linear(summary, {d}.bridge.weight, {d}.bridge.bias)).chunk({layers}, 1)
    state: List[Tensor] = []
    for h in h0:
        state.append(h.contiguous())
    if {lstm}:
        for h in h0:
            state.append(torch.zeros_like(h))
    return state

def decode_step(self, e: Tensor, memory: List[Tensor], state: List[Tensor]) -> Tuple[Tensor, Tensor, List[Tensor]]:
    context, weights = self.attend(state[{top}], memory[0], memory[1], memory[2], memory[3])
    x = torch.cat([e, context], 1)
    hs: List[Tensor] = []
    cs: List[Tensor] = []
{cells}    return torch.cat([x, context, e], 1), weights, hs + cs

def output_input(self, features: Tensor) -> Tensor:
    {readout}

def project(self, features: Tensor) -> Tensor:
    {project}
