#include "data/batching.h"

#include <algorithm>
#include <random>

#include "data/vocab.h"

namespace attnzoo {

Batch Batch::to(torch::Device device) const {
  Batch b = *this;
  for (auto* t : {&b.src, &b.src_mask, &b.tgt_in, &b.tgt_out})
    if (t->defined()) *t = t->to(device);
  return b;
}

Batch collate(const std::vector<Example>& data, const std::vector<size_t>& indices) {
  const int64_t b = static_cast<int64_t>(indices.size());
  int64_t max_src = 1, max_tgt = 1;
  for (size_t i : indices) {
    max_src = std::max<int64_t>(max_src, data[i].src.size());
    max_tgt = std::max<int64_t>(max_tgt, data[i].tgt.size() + 1);
  }
  Batch batch;
  batch.indices = indices;
  batch.src = torch::full({b, max_src}, Vocab::kPad, torch::kLong);
  batch.src_lengths = torch::zeros({b}, torch::kLong);
  batch.tgt_in = torch::full({b, max_tgt}, Vocab::kPad, torch::kLong);
  batch.tgt_out = torch::full({b, max_tgt}, Vocab::kPad, torch::kLong);
  auto src = batch.src.accessor<int64_t, 2>();
  auto lengths = batch.src_lengths.accessor<int64_t, 1>();
  auto tin = batch.tgt_in.accessor<int64_t, 2>();
  auto tout = batch.tgt_out.accessor<int64_t, 2>();
  for (int64_t r = 0; r < b; ++r) {
    const Example& ex = data[indices[r]];
    for (size_t j = 0; j < ex.src.size(); ++j) src[r][j] = ex.src[j];
    lengths[r] = static_cast<int64_t>(ex.src.size());
    tin[r][0] = Vocab::kBos;
    for (size_t j = 0; j < ex.tgt.size(); ++j) {
      tin[r][j + 1] = ex.tgt[j];
      tout[r][j] = ex.tgt[j];
    }
    tout[r][ex.tgt.size()] = Vocab::kEos;
    batch.target_tokens += static_cast<int64_t>(ex.tgt.size()) + 1;
  }
  batch.src_mask = batch.src.ne(Vocab::kPad);
  return batch;
}

std::vector<size_t> permutation(size_t n, uint64_t seed) {
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  std::mt19937_64 rng(seed);
  for (size_t i = n; i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
  return order;
}

std::vector<std::vector<size_t>> make_batches(const std::vector<Example>& data, int64_t batch_size,
                                              bool shuffle, uint64_t seed) {
  const size_t bs = static_cast<size_t>(std::max<int64_t>(1, batch_size));
  std::vector<size_t> order(data.size());
  if (shuffle) {
    order = permutation(data.size(), seed);
  } else {
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  }
  auto by_length = [&](size_t a, size_t b) {
    const auto& x = data[a];
    const auto& y = data[b];
    // Target length first: the decoder and its vocabulary projection cost most.
    if (x.tgt.size() != y.tgt.size()) return x.tgt.size() < y.tgt.size();
    if (x.src.size() != y.src.size()) return x.src.size() < y.src.size();
    return a < b;
  };
  const size_t pool = shuffle ? bs * 50 : order.size();
  for (size_t start = 0; start < order.size(); start += pool) {
    const auto end = order.begin() + std::min(order.size(), start + pool);
    std::sort(order.begin() + start, end, by_length);
  }
  std::vector<std::vector<size_t>> batches;
  for (size_t start = 0; start < order.size(); start += bs)
    batches.emplace_back(order.begin() + start, order.begin() + std::min(order.size(), start + bs));
  if (shuffle) {
    const auto perm = permutation(batches.size(), seed ^ 0x5bd1e995ull);
    std::vector<std::vector<size_t>> shuffled;
    shuffled.reserve(batches.size());
    for (size_t i : perm) shuffled.push_back(std::move(batches[i]));
    batches = std::move(shuffled);
  }
  return batches;
}

}  // namespace attnzoo
