#include "data/shortlist.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "data/error.h"
#include "data/vocab.h"

namespace attnzoo {

namespace {

// The relative position of each distinct id's first occurrence, in [0, 1).
void first_positions(const std::vector<int64_t>& ids, int64_t size, int64_t first_id,
                     std::vector<std::pair<int64_t, double>>* out) {
  out->clear();
  const double n = static_cast<double>(ids.size());
  for (size_t i = 0; i < ids.size(); ++i)
    if (ids[i] >= first_id && ids[i] < size) out->push_back({ids[i], (double(i) + 0.5) / n});
  std::stable_sort(out->begin(), out->end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  out->erase(std::unique(out->begin(), out->end(),
                         [](const auto& a, const auto& b) { return a.first == b.first; }),
             out->end());
}

}  // namespace

std::vector<std::vector<Association>> dice_associations(const std::vector<Example>& pairs,
                                                        int64_t src_size, int64_t tgt_size,
                                                        int64_t k, int64_t first_id) {
  // Sentence counts of each word, and of each (source, target) pair with the
  // sum of their distances in relative position.
  std::vector<int64_t> src_count(src_size, 0), tgt_count(tgt_size, 0);
  std::unordered_map<int64_t, std::pair<int64_t, double>> together;
  std::vector<std::pair<int64_t, double>> s_ids, t_ids;
  for (const auto& p : pairs) {
    first_positions(p.src, src_size, first_id, &s_ids);
    first_positions(p.tgt, tgt_size, first_id, &t_ids);
    for (const auto& [t, y] : t_ids) ++tgt_count[t];
    for (const auto& [s, x] : s_ids) {
      ++src_count[s];
      for (const auto& [t, y] : t_ids) {
        auto& entry = together[s * tgt_size + t];
        ++entry.first;
        entry.second += std::abs(x - y);
      }
    }
  }
  struct Scored {
    Association a;
    double distance;
  };
  std::vector<std::vector<Scored>> scored(src_size);
  for (const auto& [key, entry] : together) {
    const int64_t s = key / tgt_size, t = key % tgt_size;
    const auto [n, distances] = entry;
    scored[s].push_back({{t, 2.0 * n / double(src_count[s] + tgt_count[t]), n}, distances / n});
  }
  std::vector<std::vector<Association>> best(src_size);
  for (int64_t s = 0; s < src_size; ++s) {
    auto& list = scored[s];
    const auto n = std::min<int64_t>(k, static_cast<int64_t>(list.size()));
    std::partial_sort(list.begin(), list.begin() + n, list.end(), [](const auto& a, const auto& b) {
      if (a.a.dice != b.a.dice) return a.a.dice > b.a.dice;
      if (a.distance != b.distance) return a.distance < b.distance;
      return a.a.target < b.a.target;
    });
    for (int64_t i = 0; i < n; ++i) best[s].push_back(list[i].a);
  }
  return best;
}

std::map<std::string, std::string> dice_phrase_table(const std::vector<TokenPair>& pairs,
                                                     const PhraseTableOptions& options) {
  if (options.min_together < 1)
    throw UserError("phrase table: the least co-occurrence count must be at least 1");
  // Each side's tokens as ids, in order of appearance.
  std::unordered_map<std::string, int64_t> src_ids, tgt_ids;
  std::vector<std::string> src_words, tgt_words;
  const auto id = [](const std::string& w, std::unordered_map<std::string, int64_t>& ids,
                     std::vector<std::string>& words) {
    const auto [it, added] = ids.emplace(w, static_cast<int64_t>(words.size()));
    if (added) words.push_back(w);
    return it->second;
  };
  std::vector<Example> examples;
  examples.reserve(pairs.size());
  for (const auto& [src, tgt] : pairs) {
    Example e;
    for (const auto& w : src) e.src.push_back(id(w, src_ids, src_words));
    for (const auto& w : tgt) e.tgt.push_back(id(w, tgt_ids, tgt_words));
    examples.push_back(std::move(e));
  }
  const auto best =
      dice_associations(examples, static_cast<int64_t>(src_words.size()),
                        static_cast<int64_t>(tgt_words.size()), /*k=*/1, /*first_id=*/0);
  std::map<std::string, std::string> table;
  for (size_t s = 0; s < best.size(); ++s)
    if (!best[s].empty() && best[s][0].together >= options.min_together &&
        best[s][0].dice >= options.min_dice)
      table[src_words[s]] = tgt_words[static_cast<size_t>(best[s][0].target)];
  return table;
}

LexicalShortlist LexicalShortlist::build(const std::vector<Example>& pairs, int64_t src_vocab_size,
                                         int64_t tgt_vocab_size, const ShortlistOptions& options) {
  if (options.per_word < 1) throw UserError("shortlist: per_word must be at least 1");
  if (options.frequent < 0) throw UserError("shortlist: frequent must not be negative");
  const int64_t k = options.per_word;
  const auto best =
      dice_associations(pairs, src_vocab_size, tgt_vocab_size, k, Vocab::kNumSpecials);
  auto table = torch::full({src_vocab_size, k}, Vocab::kPad, torch::kLong);
  auto rows = table.accessor<int64_t, 2>();
  for (int64_t s = 0; s < src_vocab_size; ++s)
    for (size_t i = 0; i < best[s].size(); ++i)
      rows[s][static_cast<int64_t>(i)] = best[s][i].target;
  std::vector<int64_t> tgt_tokens(tgt_vocab_size, 0);
  for (const auto& p : pairs)
    for (auto t : p.tgt)
      if (t >= 0 && t < tgt_vocab_size) ++tgt_tokens[t];
  // The specials, then the most frequent target words (by tokens, ties to the lower id).
  std::vector<int64_t> order;
  for (int64_t t = Vocab::kNumSpecials; t < tgt_vocab_size; ++t) order.push_back(t);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return tgt_tokens[a] > tgt_tokens[b]; });
  order.resize(std::min<size_t>(order.size(), static_cast<size_t>(options.frequent)));
  for (int64_t t = 0; t < std::min<int64_t>(Vocab::kNumSpecials, tgt_vocab_size); ++t)
    order.push_back(t);
  std::sort(order.begin(), order.end());
  return LexicalShortlist(table, torch::tensor(order, torch::kLong), tgt_vocab_size);
}

LexicalShortlist::LexicalShortlist(torch::Tensor table, torch::Tensor always,
                                   int64_t tgt_vocab_size)
    : table_(std::move(table)), always_(std::move(always)), tgt_vocab_size_(tgt_vocab_size) {
  if (table_.dim() != 2 || table_.scalar_type() != torch::kLong || always_.dim() != 1 ||
      always_.scalar_type() != torch::kLong)
    throw UserError(
        "shortlist: the table must be (source words, per word) int64 and the "
        "always-on list one int64 row");
  const auto bad = [&](const torch::Tensor& t) {
    return t.numel() > 0 &&
           (t.min().item<int64_t>() < 0 || t.max().item<int64_t>() >= tgt_vocab_size_);
  };
  if (bad(table_) || bad(always_))
    throw UserError("shortlist: a target id outside the vocabulary of {}", tgt_vocab_size_);
}

torch::Tensor LexicalShortlist::candidates(const torch::Tensor& src) const {
  auto keep = torch::zeros({tgt_vocab_size_}, torch::kBool);
  keep.index_fill_(0, always_, true);
  const auto ids = src.to(torch::kCPU, torch::kLong).flatten().clamp(0, table_.size(0) - 1);
  keep.index_fill_(0, table_.index_select(0, ids).flatten(), true);
  return keep.nonzero().squeeze(1);
}

}  // namespace attnzoo
