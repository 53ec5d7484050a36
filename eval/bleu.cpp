#include "eval/bleu.h"

#include <cmath>
#include <map>

#include "data/error.h"
#include "data/utf8.h"

namespace attnzoo {
namespace {

constexpr int kOrder = 4;

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size())
    s.replace(pos, from.size(), to);
}

bool is_digit(char32_t c) { return c >= '0' && c <= '9'; }

// The symbol class of 13a's first rule: [\{-\~\[-\` -\&\(-\+\:-\@\/]
bool is_13a_symbol(char32_t c) {
  return (c >= '{' && c <= '~') || (c >= '[' && c <= '`') || (c >= ' ' && c <= '&') ||
         (c >= '(' && c <= '+') || (c >= ':' && c <= '@') || c == '/';
}

// Applies a two-character rule left to right without overlaps, as Python's
// re.sub does for a fixed-width pattern: when (a, b) matches, emit
// `replace(a, b)` and continue after b.
template <typename Match, typename Emit>
std::u32string apply_pair_rule(const std::u32string& s, Match match, Emit emit) {
  std::u32string out;
  out.reserve(s.size() + s.size() / 4);
  size_t i = 0;
  while (i < s.size()) {
    if (i + 1 < s.size() && match(s[i], s[i + 1])) {
      emit(out, s[i], s[i + 1]);
      i += 2;
    } else {
      out.push_back(s[i++]);
    }
  }
  return out;
}

std::vector<std::string> split_whitespace(const std::string& s) {
  std::vector<std::string> tokens;
  const std::u32string u = utf8_to_u32(s);
  std::u32string current;
  for (char32_t c : u) {
    if (is_space(c)) {
      if (!current.empty()) tokens.push_back(u32_to_utf8(current));
      current.clear();
    } else {
      current.push_back(c);
    }
  }
  if (!current.empty()) tokens.push_back(u32_to_utf8(current));
  return tokens;
}

using NgramCounts = std::map<std::vector<std::string>, int64_t>;

NgramCounts count_ngrams(const std::vector<std::string>& tokens) {
  NgramCounts counts;
  for (int n = 1; n <= kOrder; ++n)
    for (size_t i = 0; i + n <= tokens.size(); ++i)
      ++counts[std::vector<std::string>(tokens.begin() + i, tokens.begin() + i + n)];
  return counts;
}

std::string prepare(const std::string& line, const BleuOptions& o) {
  const std::string text = o.lowercase ? to_lower(line) : line;
  if (o.tokenize == "13a") return tokenize_13a(text);
  if (o.tokenize == "none") return text;
  throw UserError("BLEU tokenizer \"{}\" is not one of 13a, none", o.tokenize);
}

}  // namespace

std::string tokenize_13a(const std::string& input) {
  std::string line = input;
  replace_all(line, "<skipped>", "");
  replace_all(line, "-\n", "");
  replace_all(line, "\n", " ");
  if (line.find('&') != std::string::npos) {
    replace_all(line, "&quot;", "\"");
    replace_all(line, "&amp;", "&");
    replace_all(line, "&lt;", "<");
    replace_all(line, "&gt;", ">");
  }
  std::u32string s = utf8_to_u32(" " + line + " ");
  std::u32string spaced;
  spaced.reserve(s.size() * 2);
  for (char32_t c : s) {
    if (is_13a_symbol(c)) {
      spaced.push_back(' ');
      spaced.push_back(c);
      spaced.push_back(' ');
    } else {
      spaced.push_back(c);
    }
  }
  auto is_period_comma = [](char32_t c) { return c == '.' || c == ','; };
  // Period and comma unless preceded by a digit.
  s = apply_pair_rule(
      spaced, [&](char32_t a, char32_t b) { return !is_digit(a) && is_period_comma(b); },
      [](std::u32string& out, char32_t a, char32_t b) {
        out += {a, ' ', b, ' '};
      });
  // Period and comma unless followed by a digit.
  s = apply_pair_rule(
      s, [&](char32_t a, char32_t b) { return is_period_comma(a) && !is_digit(b); },
      [](std::u32string& out, char32_t a, char32_t b) {
        out += {' ', a, ' ', b};
      });
  // Dash when preceded by a digit.
  s = apply_pair_rule(
      s, [](char32_t a, char32_t b) { return is_digit(a) && b == '-'; },
      [](std::u32string& out, char32_t a, char32_t b) {
        out += {a, ' ', b, ' '};
      });
  std::string result;
  for (const auto& token : split_whitespace(u32_to_utf8(s))) {
    if (!result.empty()) result.push_back(' ');
    result += token;
  }
  return result;
}

BleuScore bleu_from_statistics(const std::array<int64_t, 4>& correct,
                               const std::array<int64_t, 4>& total, int64_t sys_len,
                               int64_t ref_len, int max_order) {
  if (max_order < 1 || max_order > kOrder)
    throw UserError("BLEU order {} is not in 1..{}", max_order, kOrder);
  BleuScore b;
  b.correct = correct;
  b.total = total;
  b.sys_len = sys_len;
  b.ref_len = ref_len;
  b.bp = sys_len < ref_len
             ? (sys_len > 0 ? std::exp(1.0 - static_cast<double>(ref_len) / sys_len) : 0.0)
             : 1.0;
  bool any_correct = false;
  for (int n = 0; n < max_order; ++n) any_correct = any_correct || correct[n] > 0;
  if (!any_correct) return b;  // no overlap at all: BLEU is 0
  double smooth = 1.0;
  for (int n = 0; n < max_order; ++n) {
    if (total[n] == 0) break;
    if (correct[n] == 0) {
      smooth *= 2.0;
      b.precisions[n] = 100.0 / (smooth * static_cast<double>(total[n]));
    } else {
      b.precisions[n] = 100.0 * static_cast<double>(correct[n]) / static_cast<double>(total[n]);
    }
  }
  double log_sum = 0.0;
  for (int n = 0; n < max_order; ++n)
    log_sum += b.precisions[n] == 0.0 ? -9999999999.0 : std::log(b.precisions[n]);
  b.score = b.bp * std::exp(log_sum / max_order);
  return b;
}

double bleu_at_order(const BleuScore& s, int order) {
  return bleu_from_statistics(s.correct, s.total, s.sys_len, s.ref_len, order).score;
}

BleuScore corpus_bleu(const std::vector<std::string>& hypotheses,
                      const std::vector<std::vector<std::string>>& references,
                      const BleuOptions& options) {
  if (references.empty()) throw UserError("BLEU needs at least one reference set");
  for (size_t r = 0; r < references.size(); ++r)
    if (references[r].size() != hypotheses.size())
      throw UserError("BLEU: reference set {} has {} lines but there are {} hypotheses", r + 1,
                      references[r].size(), hypotheses.size());
  std::array<int64_t, 4> correct{}, total{};
  int64_t sys_len = 0, ref_len = 0;
  for (size_t i = 0; i < hypotheses.size(); ++i) {
    const auto hyp = split_whitespace(prepare(hypotheses[i], options));
    const int64_t hyp_len = static_cast<int64_t>(hyp.size());
    NgramCounts max_ref_counts;
    int64_t closest_len = -1, closest_diff = 0;
    for (const auto& ref_set : references) {
      const auto ref = split_whitespace(prepare(ref_set[i], options));
      const int64_t len = static_cast<int64_t>(ref.size());
      const int64_t diff = std::abs(len - hyp_len);
      if (closest_len < 0 || diff < closest_diff || (diff == closest_diff && len < closest_len)) {
        closest_len = len;
        closest_diff = diff;
      }
      for (const auto& [ngram, count] : count_ngrams(ref)) {
        auto& m = max_ref_counts[ngram];
        m = std::max(m, count);
      }
    }
    sys_len += hyp_len;
    ref_len += closest_len;
    for (const auto& [ngram, count] : count_ngrams(hyp)) {
      const size_t n = ngram.size() - 1;
      total[n] += count;
      const auto it = max_ref_counts.find(ngram);
      if (it != max_ref_counts.end()) correct[n] += std::min(count, it->second);
    }
  }
  return bleu_from_statistics(correct, total, sys_len, ref_len);
}

std::vector<LengthBucket> bleu_by_source_length(
    const std::vector<std::string>& sources, const std::vector<std::string>& hypotheses,
    const std::vector<std::vector<std::string>>& references, int64_t width, int64_t min_sentences,
    const BleuOptions& options) {
  std::map<int64_t, std::vector<size_t>> by_bucket;  // bucket index -> sentences
  for (size_t i = 0; i < sources.size(); ++i) {
    const auto words = static_cast<int64_t>(split_whitespace(sources[i]).size());
    by_bucket[std::max<int64_t>(0, words - 1) / width].push_back(i);
  }
  // Merge small tail buckets backwards.
  while (by_bucket.size() > 1 &&
         static_cast<int64_t>(by_bucket.rbegin()->second.size()) < min_sentences) {
    auto last = std::prev(by_bucket.end());
    auto& before = std::prev(last)->second;
    before.insert(before.end(), last->second.begin(), last->second.end());
    by_bucket.erase(last);
  }
  std::vector<LengthBucket> buckets;
  for (auto it = by_bucket.begin(); it != by_bucket.end(); ++it) {
    const bool last = std::next(it) == by_bucket.end();
    LengthBucket b;
    b.from = it->first * width + 1;
    b.to = last ? 0 : (it->first + 1) * width;  // 0: no upper bound
    b.sentences = static_cast<int64_t>(it->second.size());
    std::vector<std::string> hyps;
    std::vector<std::vector<std::string>> refs(references.size());
    for (size_t i : it->second) {
      hyps.push_back(hypotheses[i]);
      for (size_t r = 0; r < references.size(); ++r) refs[r].push_back(references[r][i]);
    }
    b.bleu = corpus_bleu(hyps, refs, options).score;
    buckets.push_back(b);
  }
  return buckets;
}

nlohmann::json BleuScore::to_json() const {
  return {{"bleu", score},      {"precisions", precisions}, {"bp", bp},       {"sys_len", sys_len},
          {"ref_len", ref_len}, {"counts", correct},        {"totals", total}};
}

}  // namespace attnzoo
