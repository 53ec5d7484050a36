#pragma once
// Training a translator: the TrainTask (label-smoothed cross-entropy, teacher
// forcing, hard attention's REINFORCE term, validation BLEU) and
// train_translator. The Translator itself: tasks/translator.h; its config:
// tasks/translate_config.h.
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "data/batching.h"
#include "data/parallel_corpus.h"
#include "data/tokenizer.h"
#include "data/translation_data.h"
#include "data/vocab.h"
#include "eval/bleu.h"
#include "models/search.h"
#include "models/seq2seq.h"
#include "tasks/translator.h"
#include "train/checkpoint.h"
#include "train/loop.h"

namespace attnzoo {

// Trains per `config` into `out_dir`. With RunStart::resume, continues from
// `out_dir/checkpoint.pt`, reaching the same weights as an uninterrupted run.
// Returns the final checkpoint's path.
std::string train_translator(const nlohmann::json& config, const std::string& out_dir,
                             RunStart start);

}  // namespace attnzoo
