#pragma once
// The kinds the registry (runtime/kinds.cpp) knows, one factory each, each
// defined in its own file.
#include <memory>

#include "runtime/kind.h"

namespace attnzoo::runtime {

std::unique_ptr<ExportedKind> make_translator(ExportedFile file);  // runtime/translator.cpp
std::unique_ptr<ExportedKind> make_captioner(ExportedFile file);   // runtime/captioner.cpp
std::unique_ptr<ExportedKind> make_classifier(ExportedFile file);  // runtime/classifier.cpp
std::unique_ptr<ExportedKind> make_forecaster(ExportedFile file);  // runtime/forecaster.cpp

}  // namespace attnzoo::runtime
