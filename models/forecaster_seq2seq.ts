# The attention model of models/forecaster.cpp over the normalised window x
# (B,L,F): the encoder over projected steps (with calendar features when timed
# is True), then the decoder once per horizon step, fed input (the horizon
# step's embedding when direct is True, else its own previous forecast), with
# additive attention over the window. Needs encode_steps, keys, attend,
# initial_state, decode_step and project (encoder.ts, attention.ts, decoder.ts).
def forecast_seq2seq(self, x: Tensor, times: Tensor) -> Tuple[Tensor, Tensor]:
    batch = x.size(0)
    steps = self.input_len
    target = self.target
    inputs = torch.cat([x, times.slice(1, 0, steps)], 2) if {timed} else x
    values, summary = self.encode_steps(self.linear(inputs, self.input_proj.weight, self.input_proj.bias),
                                        torch.full([batch], steps, dtype=4))
    memory = [values, self.keys(values), torch.ones([batch, steps], dtype=11, device=x.device), summary]
    state = self.initial_state(summary)
    previous = x.select(1, steps - 1).select(1, target)
    features: List[Tensor] = []
    outputs: List[Tensor] = []
    weights: List[Tensor] = []
    for h in range(self.horizon):
        u = {input}
        f, w, state = self.decode_step(u, memory, state)
        weights.append(w)
        if {direct}:
            features.append(f)
        else:
            previous = self.project(f).squeeze(1)
            outputs.append(previous)
    if {direct}:
        forecast = self.project(torch.stack(features, 1)).squeeze(2)
    else:
        forecast = torch.stack(outputs, 1)
    return forecast, torch.stack(weights, 1)
