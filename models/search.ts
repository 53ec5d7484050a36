# TorchScript port of models/search.cpp (greedy and beam search), compiled
# into every exported sequence model (models/script.h, kSearchSource). The
# module provides step(tokens, memory, state) and the attributes pad, bos,
# eos, n_best, alpha, coverage_penalty and shared_memory (how many of
# memory's last entries belong to the whole batch, not to a row: a
# translator's shortlist). Finished rows leave the batch (greedy); beam keeps
# `beam` rows per live sentence, dead ones padded with -inf.
# greedy_hypotheses and beam_hypotheses give each sentence's hypotheses as
# lists (beam: every finished one, unsorted); greedy and beam pack the best.
def length_penalty(self, length: int, alpha: float) -> float:
    if alpha == 0.0:
        return 1.0
    return ((5.0 + float(length)) / 6.0) ** alpha

def coverage(self, attention: List[Tensor]) -> float:
    # SearchOptions::coverage_penalty (models/search.h)
    if self.coverage_penalty == 0.0 or len(attention) == 0:
        return 0.0
    total = torch.stack(attention).double().sum(0)
    attended = total.masked_select(total > 0)
    return self.coverage_penalty * float(attended.clamp_max(1.0).log().sum())

def select_rows(self, tensors: List[Tensor], rows: Tensor) -> List[Tensor]:
    out: List[Tensor] = []
    for t in tensors:
        out.append(t.index_select(0, rows))
    return out

def select_memory(self, memory: List[Tensor], rows: Tensor) -> List[Tensor]:
    per_row = len(memory) - self.shared_memory
    out: List[Tensor] = []
    for i in range(len(memory)):
        out.append(memory[i].index_select(0, rows) if i < per_row else memory[i])
    return out

def pack(self, tokens: List[List[int]], attention: List[List[Tensor]], source: int, like: Tensor) -> Tuple[Tensor, Tensor]:
    longest = 0
    for t in tokens:
        longest = max(longest, len(t))
    ids = torch.full([len(tokens), longest], self.pad, dtype=4, device=like.device)
    weights = torch.zeros([len(tokens), longest, source], dtype=like.dtype, device=like.device)
    for b in range(len(tokens)):
        n = len(tokens[b])
        if n > 0:
            ids[b, :n] = torch.tensor(tokens[b], dtype=4, device=like.device)
            weights[b, :n] = torch.stack(attention[b]).to(like.dtype)
    return ids, weights

def greedy_hypotheses(self, memory: List[Tensor], state: List[Tensor], limits: List[int]) -> Tuple[List[List[int]], List[float], List[List[Tensor]]]:
    batch = len(limits)
    device = memory[0].device
    tokens: List[List[int]] = []
    attention: List[List[Tensor]] = []
    log_probs: List[float] = []
    active: List[int] = []
    for b in range(batch):
        row_tokens: List[int] = []
        row_attention: List[Tensor] = []
        tokens.append(row_tokens)
        attention.append(row_attention)
        log_probs.append(0.0)
        active.append(b)
    inputs = torch.full([batch], self.bos, dtype=4, device=device)
    t = 0
    while len(active) > 0:
        lp, weights, state = self.step(inputs, memory, state)
        best_lp, best_id = lp.max(1)
        lps: List[float] = best_lp.double().tolist()
        ids: List[int] = best_id.tolist()
        keep_rows: List[int] = []
        keep: List[int] = []
        next_tokens: List[int] = []
        for r in range(len(active)):
            b = active[r]
            token = ids[r]
            tokens[b].append(token)
            log_probs[b] = log_probs[b] + lps[r]
            attention[b].append(weights[r])
            if token != self.eos and t + 1 < limits[b]:
                keep_rows.append(r)
                keep.append(b)
                next_tokens.append(token)
        if len(keep_rows) > 0 and len(keep_rows) != len(active):
            rows = torch.tensor(keep_rows, dtype=4, device=device)
            memory = self.select_memory(memory, rows)
            state = self.select_rows(state, rows)
        active = keep
        inputs = torch.tensor(next_tokens, dtype=4, device=device)
        t += 1
    scores: List[float] = []
    for b in range(batch):
        scores.append(log_probs[b] / self.length_penalty(len(tokens[b]), self.alpha) + self.coverage(attention[b]))
    return tokens, scores, attention

def greedy(self, memory: List[Tensor], state: List[Tensor], limits: List[int]) -> Tuple[Tensor, Tensor, Tensor]:
    tokens, scores, attention = self.greedy_hypotheses(memory, state, limits)
    ids_out, weights_out = self.pack(tokens, attention, memory[0].size(1), memory[0])
    return ids_out, torch.tensor(scores, dtype=7), weights_out

def beam_hypotheses(self, memory: List[Tensor], state: List[Tensor], limits: List[int], beam: int, alpha: float, n_best: int) -> Tuple[List[List[List[int]]], List[List[float]], List[List[List[Tensor]]]]:
    batch = len(limits)
    device = memory[0].device
    k = max(1, beam)
    neg_inf = float("-inf")
    done_tokens: List[List[List[int]]] = []
    done_attention: List[List[List[Tensor]]] = []
    done_scores: List[List[float]] = []
    active: List[int] = []
    beam_tokens: List[List[int]] = []
    beam_attention: List[List[Tensor]] = []
    scores: List[float] = []
    for b in range(batch):
        dt: List[List[int]] = []
        da: List[List[Tensor]] = []
        ds: List[float] = []
        done_tokens.append(dt)
        done_attention.append(da)
        done_scores.append(ds)
        active.append(b)
        for i in range(k):
            bt: List[int] = []
            ba: List[Tensor] = []
            beam_tokens.append(bt)
            beam_attention.append(ba)
            scores.append(0.0 if i == 0 else neg_inf)
    rows = torch.arange(batch, dtype=4, device=device).repeat_interleave(k)
    memory = self.select_memory(memory, rows)
    state = self.select_rows(state, rows)
    inputs = torch.full([batch * k], self.bos, dtype=4, device=device)
    t = 0
    while len(active) > 0:
        lp, weights, state = self.step(inputs, memory, state)
        lp = lp.float()
        vocab = lp.size(1)
        prior = torch.tensor(scores, dtype=7).to(device=lp.device, dtype=6)
        total = (lp + prior.unsqueeze(1)).view([len(active), k * vocab])
        top_scores, top_ids = total.topk(min(2 * k, k * vocab), 1)
        ts: List[List[float]] = top_scores.double().tolist()
        ti: List[List[int]] = top_ids.tolist()
        next_active: List[int] = []
        next_rows: List[int] = []
        next_tokens: List[int] = []
        next_beam_tokens: List[List[int]] = []
        next_beam_attention: List[List[Tensor]] = []
        next_scores: List[float] = []
        for a in range(len(active)):
            b = active[a]
            at_limit = t + 1 >= limits[b]
            kept_rows: List[int] = []
            kept_tokens: List[List[int]] = []
            kept_attention: List[List[Tensor]] = []
            kept_lp: List[float] = []
            considered = 0
            for j in range(len(ts[a])):
                s = ts[a][j]
                if s == neg_inf or s != s:
                    continue
                row = a * k + ti[a][j] // vocab
                token = ti[a][j] % vocab
                p_tokens = beam_tokens[row] + [token]
                p_attention = beam_attention[row] + [weights[row]]
                if at_limit:
                    if considered < k:
                        done_tokens[b].append(p_tokens)
                        done_attention[b].append(p_attention)
                        done_scores[b].append(s / self.length_penalty(len(p_tokens), alpha) + self.coverage(p_attention))
                    considered += 1
                elif token == self.eos:
                    done_tokens[b].append(p_tokens)
                    done_attention[b].append(p_attention)
                    done_scores[b].append(s / self.length_penalty(len(p_tokens), alpha) + self.coverage(p_attention))
                else:
                    kept_rows.append(row)
                    kept_tokens.append(p_tokens)
                    kept_attention.append(p_attention)
                    kept_lp.append(s)
                    if len(kept_rows) == k:
                        break
            finished = at_limit or len(kept_rows) == 0
            if not finished and len(done_scores[b]) >= n_best:
                best = neg_inf
                for x in done_scores[b]:
                    best = max(best, x)
                finished = best >= kept_lp[0] / self.length_penalty(limits[b], alpha)
            if finished:
                continue
            next_active.append(b)
            for i in range(k):
                live = i < len(kept_rows)
                pick = i if live else 0
                next_rows.append(kept_rows[pick])
                next_tokens.append(kept_tokens[pick][-1])
                next_scores.append(kept_lp[pick] if live else neg_inf)
                next_beam_tokens.append(kept_tokens[pick])
                next_beam_attention.append(kept_attention[pick])
        active = next_active
        if len(active) == 0:
            break
        rows = torch.tensor(next_rows, dtype=4, device=device)
        memory = self.select_memory(memory, rows)
        state = self.select_rows(state, rows)
        beam_tokens = next_beam_tokens
        beam_attention = next_beam_attention
        scores = next_scores
        inputs = torch.tensor(next_tokens, dtype=4, device=device)
        t += 1
    return done_tokens, done_scores, done_attention

def beam(self, memory: List[Tensor], state: List[Tensor], limits: List[int], beam: int, alpha: float) -> Tuple[Tensor, Tensor, Tensor]:
    done_tokens, done_scores, done_attention = self.beam_hypotheses(memory, state, limits, beam, alpha, self.n_best)
    best_tokens: List[List[int]] = []
    best_attention: List[List[Tensor]] = []
    best_scores: List[float] = []
    for b in range(len(limits)):
        pick = 0
        for i in range(len(done_scores[b])):
            if done_scores[b][i] > done_scores[b][pick]:
                pick = i
        best_tokens.append(done_tokens[b][pick])
        best_attention.append(done_attention[b][pick])
        best_scores.append(done_scores[b][pick])
    ids_out, weights_out = self.pack(best_tokens, best_attention, memory[0].size(1), memory[0])
    return ids_out, torch.tensor(best_scores, dtype=7), weights_out
