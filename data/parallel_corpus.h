#pragma once
// Readers for sentence-aligned text: two aligned files (Multi30k style:
// `<dir>/<split>.<lang>[.gz]`) or one tab-separated file of pairs (the
// Tatoeba/manythings `eng-fra.txt` format; a third column is ignored).
#include <string>
#include <vector>

namespace attnzoo {

struct SentencePair {
  std::string src;
  std::string tgt;
};

// Lines of two aligned files. Throws UserError when the counts differ, a line
// is empty on one side only, or there is nothing to read.
std::vector<SentencePair> read_parallel(const std::string& src_path, const std::string& tgt_path);

// Pairs from a TSV file: column 1 is the source, column 2 the target (or the
// reverse with `swap`). Throws UserError naming the line of a malformed row.
std::vector<SentencePair> read_tsv_pairs(const std::string& path, bool swap = false);

// `<dir>/<split>.<lang>.gz` when it exists, else `<dir>/<split>.<lang>`.
// Throws UserError naming both when neither exists.
std::string split_file(const std::string& dir, const std::string& split, const std::string& lang);

}  // namespace attnzoo
