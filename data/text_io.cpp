#include "data/text_io.h"

#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <string_view>

#include "data/error.h"
#include "data/files.h"
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

namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

// Line `number` (1-based) of `where` without its \r (and, on the first, the
// BOM); UserError for invalid UTF-8 or a NUL byte.
void clean_line(std::string& line, const std::string& where, size_t number) {
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (number == 1 && line.compare(0, kBom.size(), kBom) == 0) line.erase(0, kBom.size());
  const size_t nul = line.find('\0');
  if (nul != std::string::npos)
    throw UserError("{}:{}: a NUL byte at byte {} (binary data, or UTF-16 text?)", where, number,
                    nul + 1);
  const size_t bad = find_invalid_utf8(line);
  if (bad != std::string::npos)
    throw UserError("{}:{}: invalid UTF-8 at byte {}", where, number, bad + 1);
}

}  // namespace

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
  for (size_t i = 0; i < lines.size(); ++i) clean_line(lines[i], path, i + 1);
  return lines;
}

InputLines::InputLines(std::istream& in, std::string where, size_t max_bytes)
    : buffer_(in.rdbuf()), where_(std::move(where)), max_bytes_(max_bytes) {}

bool InputLines::next(std::string& line) {
  line.clear();
  bool open_line = false;
  for (int c = buffer_->sbumpc(); c != std::char_traits<char>::eof(); c = buffer_->sbumpc()) {
    if (c == '\n') {
      clean_line(line, where_, ++count_);
      return true;
    }
    open_line = true;
    line.push_back(static_cast<char>(c));
    if (line.size() > max_bytes_ + 1)  // + 1: the \r of a \r\n ending
      throw UserError("{}:{}: a line longer than {} bytes; split the text into lines", where_,
                      count_ + 1, max_bytes_);
  }
  if (!open_line) return false;
  clean_line(line, where_, ++count_);
  return true;
}

std::vector<std::string> read_input_lines(std::istream& in, const std::string& where,
                                          size_t max_bytes) {
  InputLines reader(in, where, max_bytes);
  std::vector<std::string> lines;
  for (std::string line; reader.next(line);) lines.push_back(std::move(line));
  return lines;
}

std::string check_input_line(std::string line, const std::string& where, size_t max_bytes) {
  if (line.size() > max_bytes)
    throw UserError("{}: longer than {} bytes; split the text into lines", where, max_bytes);
  const size_t newline = line.find('\n');
  if (newline != std::string::npos && newline + 1 < line.size())
    throw UserError("{}: holds several lines; give each its own {}", where, where);
  if (newline != std::string::npos) line.erase(newline);
  clean_line(line, where, 1);
  return line;
}

void write_lines(const std::string& path, const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& line : lines) text.append(line).push_back('\n');
  write_file_atomically(path, text, "the text file");
}

std::string trim(const std::string& s) {
  const auto begin = s.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  const auto end = s.find_last_not_of(" \t\r\n");
  return s.substr(begin, end - begin + 1);
}

}  // namespace attnzoo
