#include "export/sources.h"

#include <attnzoo/torchscript/data/text.h>
#include <attnzoo/torchscript/data/tokenizer.h>
#include <attnzoo/torchscript/data/vocab.h>

#include <fmt/format.h>
#include <torch/csrc/jit/frontend/resolver.h>
#include <torch/csrc/jit/frontend/sugared_value.h>

#include "data/error.h"
#include "data/tokenizer.h"
#include "data/vocab.h"

namespace attnzoo {

torch::jit::ResolverPtr export_resolver() {
  struct Resolver : torch::jit::Resolver {
    std::shared_ptr<torch::jit::SugaredValue> resolveValue(
        const std::string& name, torch::jit::GraphFunction&,
        const torch::jit::SourceRange&) override {
      if (name == "torch") return std::make_shared<torch::jit::BuiltinModule>("aten");
      if (name == "quantized") return std::make_shared<torch::jit::BuiltinModule>("quantized");
      return nullptr;
    }
    c10::TypePtr resolveType(const std::string&, const torch::jit::SourceRange&) override {
      return nullptr;
    }
  };
  static const auto resolver = std::make_shared<Resolver>();
  return resolver;
}

// data/text.ts, the port of data/utf8.cpp and the word and character tokenizers.
const char* const kTextSource = torchscript::data_text;

std::string tokenizer_source(const TokenizerOptions& options, const std::string& name) {
  if (options.kind != "word" && options.kind != "char")
    throw UserError("a {} tokenizer cannot run inside TorchScript", options.kind);
  return fmt::format(fmt::runtime(torchscript::data_tokenizer), fmt::arg("name", name),
                     fmt::arg("kind", options.kind),
                     fmt::arg("lowercase", options.lowercase ? "True" : "False"));
}

void register_vocab(torch::jit::Module& module, const Vocab& vocab, const std::string& name) {
  c10::Dict<std::string, int64_t> ids;
  c10::List<std::string> tokens;
  for (int64_t i = 0; i < vocab.size(); ++i) {
    ids.insert(vocab.token(i), i);
    tokens.push_back(vocab.token(i));
  }
  module.register_attribute(
      name + "_ids", c10::DictType::create(c10::StringType::get(), c10::IntType::get()), ids);
  module.register_attribute(name + "_tokens", c10::ListType::ofStrings(), tokens);
}

std::string vocab_decode_source(const std::string& name) {
  return fmt::format(fmt::runtime(torchscript::data_vocab), fmt::arg("name", name));
}

}  // namespace attnzoo
