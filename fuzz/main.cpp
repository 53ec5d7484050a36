// One libFuzzer executable per target (fuzz_<name>, built by make fuzz): the
// target's UserError is the reader refusing the input, which is fine, as are
// nlohmann's exceptions (malformed JSON, a value of the wrong type: every
// app's top level turns them into one line). Any other exception escapes,
// and libFuzzer reports it as a crash.
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "data/error.h"
#include "fuzz/targets.h"

#ifndef ATTNZOO_FUZZ_TARGET
#error "build with -DATTNZOO_FUZZ_TARGET=\"name\""
#endif

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const attnzoo::fuzz::Target target = attnzoo::fuzz::find_target(ATTNZOO_FUZZ_TARGET);
  try {
    target(std::string_view(reinterpret_cast<const char*>(data), size));
  } catch (const attnzoo::UserError&) {
  } catch (const nlohmann::json::exception&) {
  }
  return 0;
}
