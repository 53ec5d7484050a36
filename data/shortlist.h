#pragma once
// Word associations from the training pairs' co-occurrences, and what is
// built on them:
//  - a lexical shortlist (as Marian's --shortlist): the target words a batch
//    of sources may translate to, so that each decoding step projects onto
//    those few hundred instead of the whole vocabulary. It holds the
//    `frequent` most frequent target words, and for each source word the
//    `per_word` target words that co-occur with it most strongly; a batch's
//    candidates are the special tokens, the frequent words and the lists of
//    its source words;
//  - a word-level phrase table for --replace-unk: each source word's most
//    associated target word.
#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "data/batching.h"

namespace attnzoo {

struct Association {
  int64_t target = 0;
  double dice = 0.0;     // 2 c(s,t) / (c(s) + c(t)), counts of sentences
  int64_t together = 0;  // c(s,t): the sentences holding both
};

// Each source id's associated target ids, at most k, best first: by the Dice
// coefficient over sentences (each pair's distinct words counted once), ties
// to the target nearer on average in relative position (the first
// occurrences'), then to the lower id. Ids below first_id (the specials) are
// left out on both sides; ids outside [0, size) are ignored.
std::vector<std::vector<Association>> dice_associations(const std::vector<Example>& pairs,
                                                        int64_t src_size, int64_t tgt_size,
                                                        int64_t k, int64_t first_id);

struct PhraseTableOptions {
  int64_t min_together = 1;  // sentences that must hold both words
  double min_dice = 0.0;
};

// A word-level phrase table from tokenised sentence pairs: each source
// token's most associated target token (dice_associations), where it passes
// the options' bounds. The format of --phrase-table, unordered.
using TokenPair = std::pair<std::vector<std::string>, std::vector<std::string>>;
std::map<std::string, std::string> dice_phrase_table(const std::vector<TokenPair>& pairs,
                                                     const PhraseTableOptions& options);

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
