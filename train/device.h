#pragma once
// Where a model trains, evaluates and predicts: train.device / --device.
#include <torch/torch.h>

#include <string>

namespace attnzoo {

// "cpu", "cuda" (this process's GPU: cuda:<local_rank>, which under torchrun
// is LOCAL_RANK) or "cuda:N". Anything else, CUDA where this LibTorch has
// none (Debian's is CPU-only), or N past the last GPU is a UserError.
torch::Device parse_device(const std::string& name, int local_rank = 0);

// The device of a module's first parameter or buffer (the CPU when it has none).
torch::Device module_device(const torch::nn::Module& module);

// Moves an optimizer's state (Adam's moments, SGD's momentum buffers) to
// `device`, e.g. after loading a checkpoint, which is always read onto the
// CPU so that a GPU-trained run resumes or evaluates on a CPU-only machine.
void move_optimizer_state(torch::optim::Optimizer& optimizer, torch::Device device);

}  // namespace attnzoo
