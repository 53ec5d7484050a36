# Vocab::decode (data/vocab.cpp) for one side, a template that
# export/sources.cpp fills in (vocab_decode_source): name is the side, whose
# tokens are the attribute name_tokens; ids stop at eos and skip pad and bos.
def decode_{name}(self, ids: List[int]) -> List[str]:
    tokens: List[str] = []
    for i in ids:
        if i == self.eos:
            break
        if i != self.pad and i != self.bos:
            tokens.append(self.{name}_tokens[i])
    return tokens
