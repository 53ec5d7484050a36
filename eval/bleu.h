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

// BLEU from sufficient statistics (sacreBLEU's compute_bleu with 'exp' smoothing).
BleuScore bleu_from_statistics(const std::array<int64_t, 4>& correct, const std::array<int64_t, 4>& total,
                               int64_t sys_len, int64_t ref_len);

}  // namespace attnzoo
