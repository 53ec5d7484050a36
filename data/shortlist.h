#pragma once
// A lexical shortlist (as Marian's --shortlist): the target words a batch of
// sources may translate to, so that each decoding step projects onto those
// few hundred instead of the whole vocabulary. It holds the `frequent` most
// frequent target words, and for each source word the `per_word` target
// words that co-occur with it most strongly in the training pairs (Dice
// coefficient over sentences: 2 c(s,t) / (c(s) + c(t))); a batch's
// candidates are the special tokens, the frequent words and the lists of its
// source words.
#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "data/batching.h"

namespace attnzoo {

struct ShortlistOptions {
  int64_t per_word = 0;    // 0: no shortlist
  int64_t frequent = 100;  // most frequent target words always in
};

class LexicalShortlist {
 public:
  // From encoded training pairs (source ids with <eos>, target ids).
  static LexicalShortlist build(const std::vector<Example>& pairs, int64_t src_vocab_size,
                                int64_t tgt_vocab_size, const ShortlistOptions& options);
  // From its tensors (an exported file's, a saved one's); UserError when they do not fit.
  LexicalShortlist(torch::Tensor table, torch::Tensor always, int64_t tgt_vocab_size);

  // The sorted target ids a batch of source ids (B,S) may produce.
  torch::Tensor candidates(const torch::Tensor& src) const;

  // (Vs, per_word) int64: each source id's target ids, padded with <pad>
  // (a special, so always a candidate anyway).
  const torch::Tensor& table() const { return table_; }
  // The specials and the frequent target ids.
  const torch::Tensor& always() const { return always_; }
  int64_t tgt_vocab_size() const { return tgt_vocab_size_; }

 private:
  torch::Tensor table_, always_;
  int64_t tgt_vocab_size_ = 0;
};

}  // namespace attnzoo
