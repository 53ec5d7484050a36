#pragma once
// Kinds are types: a config's choice among names ("additive", "lstm", ...)
// becomes an enum once, where its options are read, and the code switches on
// the enum. Each enum lists its names once, in a Choices table beside it:
//
//   enum class Cell { kGru, kLstm };
//   inline const Choices<Cell>& cells() {
//     static const Choices<Cell> c = {{"gru", Cell::kGru}, {"lstm", Cell::kLstm}};
//     return c;
//   }
//   Cell cell = parse_choice(config.at("rnn"), "model.rnn", cells());
//   choice_name(cell, cells())  // "lstm"
#include <nlohmann/json.hpp>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "data/error.h"

namespace attnzoo {

template <class E>
using Choices = std::vector<std::pair<std::string, E>>;

// The names of `choices` but those of `except`, "a, b, c" (for help texts
// and errors; `separator` between them).
template <class E>
std::string choice_names(const Choices<E>& choices, const std::vector<E>& except = {},
                         const std::string& separator = ", ") {
  std::string out;
  for (const auto& [name, value] : choices)
    if (std::find(except.begin(), except.end(), value) == except.end())
      out += (out.empty() ? "" : separator) + name;
  return out;
}

// The value named `name`; UserError "KEY: "x" is not one of a, b, c" otherwise.
template <class E>
E parse_choice(const std::string& name, const std::string& key, const Choices<E>& choices) {
  for (const auto& [n, value] : choices)
    if (n == name) return value;
  throw UserError("{}: \"{}\" is not one of {}", key, name, choice_names(choices));
}

// The same from a JSON value, which must be one of the names.
template <class E>
E parse_choice(const nlohmann::json& value, const std::string& key, const Choices<E>& choices) {
  if (!value.is_string())
    throw UserError("{}: {} is not one of {}", key, value.dump(), choice_names(choices));
  return parse_choice(value.get<std::string>(), key, choices);
}

// section.key of a config section `j` when present, else `fallback`.
template <class E>
E choice_at(const nlohmann::json& j, const std::string& section, const std::string& key, E fallback,
            const Choices<E>& choices) {
  return j.contains(key) ? parse_choice(j.at(key), section + "." + key, choices) : fallback;
}

// The name of `value`.
template <class E>
const std::string& choice_name(E value, const Choices<E>& choices) {
  for (const auto& [name, v] : choices)
    if (v == value) return name;
  throw std::logic_error("choice_name: a value without a name");
}

}  // namespace attnzoo
