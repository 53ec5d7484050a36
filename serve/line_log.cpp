#include "serve/line_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <mutex>
#include <string>

namespace attnzoo::serve {
namespace {

std::mutex& lines_mutex() {
  static std::mutex m;
  return m;
}

// Where whole lines go: the real stderr (a copy of fd 2 taken before the pipe).
std::atomic<int> out_fd{2};

void write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n <= 0) return;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
}

constexpr size_t kLongestLine = 8192;  // longer is cut into lines of this size

}  // namespace

void write_line(std::string_view line) {
  const std::lock_guard<std::mutex> lock(lines_mutex());
  write_all(out_fd, line);
}

StderrLines::StderrLines() {
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0) return;
  std::fflush(stderr);
  const int real = ::fcntl(2, F_DUPFD_CLOEXEC, 3);
  if (real < 0 || ::dup2(ends[1], 2) < 0) {
    ::close(ends[0]);
    ::close(ends[1]);
    if (real >= 0) ::close(real);
    return;
  }
  ::close(ends[1]);  // fd 2 holds the write end now
  out_fd = real;
  read_fd_ = ends[0];
  reader_ = std::thread([this] { copy(); });
}

StderrLines::~StderrLines() {
  if (read_fd_ < 0) return;
  std::fflush(stderr);
  const int real = out_fd;
  ::dup2(real, 2);  // the pipe's last write end closes: the reader sees its end
  reader_.join();
  ::close(read_fd_);
  out_fd = 2;
  ::close(real);
}

void StderrLines::copy() {
  std::string pending;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(read_fd_, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    pending.append(buffer, static_cast<size_t>(n));
    size_t start = 0;
    for (size_t eol; (eol = pending.find('\n', start)) != std::string::npos; start = eol + 1)
      write_line(std::string_view(pending).substr(start, eol + 1 - start));
    pending.erase(0, start);
    while (pending.size() >= kLongestLine) {
      write_line(pending.substr(0, kLongestLine) + "\n");
      pending.erase(0, kLongestLine);
    }
  }
  if (!pending.empty()) write_line(pending + "\n");
}

}  // namespace attnzoo::serve
