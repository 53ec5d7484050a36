// The registry of exported kinds: the app named in a file's attnzoo.json ->
// the class that runs it. A new kind is one line here.
#include <fmt/format.h>

#include "data/error.h"
#include "runtime/inputs.h"
#include "runtime/kinds.h"

namespace attnzoo::runtime {
namespace {

using Factory = std::unique_ptr<ExportedKind> (*)(ExportedFile);

const std::vector<std::pair<std::string, Factory>>& registry() {
  static const std::vector<std::pair<std::string, Factory>> kinds = {
      {"translate", make_translator},
      {"caption", make_captioner},
      {"glimpse", make_classifier},
      {"forecast", make_forecaster},
  };
  return kinds;
}

}  // namespace

void ExportedKind::read_upload(const std::string& /*bytes*/, const std::string& /*where*/,
                               const Limits& /*limits*/, Input& /*into*/) const {
  throw bad("a " + app() + " model takes a JSON body, not an upload");
}

std::unique_ptr<ExportedKind> open_kind(ExportedFile file, const std::string& where) {
  const std::string app = file.app();
  for (const auto& [name, make] : registry())
    if (name == app) return make(std::move(file));
  throw UserError("{}: an export of app \"{}\", which this attnzoo does not know (it runs {})",
                  where, app, fmt::join(kind_names(), ", "));
}

std::vector<std::string> kind_names() {
  std::vector<std::string> names;
  for (const auto& entry : registry()) names.push_back(entry.first);
  return names;
}

}  // namespace attnzoo::runtime
