# TorchScript port of Encoder (models/encoder.cpp) over embedded steps, a
# template that models/encoder_script.cpp fills in (encoder_source): hidden is the
# hidden size per direction, layers the lines that run each direction of each
# layer (a one-layer aten RNN, the call torch::nn::GRU and LSTM make; the
# backward one over each row reversed within its length), summary the lines
# that take the final states.
def reverse(self, x: Tensor, index: Tensor) -> Tensor:
    return x.gather(1, index.expand([x.size(0), x.size(1), x.size(2)]))

def encode_steps(self, x: Tensor, src_lengths: Tensor) -> Tuple[Tensor, Tensor]:
    batch = x.size(0)
    steps = x.size(1)
    lengths = src_lengths.to(device=x.device, dtype=4)
    valid = (torch.arange(steps, dtype=4, device=x.device).unsqueeze(0) < lengths.unsqueeze(1)).unsqueeze(2)
    positions = torch.arange(steps, dtype=4, device=x.device).unsqueeze(0)
    reverse = torch.where(positions < lengths.unsqueeze(1), lengths.unsqueeze(1) - 1 - positions, positions).unsqueeze(2)
    h0 = torch.zeros([1, batch, {hidden}], dtype=x.dtype, device=x.device)
    forward_out = h0
    backward_out = h0
{layers}    summary = forward_out.gather(1, (lengths - 1).view([batch, 1, 1]).expand([batch, 1, forward_out.size(2)])).squeeze(1)
    if {bidirectional}:
        summary = torch.cat([summary, backward_out.select(1, 0)], 1)
    return x * valid, summary
