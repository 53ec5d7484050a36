#pragma once
// Encoded examples, length-bucketed batching, padding and masks.
#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace attnzoo {

struct Example {
  std::vector<int64_t> src;  // token ids, ending in <eos>
  std::vector<int64_t> tgt;  // token ids without <bos>/<eos>
};

struct Batch {
  torch::Tensor src;            // (B, S) int64, padded with <pad>
  torch::Tensor src_lengths;    // (B) int64
  torch::Tensor src_mask;       // (B, S) bool, true on real tokens
  torch::Tensor tgt_in;         // (B, T) int64: <bos> y1 .. yn, padded
  torch::Tensor tgt_out;        // (B, T) int64: y1 .. yn <eos>, padded
  std::vector<size_t> indices;  // where each row came from in the data set
  int64_t target_tokens = 0;    // real tokens in tgt_out (the loss's denominator)
  int64_t size() const { return src.size(0); }
  // The token tensors on `device`; src_lengths stays on the CPU (search reads it there).
  Batch to(torch::Device device) const;
};

Batch collate(const std::vector<Example>& data, const std::vector<size_t>& indices);

// Splits `data` into batches of at most `batch_size` examples of similar length.
// With `shuffle`, examples are shuffled with `seed`, sorted by length within
// pools of 50 batches, and the batches shuffled again: little padding, yet a
// different order every epoch. Without it, batches follow length order.
std::vector<std::vector<size_t>> make_batches(const std::vector<Example>& data, int64_t batch_size,
                                              bool shuffle, uint64_t seed);

// A Fisher-Yates permutation of 0..n-1 from a fixed generator (identical everywhere).
std::vector<size_t> permutation(size_t n, uint64_t seed);

}  // namespace attnzoo
