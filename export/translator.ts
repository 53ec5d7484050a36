# The exported translator's methods (export_translator in export/export.h):
# forward (greedy), beam_search with the checkpoint's length limits
# (decode.max_len_ratio and max_len_offset), and run_ids.
def limits(self, src_lengths: Tensor, max_len: int) -> List[int]:
    lengths: List[int] = src_lengths.to(device=torch.device("cpu"), dtype=4).tolist()
    out: List[int] = []
    for n in lengths:
        limit = max(1, int(self.max_len_ratio * float(n)) + self.max_len_offset)
        if max_len > 0:
            limit = min(limit, max_len)
        out.append(limit)
    return out

def forward(self, src: Tensor, src_lengths: Tensor) -> Tuple[Tensor, Tensor]:
    memory, state = self.encode(src, src_lengths)
    ids, scores, weights = self.greedy(memory, state, self.limits(src_lengths, 0))
    return ids, weights

def beam_search(self, src: Tensor, src_lengths: Tensor, beam: int, max_len: int) -> Tuple[Tensor, Tensor, Tensor]:
    memory, state = self.encode(src, src_lengths)
    limits = self.limits(src_lengths, max_len)
    if beam > 1:
        return self.beam(memory, state, limits, beam, self.alpha)
    return self.greedy(memory, state, limits)

def run_ids(self, ids: List[int]) -> Tuple[List[int], Tensor]:
    # a longer source is cut to decode.max_source_tokens, as the app does
    if len(ids) > self.max_source_tokens:
        ids = ids[:self.max_source_tokens - 1] + [self.eos]
    device = self.decoder.out.weight.device
    src = torch.tensor([ids], dtype=4, device=device)
    lengths = torch.tensor([len(ids)], dtype=4)
    out, scores, weights = self.beam_search(src, lengths, self.default_beam, 0)
    out_ids: List[int] = out[0].tolist()
    return out_ids, weights[0]
