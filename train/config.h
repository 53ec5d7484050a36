#pragma once
// JSON configs: defaults, files, and command-line overrides (`--set train.lr=3e-4`).
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace attnzoo {

// Parses a JSON file; UserError names the file and the line of a syntax error.
nlohmann::json read_json_file(const std::string& path);
void write_json_file(const std::string& path, const nlohmann::json& j);

// `user` laid over `defaults`, recursively. A key of `user` that `defaults`
// does not have is an error naming its dotted path (a typo must not be ignored),
// as is a value whose JSON type differs from the default's (numbers mix freely).
nlohmann::json merge_config(const nlohmann::json& defaults, const nlohmann::json& user,
                            const std::string& where = "config");

// Applies "a.b.c=value": value parsed as JSON when it parses, else taken as a string.
void apply_override(nlohmann::json& config, const std::string& assignment);

}  // namespace attnzoo
