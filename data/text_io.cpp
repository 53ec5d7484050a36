#include "data/text_io.h"

#include <zlib.h>

#include <filesystem>
#include <fstream>

#include "data/error.h"
#include "data/utf8.h"

namespace attnzoo {

bool file_exists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec);
}

std::string read_bytes(const std::string& path) {
  if (!file_exists(path)) throw UserError("{}: no such file", path);
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) throw UserError("{}: cannot open for reading", path);
  std::string bytes;
  char buffer[1 << 16];
  int n = 0;
  while ((n = gzread(f, buffer, sizeof(buffer))) > 0) bytes.append(buffer, static_cast<size_t>(n));
  int err = 0;
  const char* msg = gzerror(f, &err);
  const std::string error_text = (n < 0 && msg != nullptr) ? msg : "";
  gzclose(f);
  if (n < 0) throw UserError("{}: read error ({})", path, error_text);
  return bytes;
}

std::vector<std::string> read_lines(const std::string& path) {
  const std::string bytes = read_bytes(path);
  std::vector<std::string> lines;
  std::string current;
  for (const char c : bytes) {
    if (c == '\n') {
      lines.push_back(std::move(current));
      current.clear();
    } else {
      current.push_back(c);
    }
  }
  if (!current.empty()) lines.push_back(std::move(current));
  for (size_t i = 0; i < lines.size(); ++i) {
    auto& line = lines[i];
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const size_t bad = find_invalid_utf8(line);
    if (bad != std::string::npos)
      throw UserError("{}:{}: invalid UTF-8 at byte {}", path, i + 1, bad + 1);
  }
  return lines;
}

void write_lines(const std::string& path, const std::vector<std::string>& lines) {
  std::ofstream out(path);
  if (!out) throw UserError("{}: cannot open for writing", path);
  for (const auto& line : lines) out << line << '\n';
  if (!out) throw UserError("{}: write failed", path);
}

std::string trim(const std::string& s) {
  const auto begin = s.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  const auto end = s.find_last_not_of(" \t\r\n");
  return s.substr(begin, end - begin + 1);
}

}  // namespace attnzoo
