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

// The command that lists an app's keys ("translate config"), named by the
// unknown-key error; run_app sets it.
void set_config_command(const std::string& command);

// ---------------------------------------------------------------------------
// The config reference. Each app's defaults have a twin of the same shape
// whose leaves are one-line descriptions (translate_config_help() beside
// default_translate_config() ...): `APP config` prints both, and
// docs/configs.md is generated from them.

// Every leaf of `config` as a dotted key ("train.schedule.kind"), in order.
std::vector<std::string> config_keys(const nlohmann::json& config);

// The dotted keys of `defaults` that `help` does not describe, and those that
// `help` describes but `defaults` lacks ("+ key"): empty when the two agree.
std::vector<std::string> config_help_mismatches(const nlohmann::json& defaults,
                                                const nlohmann::json& help);

// `defaults` with their descriptions: "key = value  # description" lines, or
// with `markdown` one table per top-level section.
std::string config_reference(const nlohmann::json& defaults, const nlohmann::json& help,
                             bool markdown);

// Up to `n` keys of `config` (dotted) nearest to `key` by edit distance of
// their last part, those under `parent` first on ties.
std::vector<std::string> nearest_config_keys(const nlohmann::json& config, const std::string& key,
                                             const std::string& parent, size_t n = 3);

}  // namespace attnzoo
