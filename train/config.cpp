#include "train/config.h"

#include <fstream>
#include <sstream>

#include "data/error.h"
#include "data/files.h"

namespace attnzoo {

nlohmann::json read_json_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw UserError("{}: no such file", path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    const size_t at = std::min<size_t>(e.byte, text.size());
    const auto line =
        1 +
        std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at ? at - 1 : 0), '\n');
    throw UserError("{}:{}: invalid JSON ({})", path, line, e.what());
  }
}

void write_json_file(const std::string& path, const nlohmann::json& j) {
  write_file_atomically(path, j.dump(2) + "\n", "the JSON file");
}

namespace {
bool same_kind(const nlohmann::json& a, const nlohmann::json& b) {
  if (a.is_number() && b.is_number()) return true;
  if (a.is_null() || b.is_null()) return true;
  return a.type() == b.type();
}
}  // namespace

nlohmann::json merge_config(const nlohmann::json& defaults, const nlohmann::json& user,
                            const std::string& where) {
  if (!user.is_object()) throw UserError("{}: expected a JSON object", where);
  nlohmann::json result = defaults;
  for (const auto& [key, value] : user.items()) {
    // "file.json.train.lr", or for `--set ` (trailing space) "--set train.lr"
    const std::string path = !where.empty() && where.back() == ' ' ? where + key : where + "." + key;
    if (!defaults.contains(key)) throw UserError("{}: unknown key", path);
    const auto& def = defaults[key];
    if (def.is_object() && !def.empty()) {
      result[key] = merge_config(def, value, path);
    } else {
      if (!same_kind(def, value))
        throw UserError("{}: expected a {} but got {}", path, def.type_name(), value.dump());
      // Integers stay integers: a float given for an integer setting is an error.
      if (def.is_number_integer() && value.is_number_float())
        throw UserError("{}: expected an integer but got {}", path, value.dump());
      // Sizes, counts, rates and weights are never negative: a value below 0
      // where the default is not is a mistake, not a request for the default.
      if (def.is_number() && value.is_number() && def.get<double>() >= 0 && value.get<double>() < 0)
        throw UserError("{}: must be 0 or more (got {})", path, value.dump());
      if (key == "batch_size" && value.is_number() && value.get<double>() < 1)
        throw UserError("{}: must be at least 1 (got {})", path, value.dump());
      result[key] = value;
    }
  }
  return result;
}

void apply_override(nlohmann::json& config, const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw UserError("--set {}: expected key.path=value", assignment);
  const std::string key = assignment.substr(0, eq);
  const std::string text = assignment.substr(eq + 1);
  nlohmann::json value;
  try {
    value = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error&) {
    value = text;
  }
  nlohmann::json patch = value;
  std::vector<std::string> parts;
  std::stringstream ss(key);
  for (std::string part; std::getline(ss, part, '.');) parts.push_back(part);
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) patch = nlohmann::json{{*it, patch}};
  config = merge_config(config, patch, "--set ");
}

}  // namespace attnzoo
