#pragma once
// The recurrent cell of the encoders and decoders (model.rnn).
#include "data/choice.h"

namespace attnzoo {

enum class Cell { kGru, kLstm };

// Their names in configs: gru, lstm.
inline const Choices<Cell>& cells() {
  static const Choices<Cell> c = {{"gru", Cell::kGru}, {"lstm", Cell::kLstm}};
  return c;
}

}  // namespace attnzoo
