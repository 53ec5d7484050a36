#include "data/parallel_corpus.h"

#include "data/error.h"
#include "data/text_io.h"

namespace attnzoo {

std::vector<SentencePair> read_parallel(const std::string& src_path, const std::string& tgt_path) {
  const auto src = read_lines(src_path);
  const auto tgt = read_lines(tgt_path);
  if (src.size() != tgt.size())
    throw UserError("{} has {} lines but {} has {}: the files are not aligned", src_path,
                    src.size(), tgt_path, tgt.size());
  if (src.empty()) throw UserError("{}: empty corpus", src_path);
  std::vector<SentencePair> pairs;
  pairs.reserve(src.size());
  for (size_t i = 0; i < src.size(); ++i) {
    std::string s = trim(src[i]), t = trim(tgt[i]);
    if (s.empty() != t.empty())
      throw UserError("{}:{}: line is empty on one side only ({} vs {})", src_path, i + 1, src_path,
                      tgt_path);
    if (!s.empty()) pairs.push_back({std::move(s), std::move(t)});
  }
  if (pairs.empty()) throw UserError("{}: empty corpus (only blank lines)", src_path);
  return pairs;
}

std::vector<SentencePair> read_tsv_pairs(const std::string& path, bool swap) {
  const auto lines = read_lines(path);
  std::vector<SentencePair> pairs;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (trim(lines[i]).empty()) continue;
    const auto tab = lines[i].find('\t');
    if (tab == std::string::npos)
      throw UserError("{}:{}: expected two tab-separated columns (source<TAB>target)", path, i + 1);
    const auto tab2 = lines[i].find('\t', tab + 1);
    std::string a = trim(lines[i].substr(0, tab));
    std::string b =
        trim(lines[i].substr(tab + 1, tab2 == std::string::npos ? tab2 : tab2 - tab - 1));
    if (a.empty() || b.empty())
      throw UserError("{}:{}: empty source or target column", path, i + 1);
    pairs.push_back(swap ? SentencePair{std::move(b), std::move(a)}
                         : SentencePair{std::move(a), std::move(b)});
  }
  if (pairs.empty()) throw UserError("{}: empty corpus", path);
  return pairs;
}

std::string split_file(const std::string& dir, const std::string& split, const std::string& lang) {
  const std::string base = dir + "/" + split + "." + lang;
  if (file_exists(base + ".gz")) return base + ".gz";
  if (file_exists(base)) return base;
  throw UserError("no {}.gz or {} (data dir {}, split {}, language {})", base, base, dir, split,
                  lang);
}

}  // namespace attnzoo
