#pragma once
// Line-oriented text readers: plain or gzip files, validated as UTF-8.
#include <cstddef>
#include <istream>
#include <streambuf>
#include <string>
#include <utility>
#include <vector>

namespace attnzoo {

// All lines of `path` (plain text or .gz; zlib reads both), without the line
// ending (\n or \r\n) and without a UTF-8 byte order mark before the first.
// Throws UserError naming the file and line for a missing file, invalid UTF-8
// or a NUL byte.
std::vector<std::string> read_lines(const std::string& path);

// The longest line the apps take from a user (stdin, --text).
constexpr size_t kMaxInputLineBytes = size_t{1} << 20;

// A stream a user types or pipes in, one line at a time, so that a program can
// answer each part of an endless input as it comes: the checks of
// read_input_lines below, per line.
class InputLines {
 public:
  InputLines(std::istream& in, std::string where, size_t max_bytes = kMaxInputLineBytes);
  // The next line into `line`; false at the end of the stream.
  bool next(std::string& line);
  size_t count() const { return count_; }  // lines read so far

 private:
  std::streambuf* buffer_;
  std::string where_;
  size_t max_bytes_;
  size_t count_ = 0;
};

// Lines of a stream a user types or pipes in, read as read_lines reads a file
// (BOM and \r dropped; invalid UTF-8 or NUL refused), and refused past
// `max_bytes` a line without reading the rest of it, so that memory stays
// bounded; UserError "<where>:<line>: ...".
std::vector<std::string> read_input_lines(std::istream& in, const std::string& where,
                                          size_t max_bytes = kMaxInputLineBytes);

// One line given on the command line (`where`: "--text"), checked the same way.
std::string check_input_line(std::string line, const std::string& where,
                             size_t max_bytes = kMaxInputLineBytes);

// The whole content of `path`, decompressed where it is gzip. Throws
// UserError naming the file when it is missing or unreadable.
std::string read_bytes(const std::string& path);

// Writes lines to `path` (plain text), one per line.
void write_lines(const std::string& path, const std::vector<std::string>& lines);

bool file_exists(const std::string& path);

// Whitespace trimmed from both ends.
std::string trim(const std::string& s);

}  // namespace attnzoo
