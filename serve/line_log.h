#pragma once
// zoo-serve's stderr, one whole line at a time. The access log's JSON lines
// and what libraries print (libpng writes "libpng error: ", its message and
// the newline as separate writes, from any decoding thread) share stderr:
// unguarded, a log line lands inside a codec's message and no longer parses.
// While a StderrLines is alive, file descriptor 2 is a pipe that one thread
// reads and copies to the real stderr a line at a time, under the same lock
// as write_line: every line is whole, whoever wrote it.
#include <string_view>
#include <thread>

namespace attnzoo::serve {

// Writes `line` (which ends in '\n') to the real stderr in one piece.
void write_line(std::string_view line);

class StderrLines {
 public:
  StderrLines();   // fd 2 becomes the pipe (nothing changes if that fails)
  ~StderrLines();  // fd 2 is the real stderr again; what was written is copied first
  StderrLines(const StderrLines&) = delete;
  StderrLines& operator=(const StderrLines&) = delete;

 private:
  void copy();
  int read_fd_ = -1;
  std::thread reader_;
};

}  // namespace attnzoo::serve
