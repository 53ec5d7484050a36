# TorchScript port of Attention (models/attention.cpp), a template that
# models/attention_script.cpp fills in (attention_source): keys is the per-sequence key
# projection, scores the lines scoring the keys against the query, variant
# "none" or "scored", argmax whether hard attention takes the value at the
# largest weight (else the expectation).
def keys(self, values: Tensor) -> Tensor:
    return {keys}

def attend(self, query: Tensor, values: Tensor, keys: Tensor, mask: Tensor, summary: Tensor) -> Tuple[Tensor, Tensor]:
    return self.attend_{variant}(query, values, keys, mask, summary)

# No attention: the fixed context (the encoder's summary), and no weights.
def attend_none(self, query: Tensor, values: Tensor, keys: Tensor, mask: Tensor, summary: Tensor) -> Tuple[Tensor, Tensor]:
    return summary, torch.zeros(mask.size(), dtype=values.dtype, device=values.device)

# Scores -inf on padding before the softmax.
def attend_scored(self, query: Tensor, values: Tensor, keys: Tensor, mask: Tensor, summary: Tensor) -> Tuple[Tensor, Tensor]:
    {scores}
    weights = torch.softmax(scores.masked_fill(mask.logical_not(), float("-inf")), -1)
    if {argmax}:
        where = weights.argmax(1, keepdim=True)
        context = values.gather(1, where.unsqueeze(2).expand([-1, 1, values.size(2)])).squeeze(1)
    else:
        context = torch.bmm(weights.unsqueeze(1), values).squeeze(1)
    return context, weights
