# translate() and attention() for SentencePiece models: the pieces are made
# outside (the .spm models are saved beside the code); they take and give ids.
def translate(self, ids: List[int]) -> List[int]:
    out, weights = self.run_ids(ids + [self.eos])
    result: List[int] = []
    for i in out:
        if i == self.eos:
            break
        result.append(i)
    return result

def attention(self, ids: List[int]) -> Tuple[List[str], List[str], Tensor]:
    source = ids + [self.eos]
    out, weights = self.run_ids(source)
    source_tokens: List[str] = []
    for i in source:
        source_tokens.append(self.src_tokens[i])
    target: List[str] = []
    for i in out:
        target.append(self.tgt_tokens[i])
    return source_tokens, target, weights
