#include "data/translation_data.h"

#include <string>

#include "data/batching.h"
#include "data/dates.h"
#include "data/error.h"

namespace attnzoo {

TranslationSplits load_translation_data(const nlohmann::json& d) {
  const std::string source = d.at("source");
  TranslationSplits s;
  if (source == "dates") {
    const auto& g = d.at("dates");
    const uint64_t seed = g.at("seed").get<uint64_t>();
    s.train = generate_dates(g.at("train_size").get<size_t>(), seed);
    s.valid = generate_dates(g.at("valid_size").get<size_t>(), seed + 1000);
    s.test = generate_dates(g.at("test_size").get<size_t>(), seed + 2000);
  } else if (source == "parallel") {
    const std::string dir = d.at("dir");
    const std::string src = d.at("src_lang"), tgt = d.at("tgt_lang");
    auto read_split = [&](const std::string& split) {
      const std::string src_path = split_file(dir, split, src);
      const std::string tgt_path = split_file(dir, split, tgt);
      return read_parallel(src_path, tgt_path);
    };
    s.train = read_split(d.at("train"));
    s.valid = read_split(d.at("valid"));
    if (!d.at("test").get<std::string>().empty()) s.test = read_split(d.at("test"));
  } else if (source == "tsv") {
    if (d.at("tsv").get<std::string>().empty())
      throw UserError(
          "config: data.tsv is empty: data.source tsv reads its pairs from the file data.tsv "
          "names ('source<TAB>target' lines): --set data.tsv=FILE");
    auto pairs = read_tsv_pairs(d.at("tsv"), d.at("tsv_swap").get<bool>());
    const auto order = permutation(pairs.size(), 12345);
    const auto n = pairs.size();
    const auto n_valid = static_cast<size_t>(d.at("valid_fraction").get<double>() * n);
    const auto n_test = static_cast<size_t>(d.at("test_fraction").get<double>() * n);
    for (size_t i = 0; i < n; ++i) {
      auto& dest = i < n_valid ? s.valid : i < n_valid + n_test ? s.test : s.train;
      dest.push_back(std::move(pairs[order[i]]));
    }
    if (s.train.empty() || s.valid.empty())
      throw UserError("{}: too few pairs ({}) to split into train and validation",
                      d.at("tsv").get<std::string>(), n);
  } else {
    throw UserError("config: data.source \"{}\" is not one of parallel, tsv, dates", source);
  }
  return s;
}

}  // namespace attnzoo
