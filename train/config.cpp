#include "train/config.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
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

namespace {

std::string& config_command() {
  static std::string command;
  return command;
}

// Edits (insert, delete, substitute, swap two neighbours) from a to b: the
// optimal string alignment distance, so "tvs" is one edit from "tsv".
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i)
    for (size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min(
          {d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

void collect_keys(const nlohmann::json& config, const std::string& prefix, bool with_sections,
                  std::vector<std::string>& out) {
  for (const auto& [key, value] : config.items()) {
    const std::string path = prefix.empty() ? key : prefix + "." + key;
    if (value.is_object() && !value.empty()) {
      if (with_sections) out.push_back(path);
      collect_keys(value, path, with_sections, out);
    } else {
      out.push_back(path);
    }
  }
}

nlohmann::json merge_at(const nlohmann::json& root, const nlohmann::json& defaults,
                        const nlohmann::json& user, const std::string& where,
                        const std::string& prefix) {
  if (!user.is_object()) throw UserError("{}: expected a JSON object", where);
  nlohmann::json result = defaults;
  for (const auto& [key, value] : user.items()) {
    // "file.json.train.lr", or for `--set ` (trailing space) "--set train.lr"
    const std::string path =
        !where.empty() && where.back() == ' ' ? where + key : where + "." + key;
    const std::string dotted = prefix.empty() ? key : prefix + "." + key;
    if (!defaults.contains(key)) {
      const auto near = nearest_config_keys(root, key, prefix);
      throw UserError(
          "{}: unknown key{}{}", path,
          near.empty() ? "" : fmt::format("; the nearest: {}", fmt::join(near, ", ")),
          config_command().empty() ? "" : fmt::format(" (`{}` lists every key)", config_command()));
    }
    const auto& def = defaults[key];
    if (def.is_object() && !def.empty()) {
      result[key] = merge_at(root, def, value, path, dotted);
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

}  // namespace

nlohmann::json merge_config(const nlohmann::json& defaults, const nlohmann::json& user,
                            const std::string& where) {
  return merge_at(defaults, defaults, user, where, "");
}

void set_config_command(const std::string& command) { config_command() = command; }

std::vector<std::string> config_keys(const nlohmann::json& config) {
  std::vector<std::string> out;
  collect_keys(config, "", false, out);
  return out;
}

std::vector<std::string> nearest_config_keys(const nlohmann::json& config, const std::string& key,
                                             const std::string& parent, size_t n) {
  std::vector<std::string> all;
  collect_keys(config, "", true, all);
  std::vector<std::pair<double, std::string>> scored;
  for (const auto& path : all) {
    const auto dot = path.rfind('.');
    const std::string name = dot == std::string::npos ? path : path.substr(dot + 1);
    const std::string its_parent = dot == std::string::npos ? "" : path.substr(0, dot);
    const double distance = static_cast<double>(edit_distance(key, name));
    // Too far to be a typo of it: more than half its letters changed.
    if (distance > std::max<double>(2.0, 0.6 * static_cast<double>(key.size())) &&
        its_parent != parent)
      continue;
    scored.emplace_back(distance - (its_parent == parent ? 0.5 : 0.0), path);
  }
  std::stable_sort(scored.begin(), scored.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> out;
  for (size_t i = 0; i < scored.size() && out.size() < n; ++i) out.push_back(scored[i].second);
  return out;
}

std::vector<std::string> config_help_mismatches(const nlohmann::json& defaults,
                                                const nlohmann::json& help) {
  const auto want = config_keys(defaults);
  const auto have = config_keys(help);
  std::vector<std::string> out;
  for (const auto& key : want)
    if (std::find(have.begin(), have.end(), key) == have.end()) out.push_back(key);
  for (const auto& key : have)
    if (std::find(want.begin(), want.end(), key) == want.end()) out.push_back("+ " + key);
  return out;
}

namespace {

const nlohmann::json* find_dotted(const nlohmann::json& config, const std::string& dotted) {
  const nlohmann::json* at = &config;
  std::stringstream ss(dotted);
  for (std::string part; std::getline(ss, part, '.');) {
    if (!at->is_object() || !at->contains(part)) return nullptr;
    at = &(*at)[part];
  }
  return at;
}

}  // namespace

std::string config_reference(const nlohmann::json& defaults, const nlohmann::json& help,
                             bool markdown) {
  std::string out, section;
  for (const auto& key : config_keys(defaults)) {
    const auto* text = find_dotted(help, key);
    const std::string description =
        text != nullptr && text->is_string() ? text->get<std::string>() : "(not described)";
    const std::string value = find_dotted(defaults, key)->dump();
    if (!markdown) {
      out += fmt::format("{} = {}\n    {}\n", key, value, description);
      continue;
    }
    const std::string top = key.substr(0, key.find('.'));
    if (top != section) {
      section = top;
      out += fmt::format("\n### `{}`\n\n| key | default | what it sets |\n|---|---|---|\n", top);
    }
    // Markdown table cells: | splits a cell, and <word> would be read as HTML.
    std::string cell;
    for (const char c : description)
      cell += c == '|'   ? std::string("\\|")
              : c == '<' ? std::string("&lt;")
              : c == '>' ? std::string("&gt;")
                         : std::string(1, c);
    out += fmt::format("| `{}` | `{}` | {} |\n", key, value, cell);
  }
  return out;
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
