#pragma once
// Reading a file an attnzoo app exported (`<app> export --out`): the
// TorchScript module and its attnzoo.json record (app, version, config,
// frozen). zoo-run uses it and nothing else of the models; so does the fuzz
// target `exported`. Every way a file can be wrong is a UserError naming it.
#include <torch/script.h>

#include <istream>
#include <nlohmann/json.hpp>
#include <string>

namespace attnzoo {

struct ExportedFile {
  torch::jit::Module module;
  nlohmann::json record;  // attnzoo.json: "app" (a string), "config" (an object), ...
  std::string app() const { return record.at("app").get<std::string>(); }
};

// The file at `path`, on the CPU.
ExportedFile load_exported(const std::string& path);

// The same from a stream; `where` names it in errors.
ExportedFile load_exported(std::istream& in, const std::string& where);

}  // namespace attnzoo
