#include "data/vocab.h"

#include <algorithm>
#include <fstream>

#include "data/error.h"
#include "data/files.h"

namespace attnzoo {
namespace {
const std::vector<std::string> kSpecials = {"<pad>", "<unk>", "<bos>", "<eos>"};
}

Vocab::Vocab() : Vocab(kSpecials) {}

Vocab::Vocab(std::vector<std::string> tokens) : tokens_(std::move(tokens)) {
  for (size_t i = 0; i < tokens_.size(); ++i) index_.emplace(tokens_[i], static_cast<int64_t>(i));
}

Vocab Vocab::build(const std::vector<std::vector<std::string>>& sentences, int64_t min_freq,
                   int64_t max_size) {
  std::unordered_map<std::string, int64_t> counts;
  for (const auto& sentence : sentences)
    for (const auto& token : sentence) ++counts[token];
  std::vector<std::pair<std::string, int64_t>> sorted;
  for (auto& [token, count] : counts) {
    const bool special = std::find(kSpecials.begin(), kSpecials.end(), token) != kSpecials.end();
    if (count >= min_freq && !special) sorted.emplace_back(token, count);
  }
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  std::vector<std::string> tokens = kSpecials;
  for (const auto& [token, count] : sorted) {
    if (max_size > 0 && static_cast<int64_t>(tokens.size()) >= max_size) break;
    tokens.push_back(token);
  }
  return Vocab(std::move(tokens));
}

int64_t Vocab::id(const std::string& token) const {
  const auto it = index_.find(token);
  return it == index_.end() ? kUnk : it->second;
}

const std::string& Vocab::token(int64_t id) const {
  return tokens_.at(id >= 0 && id < size() ? id : kUnk);
}

std::vector<int64_t> Vocab::encode(const std::vector<std::string>& tokens) const {
  std::vector<int64_t> ids;
  ids.reserve(tokens.size());
  for (const auto& t : tokens) ids.push_back(id(t));
  return ids;
}

std::vector<std::string> Vocab::decode(const std::vector<int64_t>& ids) const {
  std::vector<std::string> tokens;
  for (int64_t i : ids) {
    if (i == kEos) break;
    if (i == kPad || i == kBos) continue;
    tokens.push_back(token(i));
  }
  return tokens;
}

nlohmann::json Vocab::to_json() const { return {{"tokens", tokens_}}; }

Vocab Vocab::from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object() || !j.contains("tokens") || !j["tokens"].is_array())
    throw UserError("{}: expected an object with a \"tokens\" array", where);
  std::vector<std::string> tokens;
  for (const auto& t : j["tokens"]) {
    if (!t.is_string()) throw UserError("{}: every token must be a string", where);
    tokens.push_back(t.get<std::string>());
  }
  if (tokens.size() < kSpecials.size() ||
      !std::equal(kSpecials.begin(), kSpecials.end(), tokens.begin()))
    throw UserError("{}: must start with <pad>, <unk>, <bos>, <eos>", where);
  return Vocab(std::move(tokens));
}

void Vocab::save(const std::string& path) const {
  write_file_atomically(path, to_json().dump() + "\n", "the vocabulary");
}

Vocab Vocab::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw UserError("{}: no such file", path);
  nlohmann::json j;
  try {
    in >> j;
  } catch (const nlohmann::json::exception& e) {
    throw UserError("{}: not valid JSON ({})", path, e.what());
  }
  return from_json(j, path);
}

}  // namespace attnzoo
