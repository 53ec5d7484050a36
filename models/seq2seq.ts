# TorchScript port of Seq2Seq (models/seq2seq.cpp) for the searches
# (models/search.ts): encode a padded batch of source ids into the memory and
# the decoder's first state, and step, the log-probabilities of the next token.
# Needs encoder.ts, attention.ts and decoder.ts, and the attributes pad and
# shared_memory. With a lexical shortlist (shared_memory 3; data/shortlist.h,
# Seq2SeqStepper), memory ends with the batch's candidate target ids and
# their rows of the vocabulary projection (fp32), which each step projects
# onto, every other word at -inf.
def encode(self, src: Tensor, src_lengths: Tensor) -> Tuple[List[Tensor], List[Tensor]]:
    values, summary = self.encode_steps(torch.embedding(self.encoder.embedding.weight, src, self.pad), src_lengths)
    memory = [values, self.keys(values), src.ne(self.pad), summary]
    if self.shared_memory > 0:
        keep = torch.zeros([self.shortlist_vocab], dtype=4, device=src.device)
        keep.index_fill_(0, self.shortlist_always, 1)
        ids = src.flatten().clamp(0, self.shortlist_table.size(0) - 1)
        keep.index_fill_(0, self.shortlist_table.index_select(0, ids).flatten(), 1)
        candidates = keep.nonzero().squeeze(1)
        memory = memory + [candidates, self.shortlist_weight.index_select(0, candidates), self.shortlist_bias.index_select(0, candidates)]
    return memory, self.initial_state(summary)

def step(self, tokens: Tensor, memory: List[Tensor], state: List[Tensor]) -> Tuple[Tensor, Tensor, List[Tensor]]:
    features, weights, state = self.decode_step(torch.embedding(self.decoder.embedding.weight, tokens, self.pad), memory, state)
    if self.shared_memory == 0:
        return torch.log_softmax(self.project(features), -1), weights, state
    lp = torch.log_softmax(torch.addmm(memory[6], self.output_input(features), memory[5].t()), -1)
    full = torch.full([lp.size(0), self.shortlist_vocab], float("-inf"), dtype=lp.dtype, device=lp.device)
    return full.index_copy(1, memory[4], lp), weights, state
