# TorchScript port of data/utf8.cpp's code point helpers, over the bytes
# TorchScript strings are, and of data/tokenizer.cpp's word and character
# tokenizers; compiled into exported translators and captioners
# (export/sources.h, kTextSource). Needs the str attributes joiner and
# space_symbol.
def code_points(self, text: str) -> List[int]:
    points: List[int] = []
    pending = 0
    value = 0
    for ch in text:
        byte = ord(ch)
        if pending > 0 and byte >= 128 and byte < 192:
            value = (value << 6) | (byte & 63)
            pending -= 1
            if pending == 0:
                points.append(value)
        elif pending > 0:
            assert False, "the text is not valid UTF-8"
        elif byte < 128:
            points.append(byte)
        elif byte >= 240:
            value = byte & 7
            pending = 3
        elif byte >= 224:
            value = byte & 15
            pending = 2
        elif byte >= 192:
            value = byte & 31
            pending = 1
        else:
            assert False, "the text is not valid UTF-8"
    if pending > 0:
        assert False, "the text is not valid UTF-8"
    return points

def utf8_char(self, c: int) -> str:
    if c < 128:
        return chr(c)
    if c < 2048:
        return chr(192 | (c >> 6)) + chr(128 | (c & 63))
    if c < 65536:
        return chr(224 | (c >> 12)) + chr(128 | ((c >> 6) & 63)) + chr(128 | (c & 63))
    return chr(240 | (c >> 18)) + chr(128 | ((c >> 12) & 63)) + chr(128 | ((c >> 6) & 63)) + chr(128 | (c & 63))

def lower(self, c: int) -> int:
    if c >= 65 and c <= 90:
        return c + 32
    if c < 128:
        return c
    if c >= 192 and c <= 222 and c != 215:
        return c + 32
    if c >= 256 and c <= 311:
        return c | 1
    if c >= 313 and c <= 328:
        return c + 1 if (c & 1) == 1 else c
    if c >= 330 and c <= 375:
        return c | 1
    if c == 376:
        return 255
    if c >= 377 and c <= 382:
        return c + 1 if (c & 1) == 1 else c
    if c >= 913 and c <= 939 and c != 930:
        return c + 32
    if c >= 1040 and c <= 1071:
        return c + 32
    if c >= 1024 and c <= 1039:
        return c + 80
    return c

def is_space(self, c: int) -> bool:
    return c == 32 or (c >= 9 and c <= 13) or c == 160 or c == 12288 or (c >= 8192 and c <= 8202)

def is_punct(self, c: int) -> bool:
    if c < 128:
        return (c >= 33 and c <= 47) or (c >= 58 and c <= 64) or (c >= 91 and c <= 96) or (c >= 123 and c <= 126)
    if c >= 161 and c <= 191:
        return True
    if c == 215 or c == 247:
        return True
    if c >= 8208 and c <= 8286:
        return True
    return c >= 12289 and c <= 12291

def word_tokens(self, text: str, lowercase: bool) -> List[str]:
    s = self.code_points(text)
    if lowercase:
        s = [self.lower(c) for c in s]
    n = len(s)
    tokens: List[str] = []
    word: List[str] = []
    for i in range(n):
        c = s[i]
        if self.is_space(c):
            if len(word) > 0:
                tokens.append("".join(word))
                word.clear()
            continue
        if not self.is_punct(c):
            word.append(self.utf8_char(c))
            continue
        glued_left = len(word) > 0 or (i > 0 and not self.is_space(s[i - 1]))
        if len(word) > 0:
            tokens.append("".join(word))
            word.clear()
        glued_right = i + 1 < n and not self.is_space(s[i + 1])
        token = self.utf8_char(c)
        if glued_left:
            token = self.joiner + token
        if glued_right:
            token = token + self.joiner
        tokens.append(token)
    if len(word) > 0:
        tokens.append("".join(word))
    return tokens

def word_text(self, tokens: List[str]) -> str:
    joiner = self.joiner
    size = len(joiner)
    parts: List[str] = []
    glue_next = True
    for token in tokens:
        piece = token
        glue_this = glue_next
        if piece.startswith(joiner):
            glue_this = True
            piece = piece[size:]
        glue_next = False
        if len(piece) >= size and piece.endswith(joiner):
            glue_next = True
            piece = piece[:len(piece) - size]
        if not glue_this:
            parts.append(" ")
        parts.append(piece)
    return "".join(parts)

def char_tokens(self, text: str, lowercase: bool) -> List[str]:
    tokens: List[str] = []
    for c in self.code_points(text):
        if lowercase:
            c = self.lower(c)
        tokens.append(self.space_symbol if self.is_space(c) else self.utf8_char(c))
    return tokens

def char_text(self, tokens: List[str]) -> str:
    parts: List[str] = []
    for t in tokens:
        parts.append(" " if t == self.space_symbol else t)
    return "".join(parts)
