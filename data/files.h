#pragma once
// Files the apps write, written so that nothing is lost: every checkpoint,
// export, config, metrics log, figure and cache goes through AtomicFile (a
// temporary file in the same folder, fsync, rename), so a crash, a kill or a
// full disk leaves either the old file or the new one, never a torn one, and
// a failed write removes its temporary file. Also: output folders, the lock
// that keeps two trainings out of one folder, and the check that an output
// does not overwrite an input.
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace attnzoo {

class AtomicFile {
 public:
  // Opens a temporary file beside `path` ("<path>.tmp.<pid>"); `what` names
  // the file in errors ("checkpoint", "the exported model").
  AtomicFile(std::string path, std::string what);
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  // Not committed: the temporary file is removed and `path` is untouched.
  ~AtomicFile();

  // Appends bytes; a failure (a full disk, a file size limit) is a UserError
  // "<path>: cannot write <what> (<the system's reason>)".
  void write(const void* data, size_t size);
  void write(std::string_view bytes) { write(bytes.data(), bytes.size()); }
  // Flushes to the disk and renames the file into place.
  void commit();

  const std::string& path() const { return path_; }

 private:
  [[noreturn]] void fail(const std::string& reason);
  std::string path_, what_, tmp_;
  int fd_ = -1;
};

// The whole of `bytes` as `path`, atomically.
void write_file_atomically(const std::string& path, std::string_view bytes,
                           const std::string& what);

// Creates `dir` and its parents; UserError "<dir>: cannot create the <what>
// folder (<reason>)" where it cannot (read-only, a path through a file).
void create_folder(const std::string& dir, const std::string& what = "output");

// Removes "<name>.tmp.<pid>" files that a killed writer left in `dir`.
void remove_stale_temporaries(const std::string& dir);

// Holds an exclusive lock on `dir`/.lock for the rest of the process (a
// second call for the same folder is a no-op), or throws UserError naming the
// process that holds it. The kernel drops the lock when its process ends,
// however it ends, so a killed run leaves none behind.
void lock_folder(const std::string& dir, const std::string& what);

// UserError when `output` (given as `flag`) is the same file as any of
// `inputs`, so that writing it would destroy what the command reads.
void refuse_overwriting_inputs(const std::string& output, const std::string& flag,
                               const std::vector<std::string>& inputs);

}  // namespace attnzoo
