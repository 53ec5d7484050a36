#pragma once
// Vocab: the token <-> id table of one language side. Ids 0..3 are the special
// tokens <pad>, <unk>, <bos>, <eos>; the rest are ordered by frequency.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace attnzoo {

class Vocab {
 public:
  static constexpr int64_t kPad = 0;
  static constexpr int64_t kUnk = 1;
  static constexpr int64_t kBos = 2;
  static constexpr int64_t kEos = 3;
  static constexpr int64_t kNumSpecials = 4;

  Vocab();  // specials only

  // Counts tokens over `sentences`, keeps those seen at least `min_freq` times,
  // most frequent first (ties by token, so the result is deterministic), at most
  // `max_size` entries in all (0: no limit).
  static Vocab build(const std::vector<std::vector<std::string>>& sentences, int64_t min_freq = 1,
                     int64_t max_size = 0);

  int64_t size() const { return static_cast<int64_t>(tokens_.size()); }
  int64_t id(const std::string& token) const;  // kUnk when absent
  const std::string& token(int64_t id) const;
  bool contains(const std::string& token) const { return index_.count(token) > 0; }

  std::vector<int64_t> encode(const std::vector<std::string>& tokens) const;
  // Tokens up to the first <eos>, without special tokens other than <unk>.
  std::vector<std::string> decode(const std::vector<int64_t>& ids) const;

  nlohmann::json to_json() const;
  static Vocab from_json(const nlohmann::json& j, const std::string& where = "vocabulary");
  void save(const std::string& path) const;
  static Vocab load(const std::string& path);

  bool operator==(const Vocab& other) const { return tokens_ == other.tokens_; }

 private:
  explicit Vocab(std::vector<std::string> tokens);
  std::vector<std::string> tokens_;
  std::unordered_map<std::string, int64_t> index_;
};

}  // namespace attnzoo
