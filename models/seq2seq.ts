# TorchScript port of Seq2Seq (models/seq2seq.cpp) for the searches
# (models/search.ts): encode a padded batch of source ids into the memory and
# the decoder's first state, and step, the log-probabilities of the next token.
# Needs encoder.ts, attention.ts and decoder.ts, and the attribute pad.
def encode(self, src: Tensor, src_lengths: Tensor) -> Tuple[List[Tensor], List[Tensor]]:
    values, summary = self.encode_steps(torch.embedding(self.encoder.embedding.weight, src, self.pad), src_lengths)
    memory = [values, self.keys(values), src.ne(self.pad), summary]
    return memory, self.initial_state(summary)

def step(self, tokens: Tensor, memory: List[Tensor], state: List[Tensor]) -> Tuple[Tensor, Tensor, List[Tensor]]:
    features, weights, state = self.decode_step(torch.embedding(self.decoder.embedding.weight, tokens, self.pad), memory, state)
    return torch.log_softmax(self.project(features), -1), weights, state
