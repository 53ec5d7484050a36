#pragma once
// The caption app's config: every key with its default and its one-line
// description (`caption config`), and a config file laid over them.
#include <nlohmann/json.hpp>

#include <string>

namespace attnzoo {

nlohmann::json default_caption_config();
// Its one-line descriptions, of the same shape (`caption config`).
nlohmann::json caption_config_help();
nlohmann::json load_caption_config(const std::string& path);

}  // namespace attnzoo
