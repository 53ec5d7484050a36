#include "data/shortlist.h"

#include <algorithm>
#include <unordered_map>

#include "data/error.h"
#include "data/vocab.h"

namespace attnzoo {

LexicalShortlist LexicalShortlist::build(const std::vector<Example>& pairs, int64_t src_vocab_size,
                                         int64_t tgt_vocab_size, const ShortlistOptions& options) {
  if (options.per_word < 1) throw UserError("shortlist: per_word must be at least 1");
  if (options.frequent < 0) throw UserError("shortlist: frequent must not be negative");
  // Sentence counts of each word and of each (source, target) pair.
  std::vector<int64_t> src_count(src_vocab_size, 0), tgt_count(tgt_vocab_size, 0),
      tgt_tokens(tgt_vocab_size, 0);
  std::unordered_map<int64_t, int64_t> together;
  std::vector<int64_t> s_ids, t_ids;
  for (const auto& p : pairs) {
    s_ids.assign(p.src.begin(), p.src.end());
    t_ids.assign(p.tgt.begin(), p.tgt.end());
    for (auto id : t_ids)
      if (id >= 0 && id < tgt_vocab_size) ++tgt_tokens[id];
    for (auto* ids : {&s_ids, &t_ids}) {
      std::sort(ids->begin(), ids->end());
      ids->erase(std::unique(ids->begin(), ids->end()), ids->end());
    }
    for (auto s : s_ids) {
      if (s < Vocab::kNumSpecials || s >= src_vocab_size) continue;
      ++src_count[s];
      for (auto t : t_ids)
        if (t >= Vocab::kNumSpecials && t < tgt_vocab_size) ++together[s * tgt_vocab_size + t];
    }
    for (auto t : t_ids)
      if (t >= 0 && t < tgt_vocab_size) ++tgt_count[t];
  }
  // Each source word's best targets by Dice, ties to the lower id.
  std::vector<std::vector<std::pair<double, int64_t>>> scored(src_vocab_size);
  for (const auto& [key, n] : together) {
    const int64_t s = key / tgt_vocab_size, t = key % tgt_vocab_size;
    scored[s].push_back({2.0 * n / double(src_count[s] + tgt_count[t]), t});
  }
  const int64_t k = options.per_word;
  auto table = torch::full({src_vocab_size, k}, Vocab::kPad, torch::kLong);
  auto rows = table.accessor<int64_t, 2>();
  for (int64_t s = 0; s < src_vocab_size; ++s) {
    auto& list = scored[s];
    const auto n = std::min<int64_t>(k, static_cast<int64_t>(list.size()));
    std::partial_sort(list.begin(), list.begin() + n, list.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    for (int64_t i = 0; i < n; ++i) rows[s][i] = list[i].second;
  }
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
