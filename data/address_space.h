#pragma once
// A cap on the process's address space while a file from outside loads.
//
// LibTorch's unpickler trusts the lengths and counts a file states: make fuzz
// found damaged exports that have it allocate 4 to 26 GB (and touch 17 GB)
// before it finds them short. While a checkpoint or an export loads, the
// address space is capped at what the process uses plus `bytes`, so that such
// a file fails at once with bad_alloc; the old limit comes back when the cap
// goes out of scope. Meant for the loading of one file at the start of a
// command, not for a busy multi-threaded moment.
#include <cstddef>

namespace attnzoo {

class AddressSpaceCap {
 public:
  explicit AddressSpaceCap(size_t bytes);
  ~AddressSpaceCap();
  AddressSpaceCap(const AddressSpaceCap&) = delete;
  AddressSpaceCap& operator=(const AddressSpaceCap&) = delete;

 private:
  unsigned long long old_soft_ = 0, old_hard_ = 0;
  bool active_ = false;
};

// What loading a file of `file_bytes` may need: 1 GiB beside 8 times the file
// (an 85 MB Multi30k export loads in 0.3 GB, its 255 MB checkpoint in 0.6 GB).
inline size_t load_headroom(size_t file_bytes) { return (size_t{1} << 30) + 8 * file_bytes; }

}  // namespace attnzoo
