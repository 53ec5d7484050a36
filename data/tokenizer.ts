# The tokenizer of one side (data/tokenizer.cpp), a template that
# export/sources.cpp fills in (tokenizer_source): name is the side ("src",
# "tgt", "caption"), kind "word" or "char" (the functions of data/text.ts),
# lowercase True or False.
def tokens_{name}(self, text: str) -> List[str]:
    return self.{kind}_tokens(text, {lowercase})

def text_{name}(self, tokens: List[str]) -> str:
    return self.{kind}_text(tokens)
