#pragma once
// TorchScript source the exported bundles share beyond their models' own
// (models/script.h and each model's *_script.cpp): define()'s resolver, and
// text, tokenizers and vocabularies inside the file (export/ only).
#include <torch/script.h>
#include <torch/torch.h>

#include <string>

namespace attnzoo {

class Vocab;
struct TokenizerOptions;

// define()'s resolver for generated sources: torch.* as LibTorch's own, and
// quantized.* the quantised operators (torch.ops.quantized in Python), which
// int8 decoders call.
torch::jit::ResolverPtr export_resolver();

// Text in TorchScript, whose strings are bytes: code_points(text),
// utf8_char(c), lower(c), is_space(c), is_punct(c) as data/utf8, and
// tokens_<name>(text) -> List[str], text_<name>(tokens) -> str for the word
// and character tokenizers of data/tokenizer.cpp, where <name> is "src", "tgt"
// or whatever side is named. Needs the str attributes `joiner` and `space_symbol`.
extern const char* const kTextSource;
std::string tokenizer_source(const TokenizerOptions& options, const std::string& name);

// Registers `vocab` as attributes <name>_ids: Dict[str, int] and <name>_tokens: List[str].
void register_vocab(torch::jit::Module& module, const Vocab& vocab, const std::string& name);
// def decode_<name>(self, ids: List[int]) -> List[str]: Vocab::decode.
std::string vocab_decode_source(const std::string& name);

}  // namespace attnzoo
