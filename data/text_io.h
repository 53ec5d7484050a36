#pragma once
// Line-oriented text readers: plain or gzip files, validated as UTF-8.
#include <string>
#include <utility>
#include <vector>

namespace attnzoo {

// All lines of `path` (plain text or .gz; zlib reads both), without the line
// ending (\n or \r\n). Throws UserError naming the file and line for a missing
// file or invalid UTF-8.
std::vector<std::string> read_lines(const std::string& path);

// The whole content of `path`, decompressed where it is gzip. Throws
// UserError naming the file when it is missing or unreadable.
std::string read_bytes(const std::string& path);

// Writes lines to `path` (plain text), one per line.
void write_lines(const std::string& path, const std::vector<std::string>& lines);

bool file_exists(const std::string& path);

// Whitespace trimmed from both ends.
std::string trim(const std::string& s);

}  // namespace attnzoo
