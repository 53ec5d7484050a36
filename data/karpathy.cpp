#include "data/karpathy.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

#include "data/error.h"
#include "data/files.h"
#include "data/text_io.h"

namespace attnzoo {

namespace {

std::string split_name(const std::string& s, const std::string& where) {
  if (s == "train" || s == "restval") return "train";
  if (s == "val") return "valid";
  if (s == "test") return "test";
  throw UserError("{}: split \"{}\" is not one of train, restval, val, test", where, s);
}

}  // namespace

std::vector<KarpathyImage> read_karpathy(const std::string& path) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(read_bytes(path));
  } catch (const nlohmann::json::exception& e) {
    throw UserError("{}: not valid JSON ({})", path, e.what());
  }
  if (!doc.is_object() || !doc.contains("images") || !doc.at("images").is_array())
    throw UserError("{}: no \"images\" list (not a Karpathy split file)", path);
  std::vector<KarpathyImage> out;
  const auto& images = doc.at("images");
  out.reserve(images.size());
  for (size_t i = 0; i < images.size(); ++i) {
    const auto& entry = images[i];
    const std::string where = path + ": images[" + std::to_string(i) + "]";
    if (!entry.is_object() || !entry.contains("filename") || !entry.at("filename").is_string())
      throw UserError("{}: no \"filename\"", where);
    if (!entry.contains("split") || !entry.at("split").is_string())
      throw UserError("{}: no \"split\"", where);
    KarpathyImage image;
    const std::string dir =
        entry.contains("filepath") && entry.at("filepath").is_string() ? entry.at("filepath") : "";
    image.file = dir.empty() ? entry.at("filename").get<std::string>()
                             : dir + "/" + entry.at("filename").get<std::string>();
    image.split = split_name(entry.at("split"), where);
    if (entry.contains("sentences")) {
      if (!entry.at("sentences").is_array())
        throw UserError("{}: \"sentences\" is not a list", where);
      for (const auto& sentence : entry.at("sentences")) {
        std::string caption;
        if (sentence.contains("tokens") && sentence.at("tokens").is_array()) {
          for (const auto& token : sentence.at("tokens")) {
            if (!token.is_string()) throw UserError("{}: a token is not a string", where);
            caption += (caption.empty() ? "" : " ") + token.get<std::string>();
          }
        } else if (sentence.contains("raw") && sentence.at("raw").is_string()) {
          caption = trim(sentence.at("raw").get<std::string>());
        } else {
          throw UserError("{}: a sentence has neither \"tokens\" nor \"raw\"", where);
        }
        if (!caption.empty()) image.captions.push_back(std::move(caption));
      }
    }
    out.push_back(std::move(image));
  }
  if (out.empty()) throw UserError("{}: no images", path);
  return out;
}

void write_karpathy(const std::string& path, const std::string& dataset,
                    const std::vector<KarpathyImage>& images) {
  nlohmann::json list = nlohmann::json::array();
  int64_t sentence_id = 0;
  for (size_t i = 0; i < images.size(); ++i) {
    const auto& image = images[i];
    nlohmann::json sentences = nlohmann::json::array(), ids = nlohmann::json::array();
    for (const auto& caption : image.captions) {
      std::vector<std::string> tokens;
      std::istringstream in(caption);
      for (std::string t; in >> t;) tokens.push_back(t);
      sentences.push_back(
          {{"tokens", tokens}, {"raw", caption}, {"imgid", i}, {"sentid", sentence_id}});
      ids.push_back(sentence_id++);
    }
    list.push_back({{"filename", image.file},
                    {"split", image.split == "valid" ? "val" : image.split},
                    {"imgid", i},
                    {"sentids", ids},
                    {"sentences", sentences}});
  }
  write_file_atomically(path, nlohmann::json{{"images", list}, {"dataset", dataset}}.dump() + "\n",
                        "the Karpathy JSON");
}

}  // namespace attnzoo
