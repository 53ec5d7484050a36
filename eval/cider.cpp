#include "eval/cider.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include "data/error.h"

namespace attnzoo {
namespace {

constexpr int kOrders = 4;

using Counts = std::map<std::string, double>;  // n-gram (words joined by ' ') -> count

struct Doc {
  std::array<Counts, kOrders> counts;
  int64_t length = 0;  // words
};

Doc count_ngrams(const std::string& sentence) {
  std::istringstream in(sentence);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  Doc d;
  d.length = static_cast<int64_t>(words.size());
  for (int n = 1; n <= kOrders; ++n)
    for (size_t i = 0; i + n <= words.size(); ++i) {
      std::string gram = words[i];
      for (int k = 1; k < n; ++k) gram += ' ' + words[i + k];
      d.counts[n - 1][gram] += 1.0;
    }
  return d;
}

// TF-IDF weights per order and their Euclidean norms.
struct Vec {
  std::array<Counts, kOrders> weights;
  std::array<double, kOrders> norms{};
  int64_t length = 0;
};

Vec tf_idf(const Doc& d, const std::map<std::string, double>& df, double log_images) {
  Vec v;
  v.length = d.length;
  for (int n = 0; n < kOrders; ++n) {
    for (const auto& [gram, tf] : d.counts[n]) {
      const auto it = df.find(gram);
      const double log_df = std::log(std::max(1.0, it == df.end() ? 0.0 : it->second));
      const double w = tf * (log_images - log_df);
      v.weights[n][gram] = w;
      v.norms[n] += w * w;
    }
    v.norms[n] = std::sqrt(v.norms[n]);
  }
  return v;
}

// Per-order similarity of candidate c to reference r, with clipping and the length penalty.
std::array<double, kOrders> similarity(const Vec& c, const Vec& r, double sigma) {
  const double delta = static_cast<double>(c.length - r.length);
  std::array<double, kOrders> val{};
  for (int n = 0; n < kOrders; ++n) {
    for (const auto& [gram, w] : c.weights[n]) {
      const auto it = r.weights[n].find(gram);
      if (it != r.weights[n].end()) val[n] += std::min(w, it->second) * it->second;
    }
    if (c.norms[n] != 0.0 && r.norms[n] != 0.0) val[n] /= c.norms[n] * r.norms[n];
    val[n] *= std::exp(-(delta * delta) / (2.0 * sigma * sigma));
  }
  return val;
}

}  // namespace

CiderScore cider_d(const std::vector<std::string>& candidates,
                   const std::vector<std::vector<std::string>>& references, double sigma) {
  if (candidates.size() != references.size())
    throw UserError("CIDEr-D: {} candidates for {} reference sets", candidates.size(),
                    references.size());
  CiderScore result;
  if (candidates.empty()) return result;
  // Document frequency: in how many images' reference sets each n-gram occurs.
  std::vector<std::vector<Doc>> ref_docs(references.size());
  std::map<std::string, double> df;
  for (size_t i = 0; i < references.size(); ++i) {
    if (references[i].empty())
      throw UserError("CIDEr-D: image {} has no reference captions", i + 1);
    std::set<std::string> seen;
    for (const auto& ref : references[i]) {
      ref_docs[i].push_back(count_ngrams(ref));
      for (const auto& order : ref_docs[i].back().counts)
        for (const auto& entry : order) seen.insert(entry.first);
    }
    for (const auto& gram : seen) df[gram] += 1.0;
  }
  const double log_images = std::log(static_cast<double>(references.size()));
  result.per_image.reserve(candidates.size());
  for (size_t i = 0; i < candidates.size(); ++i) {
    const Vec c = tf_idf(count_ngrams(candidates[i]), df, log_images);
    double total = 0.0;
    for (const auto& ref : ref_docs[i]) {
      const auto val = similarity(c, tf_idf(ref, df, log_images), sigma);
      for (double v : val) total += v / kOrders;
    }
    result.per_image.push_back(10.0 * total / static_cast<double>(ref_docs[i].size()));
  }
  double sum = 0.0;
  for (double s : result.per_image) sum += s;
  result.score = sum / static_cast<double>(result.per_image.size());
  return result;
}

}  // namespace attnzoo
