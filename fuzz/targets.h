#pragma once
// The fuzz targets (make fuzz): each feeds outside bytes to one reader of the
// apps' input. A reader may refuse the bytes with a UserError (its one-line
// message): that is the expected way to fail. Any other exception, a crash, a
// hang or a sanitizer report is a finding. The same functions replay the seed
// corpus and every finding (fuzz/corpus/<target>/) in the unit tests.
#include <string>
#include <string_view>
#include <vector>

namespace attnzoo::fuzz {

using Target = void (*)(std::string_view bytes);

struct NamedTarget {
  std::string name;
  Target run;
};

// Every target, by name: text_lines, parallel_corpus, tsv_pairs, csv, config,
// vocab, idx, karpathy, cifar10, checkpoint, exported, metrics_log,
// http_request.
const std::vector<NamedTarget>& targets();

// The target called `name`; nullptr when there is none.
Target find_target(const std::string& name);

}  // namespace attnzoo::fuzz
