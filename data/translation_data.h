#pragma once
// The sentence pairs a translator learns from and is scored on, per a
// translate config's "data" section: parallel files, one TSV file, or the
// embedded dates generator.
#include <nlohmann/json.hpp>

#include <vector>

#include "data/parallel_corpus.h"

namespace attnzoo {

struct TranslationSplits {
  std::vector<SentencePair> train, valid, test;
};
// Reads or generates the data the config's "data" section names.
TranslationSplits load_translation_data(const nlohmann::json& data_config);

}  // namespace attnzoo
