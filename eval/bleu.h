#pragma once
// Corpus BLEU identical to sacreBLEU's defaults: the 13a tokenizer, exponential
// smoothing, the closest reference length (ties: the shorter), any number of
// references per sentence.
#include <nlohmann/json.hpp>

#include <array>
#include <string>
#include <vector>

namespace attnzoo {

struct BleuOptions {
  bool lowercase = false;
  std::string tokenize = "13a";  // 13a | none
};

struct BleuScore {
  double score = 0.0;                  // 0-100
  std::array<double, 4> precisions{};  // 0-100
  std::array<int64_t, 4> correct{};
  std::array<int64_t, 4> total{};
  double bp = 0.0;
  int64_t sys_len = 0;
  int64_t ref_len = 0;
  nlohmann::json to_json() const;
};

// sacreBLEU's 13a tokenization of one line.
std::string tokenize_13a(const std::string& line);

// references[r][i] is the r-th reference of hypothesis i.
BleuScore corpus_bleu(const std::vector<std::string>& hypotheses,
                      const std::vector<std::vector<std::string>>& references,
                      const BleuOptions& options = {});

// Corpus BLEU of the sentences whose source has `from`..`to` words.
struct LengthBucket {
  int64_t from = 0, to = 0;  // source words, inclusive
  int64_t sentences = 0;
  double bleu = 0.0;
};

// Buckets of `width` source words (1-5, 6-10, ...); a tail bucket with fewer
// than `min_sentences` sentences is merged into the one before it.
std::vector<LengthBucket> bleu_by_source_length(
    const std::vector<std::string>& sources, const std::vector<std::string>& hypotheses,
    const std::vector<std::vector<std::string>>& references, int64_t width = 5,
    int64_t min_sentences = 25, const BleuOptions& options = {});

// BLEU from sufficient statistics (sacreBLEU's compute_bleu with 'exp'
// smoothing), over n-grams up to `max_order` (sacreBLEU's max_ngram_order).
BleuScore bleu_from_statistics(const std::array<int64_t, 4>& correct,
                               const std::array<int64_t, 4>& total, int64_t sys_len,
                               int64_t ref_len, int max_order = 4);

// BLEU-n (1..4) of a corpus score, from its statistics: captioning's BLEU-1..4.
double bleu_at_order(const BleuScore& score, int order);

}  // namespace attnzoo
