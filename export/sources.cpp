#include "export/sources.h"

#include <fmt/format.h>

#include "data/error.h"
#include "data/tokenizer.h"
#include "data/vocab.h"
#include "models/attention.h"
#include "models/captioner.h"
#include "models/decoder.h"
#include "models/encoder.h"
#include "models/resnet.h"

namespace attnzoo {

const char* const kLinearSource = R"JIT(
def linear(self, x: Tensor, w: Tensor, b: Optional[Tensor]) -> Tensor:
    return torch.linear(x, w, b)
)JIT";

// The port of models/search.cpp. Finished rows leave the batch (greedy);
// beam keeps `beam` rows per live sentence, dead ones padded with -inf.
const char* const kSearchSource = R"JIT(
def length_penalty(self, length: int, alpha: float) -> float:
    if alpha == 0.0:
        return 1.0
    return ((5.0 + float(length)) / 6.0) ** alpha

def select_rows(self, tensors: List[Tensor], rows: Tensor) -> List[Tensor]:
    out: List[Tensor] = []
    for t in tensors:
        out.append(t.index_select(0, rows))
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

def greedy(self, memory: List[Tensor], state: List[Tensor], limits: List[int]) -> Tuple[Tensor, Tensor, Tensor]:
    batch = len(limits)
    device = memory[0].device
    source = memory[0].size(1)
    like = memory[0]
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
            memory = self.select_rows(memory, rows)
            state = self.select_rows(state, rows)
        active = keep
        inputs = torch.tensor(next_tokens, dtype=4, device=device)
        t += 1
    scores: List[float] = []
    for b in range(batch):
        scores.append(log_probs[b] / self.length_penalty(len(tokens[b]), self.alpha))
    ids_out, weights_out = self.pack(tokens, attention, source, like)
    return ids_out, torch.tensor(scores, dtype=7), weights_out

def beam(self, memory: List[Tensor], state: List[Tensor], limits: List[int], beam: int, alpha: float) -> Tuple[Tensor, Tensor, Tensor]:
    batch = len(limits)
    device = memory[0].device
    source = memory[0].size(1)
    like = memory[0]
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
    memory = self.select_rows(memory, rows)
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
                        done_scores[b].append(s / self.length_penalty(len(p_tokens), alpha))
                    considered += 1
                elif token == self.eos:
                    done_tokens[b].append(p_tokens)
                    done_attention[b].append(p_attention)
                    done_scores[b].append(s / self.length_penalty(len(p_tokens), alpha))
                else:
                    kept_rows.append(row)
                    kept_tokens.append(p_tokens)
                    kept_attention.append(p_attention)
                    kept_lp.append(s)
                    if len(kept_rows) == k:
                        break
            finished = at_limit or len(kept_rows) == 0
            if not finished and len(done_scores[b]) >= self.n_best:
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
        memory = self.select_rows(memory, rows)
        state = self.select_rows(state, rows)
        beam_tokens = next_beam_tokens
        beam_attention = next_beam_attention
        scores = next_scores
        inputs = torch.tensor(next_tokens, dtype=4, device=device)
        t += 1
    best_tokens: List[List[int]] = []
    best_attention: List[List[Tensor]] = []
    best_scores: List[float] = []
    for b in range(batch):
        pick = 0
        for i in range(len(done_scores[b])):
            if done_scores[b][i] > done_scores[b][pick]:
                pick = i
        best_tokens.append(done_tokens[b][pick])
        best_attention.append(done_attention[b][pick])
        best_scores.append(done_scores[b][pick])
    ids_out, weights_out = self.pack(best_tokens, best_attention, source, like)
    return ids_out, torch.tensor(best_scores, dtype=7), weights_out
)JIT";

std::string attention_source(const AttentionImpl& attention, const std::string& p) {
  const std::string& kind = attention.options.kind();
  const std::string keys = attention.key_proj
                               ? fmt::format("self.linear(values, {}.key_proj.weight, None)", p)
                               : std::string("values");
  std::string scores;
  if (kind == "additive" || kind == "hard") {
    scores = fmt::format(
        "q = self.linear(query, {0}.query_proj.weight, {0}.query_proj.bias).unsqueeze(1)\n"
        "    scores = self.linear(torch.tanh(keys + q), {0}.energy.weight, None).squeeze(2)",
        p);
  } else {
    scores = "scores = torch.bmm(keys, query.unsqueeze(2)).squeeze(2)";
  }
  std::string context = "context = torch.bmm(weights.unsqueeze(1), values).squeeze(1)";
  if (kind == "hard" && attention.options.hard_eval() == "argmax")
    context =
        "where = weights.argmax(1, keepdim=True)\n"
        "    context = values.gather(1, where.unsqueeze(2).expand([-1, 1, "
        "values.size(2)])).squeeze(1)";
  const std::string body =
      kind == "none"
          ? "return summary, torch.zeros(mask.size(), dtype=values.dtype, device=values.device)"
          : fmt::format(
                "{}\n"
                "    weights = torch.softmax(scores.masked_fill(mask.logical_not(), "
                "float(\"-inf\")), -1)\n"
                "    {}\n"
                "    return context, weights",
                scores, context);
  return fmt::format(R"JIT(
def keys(self, values: Tensor) -> Tensor:
    return {}

def attend(self, query: Tensor, values: Tensor, keys: Tensor, mask: Tensor, summary: Tensor) -> Tuple[Tensor, Tensor]:
    {}
)JIT",
                     keys, body);
}

std::string encoder_source(const EncoderImpl& encoder, const std::string& path) {
  const auto& o = encoder.options;
  const bool lstm = o.rnn() == "lstm";
  std::string body;
  auto line = [&](const std::string& s) { body += "    " + s + "\n"; };
  for (int64_t layer = 0; layer < o.num_layers(); ++layer) {
    for (int direction = 0; direction < (o.bidirectional() ? 2 : 1); ++direction) {
      const std::string name =
          fmt::format("{}.rnn_l{}{}", path, layer, direction == 1 ? "_reverse" : "");
      const std::string params =
          fmt::format("[{0}.weight_ih_l0, {0}.weight_hh_l0, {0}.bias_ih_l0, {0}.bias_hh_l0]", name);
      const std::string input = direction == 1 ? "self.reverse(x, reverse)" : "x";
      const std::string call =
          lstm ? fmt::format("torch.lstm({}, [h0, h0], {}, True, 1, 0.0, False, False, True)[0]",
                             input, params)
               : fmt::format("torch.gru({}, h0, {}, True, 1, 0.0, False, False, True)[0]", input,
                             params);
      if (direction == 0) {
        line("forward_out = " + call);
      } else {
        line("backward_out = self.reverse(" + call + ", reverse)");
      }
    }
    line(o.bidirectional() ? "x = torch.cat([forward_out, backward_out], 2)" : "x = forward_out");
  }
  std::string summary =
      "summary = forward_out.gather(1, (lengths - 1).view([batch, 1, 1]).expand([batch, 1, "
      "forward_out.size(2)]))"
      ".squeeze(1)";
  if (o.bidirectional())
    summary += "\n    summary = torch.cat([summary, backward_out.select(1, 0)], 1)";
  return fmt::format(R"JIT(
def reverse(self, x: Tensor, index: Tensor) -> Tensor:
    return x.gather(1, index.expand([x.size(0), x.size(1), x.size(2)]))

def encode_steps(self, x: Tensor, src_lengths: Tensor) -> Tuple[Tensor, Tensor]:
    batch = x.size(0)
    steps = x.size(1)
    lengths = src_lengths.to(device=x.device, dtype=4)
    valid = (torch.arange(steps, dtype=4, device=x.device).unsqueeze(0) < lengths.unsqueeze(1)).unsqueeze(2)
    positions = torch.arange(steps, dtype=4, device=x.device).unsqueeze(0)
    reverse = torch.where(positions < lengths.unsqueeze(1), lengths.unsqueeze(1) - 1 - positions, positions).unsqueeze(2)
    h0 = torch.zeros([1, batch, {0}], dtype=x.dtype, device=x.device)
    forward_out = h0
    backward_out = h0
{1}    {2}
    return x * valid, summary
)JIT",
                     o.hidden_size(), body, summary);
}

std::string decoder_source(const DecoderImpl& decoder, const std::string& path) {
  const auto& o = decoder.options;
  const bool lstm = o.rnn() == "lstm";
  const int64_t layers = o.num_layers();
  std::string cells;
  for (int64_t l = 0; l < layers; ++l) {
    const std::string cell = fmt::format("{}.cells._{}", path, l);
    const std::string weights =
        fmt::format("{0}.weight_ih, {0}.weight_hh, {0}.bias_ih, {0}.bias_hh", cell);
    if (lstm) {
      cells += fmt::format("    h, c = torch.lstm_cell(x, [state[{}], state[{}]], {})\n", l,
                           layers + l, weights);
      cells += "    hs.append(h)\n    cs.append(c)\n    x = h\n";
    } else {
      cells +=
          fmt::format("    x = torch.gru_cell(x, state[{}], {})\n    hs.append(x)\n", l, weights);
    }
  }
  const std::string project =
      decoder.readout
          ? fmt::format(
                "r = self.linear(features, {0}.readout.weight, {0}.readout.bias)\n"
                "    r = r.view(r.size()[:-1] + [r.size(-1) // 2, 2]).max(-1)[0]\n"
                "    return self.linear(r, {0}.out.weight, {0}.out.bias)",
                path)
          : fmt::format("return self.linear(features, {0}.out.weight, {0}.out.bias)", path);
  return fmt::format(R"JIT(
def initial_state(self, summary: Tensor) -> List[Tensor]:
    h0 = torch.tanh(self.linear(summary, {5}.bridge.weight, {5}.bridge.bias)).chunk({0}, 1)
    state: List[Tensor] = []
    for h in h0:
        state.append(h.contiguous())
    if {1}:
        for h in h0:
            state.append(torch.zeros_like(h))
    return state

def decode_step(self, e: Tensor, memory: List[Tensor], state: List[Tensor]) -> Tuple[Tensor, Tensor, List[Tensor]]:
    context, weights = self.attend(state[{2}], memory[0], memory[1], memory[2], memory[3])
    x = torch.cat([e, context], 1)
    hs: List[Tensor] = []
    cs: List[Tensor] = []
{3}    return torch.cat([x, context, e], 1), weights, hs + cs

def project(self, features: Tensor) -> Tensor:
    {4}
)JIT",
                     layers, lstm ? "True" : "False", layers - 1, cells, project, path);
}

namespace {

// The word's log-probabilities from the context (eq. 7), or mixed over every
// location's own output (CaptionDecoderOptions::output "mixture"); {d} is the
// decoder's path.
const char* const kContextOutput = R"JIT(
    features = e + self.linear(h, {d}.out_h.weight, {d}.out_h.bias) + self.linear(z, {d}.out_z.weight, None)
    logits = self.linear(features, {d}.out.weight, {d}.out.bias)
    return torch.log_softmax(logits, -1), weights, [h, c])JIT";

const char* const kMixtureOutput = R"JIT(
    features = e + self.linear(h, {d}.out_h.weight, {d}.out_h.bias)
    located = self.linear(self.linear(memory[0], {d}.out_z.weight, None), {d}.out.weight, None)
    logits = self.linear(features, {d}.out.weight, {d}.out.bias).unsqueeze(1) + gate.unsqueeze(1) * located
    log_p = torch.log_softmax(logits, -1) + weights.clamp_min(1e-30).log().unsqueeze(2)
    return torch.logsumexp(log_p, 1), weights, [h, c])JIT";

}  // namespace

std::string caption_decoder_source(const CaptionDecoderImpl& decoder, const std::string& path) {
  const std::string gate =
      decoder.gate
          ? fmt::format("torch.sigmoid(self.linear(state[0], {d}.gate.weight, {d}.gate.bias))",
                        fmt::arg("d", path))
          : "torch.ones([state[0].size(0), 1], dtype=state[0].dtype, device=state[0].device)";
  const std::string output = fmt::format(
      fmt::runtime(decoder.mixture() ? kMixtureOutput : kContextOutput), fmt::arg("d", path));
  return fmt::format(R"JIT(
def caption_start(self, values: Tensor) -> Tuple[List[Tensor], List[Tensor]]:
    mask = torch.ones([values.size(0), values.size(1)], dtype=11, device=values.device)
    summary = values.mean(1)
    h = torch.tanh(self.linear(summary, {d}.init_h.weight, {d}.init_h.bias))
    c = torch.tanh(self.linear(summary, {d}.init_c.weight, {d}.init_c.bias))
    return [values, self.keys(values), mask, summary], [h, c]

def step(self, tokens: Tensor, memory: List[Tensor], state: List[Tensor]) -> Tuple[Tensor, Tensor, List[Tensor]]:
    e = torch.embedding({d}.embedding.weight, tokens, self.pad)
    context, weights = self.attend(state[0], memory[0], memory[1], memory[2], memory[3])
    gate = {gate}
    z = gate * context
    cell = {d}.cell
    h, c = torch.lstm_cell(torch.cat([e, z], 1), [state[0], state[1]], cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)
{output}
)JIT",
                     fmt::arg("d", path), fmt::arg("gate", gate), fmt::arg("output", output));
}

// data/utf8.cpp's code point helpers, over the bytes TorchScript strings are.
const char* const kTextSource = R"JIT(
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
)JIT";

std::string tokenizer_source(const TokenizerOptions& options, const std::string& name) {
  if (options.kind != "word" && options.kind != "char")
    throw UserError("a {} tokenizer cannot run inside TorchScript", options.kind);
  return fmt::format(R"JIT(
def tokens_{0}(self, text: str) -> List[str]:
    return self.{1}_tokens(text, {2})

def text_{0}(self, tokens: List[str]) -> str:
    return self.{1}_text(tokens)
)JIT",
                     name, options.kind, options.lowercase ? "True" : "False");
}

void register_vocab(torch::jit::Module& module, const Vocab& vocab, const std::string& name) {
  c10::Dict<std::string, int64_t> ids;
  c10::List<std::string> tokens;
  for (int64_t i = 0; i < vocab.size(); ++i) {
    ids.insert(vocab.token(i), i);
    tokens.push_back(vocab.token(i));
  }
  module.register_attribute(
      name + "_ids", c10::DictType::create(c10::StringType::get(), c10::IntType::get()), ids);
  module.register_attribute(name + "_tokens", c10::ListType::ofStrings(), tokens);
}

std::string vocab_decode_source(const std::string& name) {
  return fmt::format(R"JIT(
def decode_{0}(self, ids: List[int]) -> List[str]:
    tokens: List[str] = []
    for i in ids:
        if i == {1}:
            break
        if i != {2} and i != {3}:
            tokens.append(self.{0}_tokens[i])
    return tokens
)JIT",
                     name, Vocab::kEos, Vocab::kPad, Vocab::kBos);
}

std::string conv2d_source(const torch::nn::Conv2dImpl& conv, const std::string& path,
                          const std::string& x) {
  const auto* padding = c10::get_if<torch::ExpandingArray<2>>(&conv.options.padding());
  if (padding == nullptr)
    throw std::logic_error("export: " + path + " pads by name (same/valid), not by size");
  const auto& stride = conv.options.stride();
  return fmt::format("torch.conv2d({}, {}.weight, {}, [{}, {}], [{}, {}])", x, path,
                     conv.options.bias() ? path + ".bias" : "None", (*stride)[0], (*stride)[1],
                     (**padding)[0], (**padding)[1]);
}

namespace {

// One convolution and its BatchNorm (eval), at mirrored paths.
std::string conv_bn(const torch::nn::Module& conv_module, const torch::nn::Module& bn_module,
                    const std::string& conv, const std::string& bn, const std::string& x) {
  const auto* c = dynamic_cast<const torch::nn::Conv2dImpl*>(&conv_module);
  const auto* b = dynamic_cast<const torch::nn::BatchNorm2dImpl*>(&bn_module);
  if (c == nullptr || b == nullptr)
    throw std::logic_error("resnet export: unexpected module " + conv + " / " + bn);
  return fmt::format(
      "torch.batch_norm({0}, {1}.weight, {1}.bias, {1}.running_mean, {1}.running_var, False, 0.0, "
      "{2}, False)",
      conv2d_source(*c, conv, x), bn, fmt::format("{:.17g}", b->options.eps()));
}

}  // namespace

std::string resnet_source(const ResNetImpl& resnet, const std::string& path) {
  std::string body;
  auto line = [&](const std::string& s) { body += "    " + s + "\n"; };
  line("x = torch.relu(" +
       conv_bn(*resnet.conv1, *resnet.bn1, path + ".conv1", path + ".bn1", "images") + ")");
  line("x = torch.max_pool2d(x, [3, 3], [2, 2], [1, 1])");
  for (const auto& stage : resnet.named_children()) {
    if (stage.key().rfind("layer", 0) != 0) continue;
    for (const auto& block : stage.value()->named_children()) {
      const std::string at = path + "." + stage.key() + "._" + block.key();
      const auto children = block.value()->named_children();
      std::shared_ptr<torch::nn::Module> downsample;
      int64_t convs = 0;
      for (const auto& child : children) {
        if (child.key() == "downsample") downsample = child.value();
        if (child.key().rfind("conv", 0) == 0) ++convs;
      }
      std::string y = "x";
      for (int64_t i = 1; i <= convs; ++i) {
        const std::string n = std::to_string(i);
        const auto expr = conv_bn(*children["conv" + n], *children["bn" + n], at + ".conv" + n,
                                  at + ".bn" + n, y);
        line("y = " + (i < convs ? "torch.relu(" + expr + ")" : expr));
        y = "y";
      }
      if (downsample) {
        const auto parts = downsample->named_children();
        line("x = torch.relu(y + " +
             conv_bn(*parts["0"], *parts["1"], at + ".downsample._0", at + ".downsample._1", "x") +
             ")");
      } else {
        line("x = torch.relu(y + x)");
      }
    }
  }
  if (resnet.options.grid() > 0)
    line(fmt::format("x = torch.adaptive_avg_pool2d(x, [{0}, {0}])", resnet.options.grid()));
  return "\ndef resnet_map(self, images: Tensor) -> Tensor:\n" + body +
         "    return x\n\n"
         "def resnet(self, images: Tensor) -> Tensor:\n"
         "    return self.resnet_map(images).flatten(2).transpose(1, 2).contiguous()\n";
}

}  // namespace attnzoo
