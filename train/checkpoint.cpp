#include "train/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>

#include <filesystem>

#include "attnzoo/version.h"
#include "data/address_space.h"
#include "data/error.h"
#include "data/files.h"

namespace attnzoo {

void save_checkpoint(const std::string& path, const nlohmann::json& meta, torch::nn::Module& model,
                     torch::optim::Optimizer* optimizer,
                     const std::map<std::string, torch::Tensor>& tensors) {
  torch::serialize::OutputArchive archive;
  nlohmann::json full = meta;
  full["format"] = "attnzoo-checkpoint";
  full["version"] = ATTNZOO_VERSION;
  archive.write("meta", c10::IValue(full.dump()));
  torch::serialize::OutputArchive model_archive;
  model.save(model_archive);
  archive.write("model", model_archive);
  if (optimizer != nullptr) {
    torch::serialize::OutputArchive optimizer_archive;
    optimizer->save(optimizer_archive);
    archive.write("optimizer", optimizer_archive);
  }
  for (const auto& [name, t] : tensors) archive.write("tensor." + name, t, /*is_buffer=*/true);
  save_archive_atomically(archive, path, "checkpoint");
}

void save_archive_atomically(torch::serialize::OutputArchive& archive, const std::string& path,
                             const std::string& what) {
  AtomicFile file(path, what);
  // LibTorch's writer hands over each chunk. A failed write (a full disk) is
  // kept and rethrown after save_to returns; until then the rest is
  // discarded, but counted as written, since LibTorch's writer cannot stop
  // cleanly (it throws from its destructor on a short count).
  std::exception_ptr failure;
  try {
    archive.save_to([&](const void* data, size_t size) -> size_t {
      if (failure) return size;
      try {
        file.write(data, size);
      } catch (const UserError&) {
        failure = std::current_exception();
      }
      return size;
    });
  } catch (const c10::Error& e) {
    if (failure) std::rethrow_exception(failure);
    throw UserError("{}: cannot write {} ({})", path, what, e.what_without_backtrace());
  }
  if (failure) std::rethrow_exception(failure);
  file.commit();
}

std::string checkpoint_app(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return "";
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path);
    c10::IValue meta;
    if (!archive.try_read("meta", meta) || !meta.isString()) return "";
    const auto j = nlohmann::json::parse(meta.toStringRef());
    return j.value("format", "") == "attnzoo-checkpoint" ? j.value("app", "") : "";
  } catch (const std::exception&) {
    return "";
  }
}

Checkpoint::Checkpoint(const std::string& path, const std::string& app) : path_(path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw UserError("{}: no such checkpoint", path);
  archive_ = std::make_shared<torch::serialize::InputArchive>();
  c10::IValue meta;
  try {
    const auto bytes = std::filesystem::file_size(path, ec);  // (uintmax_t)-1 on error
    const AddressSpaceCap cap(load_headroom(ec ? 0 : static_cast<size_t>(bytes)));
    archive_->load_from(path, torch::kCPU);  // a GPU-trained run loads anywhere
    if (!archive_->try_read("meta", meta) || !meta.isString())
      throw std::runtime_error("no meta record");
    meta_ = nlohmann::json::parse(meta.toStringRef());
  } catch (const std::exception& e) {
    throw UserError("{}: not an attnzoo checkpoint", path);
  }
  if (meta_.value("format", "") != "attnzoo-checkpoint")
    throw UserError("{}: not an attnzoo checkpoint", path);
  const std::string written_by = meta_.value("app", "");
  if (written_by != app)
    throw UserError("{}: this is a '{}' checkpoint, not a '{}' one", path, written_by, app);
}

void Checkpoint::load_model(torch::nn::Module& model) const {
  torch::serialize::InputArchive model_archive;
  try {
    archive_->read("model", model_archive);
    model.load(model_archive);
  } catch (const c10::Error& e) {
    throw UserError("{}: the model weights do not match its config ({})", path_,
                    e.what_without_backtrace());
  }
}

void Checkpoint::load_optimizer(torch::optim::Optimizer& optimizer) const {
  torch::serialize::InputArchive optimizer_archive;
  try {
    archive_->read("optimizer", optimizer_archive);
    optimizer.load(optimizer_archive);
  } catch (const c10::Error& e) {
    throw UserError("{}: cannot restore the optimizer ({})", path_, e.what_without_backtrace());
  }
}

bool Checkpoint::has_tensor(const std::string& name) const {
  torch::Tensor t;
  return archive_->try_read("tensor." + name, t, /*is_buffer=*/true);
}

torch::Tensor Checkpoint::tensor(const std::string& name) const {
  torch::Tensor t;
  if (!archive_->try_read("tensor." + name, t, /*is_buffer=*/true))
    throw UserError("{}: no '{}' record", path_, name);
  return t;
}

torch::Tensor bytes_to_tensor(const std::string& bytes) {
  auto t = torch::empty({static_cast<int64_t>(bytes.size())}, torch::kUInt8);
  std::memcpy(t.data_ptr(), bytes.data(), bytes.size());
  return t;
}

std::string tensor_to_bytes(const torch::Tensor& t) {
  const auto c = t.contiguous().to(torch::kUInt8);
  return std::string(static_cast<const char*>(c.data_ptr()), static_cast<size_t>(c.numel()));
}

torch::Tensor get_rng_state() {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get_state();
}

void set_rng_state(const torch::Tensor& state) {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state);
}

}  // namespace attnzoo
