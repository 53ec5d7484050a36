# TorchScript port of CaptionDecoder (models/captioner.cpp), a template that
# models/captioner_script.cpp fills in (caption_decoder_source): d is the path the
# decoder is mirrored under, gate the gate's expression (the sigmoid of its
# layer, or ones without it), output "context" (eq. 7) or "mixture" (the word
# mixed over every location's own output). The module provides attend and keys
# (models/attention, attention_source) and linear.
def caption_start(self, values: Tensor) -> Tuple[List[Tensor], List[Tensor]]:
    mask = torch.ones([values.size(0), values.size(1)], dtype=11, device=values.device)
    summary = values.mean(1)
    h = torch.tanh(self.linear(summary, {d}.init_h.weight, {d}.init_h.bias))
    c = torch.tanh(self.linear(summary, {d}.init_c.weight, {d}.init_c.bias))
    return [values, self.keys(values), mask, summary], [h, c]

def step(self, tokens: Tensor, memory: List[Tensor], state: List[Tensor]) -> Tuple[Tensor, Tensor, List[Tensor]]:
    e = torch.embedding({d}.embedding.weight, tokens, self.pad)
    context, weights = self.attend(state[0], memory[0], memory[1], memory[2], memory[3])
    gate = {gate}
    z = gate * context
    cell = {d}.cell
    h, c = torch.lstm_cell(torch.cat([e, z], 1), [state[0], state[1]], cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)
    return self.output_{output}(e, h, z, gate, weights, memory[0]), weights, [h, c]

def output_context(self, e: Tensor, h: Tensor, z: Tensor, gate: Tensor, weights: Tensor, values: Tensor) -> Tensor:
    features = e + self.linear(h, {d}.out_h.weight, {d}.out_h.bias) + self.linear(z, {d}.out_z.weight, None)
    return torch.log_softmax(self.linear(features, {d}.out.weight, {d}.out.bias), -1)

def output_mixture(self, e: Tensor, h: Tensor, z: Tensor, gate: Tensor, weights: Tensor, values: Tensor) -> Tensor:
    features = e + self.linear(h, {d}.out_h.weight, {d}.out_h.bias)
    located = self.linear(self.linear(values, {d}.out_z.weight, None), {d}.out.weight, None)
    logits = self.linear(features, {d}.out.weight, {d}.out.bias).unsqueeze(1) + gate.unsqueeze(1) * located
    log_p = torch.log_softmax(logits, -1) + weights.clamp_min(1e-30).log().unsqueeze(2)
    return torch.logsumexp(log_p, 1)
