#pragma once
// UTF-8 helpers: validation, code point conversion, and case folding for the
// scripts our corpora use (Latin, Greek, Cyrillic).
#include <string>
#include <string_view>

namespace attnzoo {

// Byte offset of the first invalid sequence, or std::string::npos when `s` is valid UTF-8.
size_t find_invalid_utf8(std::string_view s);

std::u32string utf8_to_u32(std::string_view s);
std::string u32_to_utf8(std::u32string_view s);
std::string u32_to_utf8(char32_t c);

char32_t to_lower(char32_t c);
std::string to_lower(std::string_view s);

bool is_space(char32_t c);
// Unicode punctuation and symbols in the ranges our tokenizers split on.
bool is_punct(char32_t c);

}  // namespace attnzoo
