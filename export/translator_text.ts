# translate() and attention() on text, for word and character tokenizers
# (data/text.ts runs them).
def source_ids(self, text: str) -> Tuple[List[str], List[int]]:
    tokens = self.tokens_src(text)
    ids: List[int] = []
    for t in tokens:
        ids.append(self.src_ids.get(t, self.unk))
    ids.append(self.eos)
    return tokens, ids

def output_words(self, ids: List[int], weights: Tensor, source: List[str]) -> List[str]:
    # decode_tgt, and with replace_unk (translate export --replace-unk) each
    # <unk> the source token its attention row weighs most (not <eos>, the
    # last of `source`), or that token's phrase_table entry.
    words: List[str] = []
    sources = len(source) - 1
    for j in range(len(ids)):
        i = ids[j]
        if i == self.eos:
            break
        if i == self.pad or i == self.bos:
            continue
        if i == self.unk and self.replace_unk and sources > 0:
            word = source[int(weights[j].narrow(0, 0, sources).argmax())]
            if word in self.phrase_table:
                word = self.phrase_table[word]
            words.append(word)
        else:
            words.append(self.tgt_tokens[i])
    return words

def translate(self, text: str) -> str:
    tokens, ids = self.source_ids(text)
    out, weights = self.run_ids(ids)
    source = tokens[:weights.size(1) - 1] + [self.src_tokens[self.eos]]
    return self.text_tgt(self.output_words(out, weights, source))

def attention(self, text: str) -> Tuple[List[str], List[str], Tensor]:
    tokens, ids = self.source_ids(text)
    out, weights = self.run_ids(ids)
    target: List[str] = []
    for i in out:
        target.append(self.tgt_tokens[i])
    return tokens[:weights.size(1) - 1] + [self.src_tokens[self.eos]], target, weights

def translate_batch(self, texts: List[str], beam: int, n_best: int) -> List[List[Tuple[str, float, List[str], List[str], Tensor]]]:
    # The texts decoded as one padded batch (zoo-serve's request batching):
    # per text, up to n_best hypotheses, best first, each (translation,
    # score, source tokens, output tokens, attention (T,S)). beam < 1 takes
    # the checkpoint's; n_best 1 gives what translate() gives.
    if beam < 1:
        beam = self.default_beam
    sources: List[List[str]] = []
    rows: List[List[int]] = []
    longest = 1
    for text in texts:
        tokens, ids = self.source_ids(text)
        if len(ids) > self.max_source_tokens:
            ids = ids[:self.max_source_tokens - 1] + [self.eos]
        sources.append(tokens[:len(ids) - 1] + [self.src_tokens[self.eos]])
        rows.append(ids)
        longest = max(longest, len(ids))
    device = self.decoder.out.weight.device
    src = torch.full([len(rows), longest], self.pad, dtype=4, device=device)
    lengths: List[int] = []
    for b in range(len(rows)):
        src[b, :len(rows[b])] = torch.tensor(rows[b], dtype=4, device=device)
        lengths.append(len(rows[b]))
    src_lengths = torch.tensor(lengths, dtype=4)
    memory, state = self.encode(src, src_lengths)
    limits = self.limits(src_lengths, 0)
    out: List[List[Tuple[str, float, List[str], List[str], Tensor]]] = []
    tokens_all: List[List[List[int]]] = []
    scores_all: List[List[float]] = []
    weights_all: List[List[List[Tensor]]] = []
    if beam > 1:
        tokens_all, scores_all, weights_all = self.beam_hypotheses(memory, state, limits, beam, self.alpha, max(n_best, self.n_best))
    else:
        g_tokens, g_scores, g_weights = self.greedy_hypotheses(memory, state, limits)
        for b in range(len(rows)):
            tokens_all.append([g_tokens[b]])
            scores_all.append([g_scores[b]])
            weights_all.append([g_weights[b]])
    for b in range(len(rows)):
        order: List[int] = []
        taken: List[bool] = []
        for i in range(len(scores_all[b])):
            taken.append(False)
        # best first; the first of equal scores first, as beam() picks
        for r in range(min(max(1, n_best), len(scores_all[b]))):
            pick = -1
            for i in range(len(scores_all[b])):
                if not taken[i] and (pick < 0 or scores_all[b][i] > scores_all[b][pick]):
                    pick = i
            taken[pick] = True
            order.append(pick)
        hypotheses: List[Tuple[str, float, List[str], List[str], Tensor]] = []
        for i in order:
            ids = tokens_all[b][i]
            target: List[str] = []
            for t in ids:
                target.append(self.tgt_tokens[t])
            weights = torch.stack(weights_all[b][i]).narrow(1, 0, lengths[b])
            hypotheses.append((self.text_tgt(self.output_words(ids, weights, sources[b])), scores_all[b][i], sources[b], target, weights))
        out.append(hypotheses)
    return out
