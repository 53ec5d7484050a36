#include "data/address_space.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

namespace attnzoo {

namespace {

// The process's virtual size in bytes (0 where /proc is not there).
size_t virtual_size() {
  std::ifstream statm("/proc/self/statm");
  size_t pages = 0;
  if (!(statm >> pages)) return 0;
  return pages * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace

AddressSpaceCap::AddressSpaceCap(size_t bytes) {
  const size_t used = virtual_size();
  rlimit old{};
  if (used == 0 || getrlimit(RLIMIT_AS, &old) != 0) return;
  old_soft_ = old.rlim_cur;
  old_hard_ = old.rlim_max;
  rlimit cap = old;
  cap.rlim_cur = std::min<rlim_t>(old.rlim_cur, used + bytes);
  active_ = setrlimit(RLIMIT_AS, &cap) == 0;
}

AddressSpaceCap::~AddressSpaceCap() {
  if (!active_) return;
  const rlimit old{static_cast<rlim_t>(old_soft_), static_cast<rlim_t>(old_hard_)};
  setrlimit(RLIMIT_AS, &old);
}

}  // namespace attnzoo
