#pragma once
// TorchScript export (ARCHITECTURE.md). LibTorch 1.13 has no C++ script(), so an
// exported model is a torch::jit::Module that holds copies of the trained
// tensors under the trained module's names (mirror()), with methods written in
// TorchScript source and compiled with define(). The file needs nothing else:
// Python loads it with torch.jit.load, C++ with torch::jit::load.
#include <nlohmann/json.hpp>
#include <torch/script.h>

#include <string>

namespace attnzoo {

class GlimpseClassifier;

// A jit module with `module`'s parameters and buffers (copied, detached) and
// its children, recursively, under the same names, each level with a bool
// `training` attribute (false). `type_name` names its TorchScript class.
torch::jit::Module mirror(const torch::nn::Module& module, const std::string& type_name);

// The glimpse classifier: forward(images: Tensor) -> Tuple[Tensor, Tensor]
// with images (B,1,S,S) floats in [0,1]; returns the logits (B,10) and where
// each glimpse looked, (B,G,2) as (x, y) in [-1,1] (G = 0 for the
// whole-image models). Deterministic: RAM looks at its policy's mean.
torch::jit::Module export_glimpse(const GlimpseClassifier& classifier);

// Saves `module` with the extra file "attnzoo.json": {"app", "version", "config"}.
void save_export(const torch::jit::Module& module, const std::string& path, const std::string& app,
                 const nlohmann::json& config);

}  // namespace attnzoo
