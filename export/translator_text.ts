# translate() and attention() on text, for word and character tokenizers
# (data/text.ts runs them).
def source_ids(self, text: str) -> Tuple[List[str], List[int]]:
    tokens = self.tokens_src(text)
    ids: List[int] = []
    for t in tokens:
        ids.append(self.src_ids.get(t, self.unk))
    ids.append(self.eos)
    return tokens, ids

def translate(self, text: str) -> str:
    tokens, ids = self.source_ids(text)
    out, weights = self.run_ids(ids)
    return self.text_tgt(self.decode_tgt(out))

def attention(self, text: str) -> Tuple[List[str], List[str], Tensor]:
    tokens, ids = self.source_ids(text)
    out, weights = self.run_ids(ids)
    target: List[str] = []
    for i in out:
        target.append(self.tgt_tokens[i])
    return tokens[:weights.size(1) - 1] + [self.src_tokens[self.eos]], target, weights
