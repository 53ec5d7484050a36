#include "data/exported.h"

#include <filesystem>
#include <fstream>

#include "data/address_space.h"
#include "data/error.h"

namespace attnzoo {

namespace {

// The stream's length from where it stands (0 where it cannot seek).
size_t stream_length(std::istream& in) {
  const auto start = in.tellg();
  if (start < 0 || !in.seekg(0, std::ios::end)) return in.clear(), 0;
  const auto end = in.tellg();
  in.seekg(start);
  return end > start ? static_cast<size_t>(end - start) : 0;
}

}  // namespace

ExportedFile load_exported(std::istream& in, const std::string& where) {
  torch::jit::ExtraFilesMap extra = {{"attnzoo.json", ""}};
  ExportedFile out;
  try {
    const AddressSpaceCap cap(load_headroom(stream_length(in)));
    out.module = torch::jit::load(in, torch::kCPU, extra);
  } catch (const c10::Error& e) {
    throw UserError("{}: not a TorchScript file ({})", where, e.what_without_backtrace());
  } catch (const std::bad_alloc&) {
    throw UserError(
        "{}: a damaged TorchScript file (it asks for more memory than its size can need)", where);
  } catch (const std::exception& e) {  // the TorchScript compiler's own errors on damaged code
    throw UserError("{}: a damaged TorchScript file ({})", where, e.what());
  }
  const std::string& text = extra.at("attnzoo.json");
  if (text.empty())
    throw UserError(
        "{0}: a TorchScript file, but not one an attnzoo app exported (no attnzoo.json inside; "
        "for a checkpoint, run `translate|caption|glimpse|forecast export --checkpoint {0} "
        "--out model.pt` first)",
        where);
  try {
    out.record = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw UserError("{}: its attnzoo.json is not valid JSON ({})", where, e.what());
  }
  if (!out.record.is_object() || !out.record.contains("app") || !out.record["app"].is_string() ||
      !out.record.contains("config") || !out.record["config"].is_object())
    throw UserError("{}: its attnzoo.json lacks the app and config records (damaged?)", where);
  return out;
}

ExportedFile load_exported(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw UserError("{}: no such file", path);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UserError("{}: cannot open it", path);
  return load_exported(in, path);
}

}  // namespace attnzoo
