#pragma once
// The translate app's config: every key with its default and its one-line
// description (`translate config`), and a config file laid over them.
#include <nlohmann/json.hpp>

#include <string>

namespace attnzoo {

// Every key a translate config may set, with its default.
nlohmann::json default_translate_config();
// Its one-line descriptions, of the same shape (`translate config`).
nlohmann::json translate_config_help();
// The config file laid over the defaults (unknown keys are errors).
nlohmann::json load_translate_config(const std::string& path);

}  // namespace attnzoo
