#pragma once
// One file per checkpoint (a torch::serialize archive): the model, the
// optimizer, named tensors (RNG state, tokenizer models) and a JSON "meta"
// record (app, version, config, vocabularies, progress). Written to a temporary
// file and renamed into place, so a crash never leaves a half-written file.
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <string>

namespace attnzoo {

void save_checkpoint(const std::string& path, const nlohmann::json& meta, torch::nn::Module& model,
                     torch::optim::Optimizer* optimizer,
                     const std::map<std::string, torch::Tensor>& tensors);

// Writes `archive` to `path` through a temporary file renamed into place, so
// that a crash never leaves a half-written file; UserError names `what` and path.
void save_archive_atomically(torch::serialize::OutputArchive& archive, const std::string& path,
                             const std::string& what);

class Checkpoint {
 public:
  // Reads `path`; throws UserError if it is missing, not a checkpoint, or one
  // written by another app than `app`.
  Checkpoint(const std::string& path, const std::string& app);
  const nlohmann::json& meta() const { return meta_; }
  const std::string& path() const { return path_; }
  void load_model(torch::nn::Module& model) const;
  void load_optimizer(torch::optim::Optimizer& optimizer) const;
  bool has_tensor(const std::string& name) const;
  torch::Tensor tensor(const std::string& name) const;

 private:
  std::string path_;
  nlohmann::json meta_;
  std::shared_ptr<torch::serialize::InputArchive> archive_;
};

// The app that wrote the attnzoo checkpoint at `path`, or "" when it is not
// one (another kind of file, or none).
std::string checkpoint_app(const std::string& path);

// Bytes <-> uint8 tensor, for storing tokenizer models inside a checkpoint.
torch::Tensor bytes_to_tensor(const std::string& bytes);
std::string tensor_to_bytes(const torch::Tensor& t);

// The state of torch's default CPU generator (dropout, sampling).
torch::Tensor get_rng_state();
void set_rng_state(const torch::Tensor& state);

}  // namespace attnzoo
