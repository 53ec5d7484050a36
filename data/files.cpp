#include "data/files.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <set>
#include <utility>

#include "data/error.h"

namespace fs = std::filesystem;

namespace attnzoo {
namespace {

std::string parent_of(const std::string& path) {
  const auto parent = fs::path(path).parent_path();
  return parent.empty() ? "." : parent.string();
}

void sync_folder(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;  // the rename happened; durability of the folder entry is best effort
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

AtomicFile::AtomicFile(std::string path, std::string what)
    : path_(std::move(path)), what_(std::move(what)) {
  tmp_ = path_ + ".tmp." + std::to_string(::getpid());
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    const int err = errno;
    std::error_code ec;
    if (!fs::is_directory(parent_of(path_), ec))
      throw UserError("{}: cannot write {} (no folder {})", path_, what_, parent_of(path_));
    throw UserError("{}: cannot write {} ({})", path_, what_, std::strerror(err));
  }
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!tmp_.empty()) ::unlink(tmp_.c_str());
}

void AtomicFile::fail(const std::string& reason) {
  ::close(fd_);
  fd_ = -1;
  ::unlink(tmp_.c_str());
  tmp_.clear();
  throw UserError("{}: cannot write {} ({})", path_, what_, reason);
}

void AtomicFile::write(const void* data, size_t size) {
  if (fd_ < 0) throw UserError("{}: {} was already written", path_, what_);
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd_, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(std::strerror(errno));
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
}

void AtomicFile::commit() {
  if (fd_ < 0) throw UserError("{}: {} was already written", path_, what_);
  // A full disk may only show at fsync (delayed allocation) or close.
  if (::fsync(fd_) != 0) fail(std::strerror(errno));
  if (::close(fd_) != 0) {
    fd_ = -1;
    fail(std::strerror(errno));
  }
  fd_ = -1;
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp_.c_str());
    tmp_.clear();
    throw UserError("{}: cannot write {} ({})", path_, what_, std::strerror(err));
  }
  tmp_.clear();
  sync_folder(parent_of(path_));
}

void write_file_atomically(const std::string& path, std::string_view bytes,
                           const std::string& what) {
  AtomicFile file(path, what);
  file.write(bytes);
  file.commit();
}

void create_folder(const std::string& dir, const std::string& what) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw UserError("{}: cannot create the {} folder ({})", dir, what, ec.message());
  if (!fs::is_directory(dir, ec)) throw UserError("{}: not a folder", dir);
}

void remove_stale_temporaries(const std::string& dir) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    const auto at = name.rfind(".tmp.");
    if (at == std::string::npos || at == 0) continue;
    const std::string pid = name.substr(at + 5);
    if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code ignored;
    fs::remove(entry.path(), ignored);
  }
}

void lock_folder(const std::string& dir, const std::string& what) {
  // flock conflicts between two open()s of one file in one process too: a
  // process that trains twice into one folder (tests, library users) keeps its lock.
  static std::mutex mutex;
  static std::set<std::string> held;
  std::error_code ec;
  const std::string key = fs::weakly_canonical(dir, ec).string();
  const std::lock_guard<std::mutex> guard(mutex);
  if (held.count(key) > 0) return;
  const std::string path = dir + "/.lock";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw UserError("{}: cannot create the lock file ({})", path, std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    char buffer[32] = {};
    const ssize_t n = ::pread(fd, buffer, sizeof(buffer) - 1, 0);
    ::close(fd);
    if (err != EWOULDBLOCK) throw UserError("{}: cannot lock ({})", path, std::strerror(err));
    std::string holder = n > 0 ? std::string(buffer, static_cast<size_t>(n)) : "";
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    throw UserError(
        "{}: another {} (process {}) is writing to this folder; wait for it, or use "
        "another --out",
        dir, what, holder.empty() ? "?" : holder);
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    // The lock holds without the pid in it; only the message of a refused run is poorer.
  }
  held.insert(key);  // the descriptor stays open (and locked) until the process exits
}

void refuse_overwriting_inputs(const std::string& output, const std::string& flag,
                               const std::vector<std::string>& inputs) {
  std::error_code ec;
  if (output.empty() || !fs::exists(output, ec)) return;
  for (const auto& input : inputs) {
    if (input.empty()) continue;
    if (fs::equivalent(output, input, ec))
      throw UserError("{} {}: this is the input {}; writing it would destroy it", flag, output,
                      input);
  }
}

}  // namespace attnzoo
