#include "train/device.h"

#include <torch/cuda.h>

#include "data/error.h"

namespace attnzoo {

torch::Device parse_device(const std::string& name, int local_rank) {
  if (name == "cpu") return torch::kCPU;
  int index = local_rank;
  if (name != "cuda") {
    const std::string number = name.rfind("cuda:", 0) == 0 ? name.substr(5) : "";
    if (number.empty() || number.size() > 4 ||
        number.find_first_not_of("0123456789") != std::string::npos)
      throw UserError("device \"{}\" is not one of cpu, cuda, cuda:N", name);
    index = std::stoi(number);
  }
  if (!torch::cuda::is_available())
    throw UserError(
        "device {}: this LibTorch has no CUDA, or no GPU is visible (Debian's libtorch is "
        "CPU-only; build against a CUDA LibTorch, see docs/distributed.md)",
        name);
  const auto count = static_cast<int>(torch::cuda::device_count());
  if (index >= count)
    throw UserError("device {}: there is no cuda:{} ({} GPU{} visible)", name, index, count,
                    count == 1 ? "" : "s");
  return {torch::kCUDA, static_cast<c10::DeviceIndex>(index)};
}

torch::Device module_device(const torch::nn::Module& module) {
  for (const auto& p : module.parameters()) return p.device();
  for (const auto& b : module.buffers()) return b.device();
  return torch::kCPU;
}

namespace {
void move(torch::Tensor& t, torch::Device device) {
  if (t.defined() && t.device() != device) t = t.to(device);
}
}  // namespace

void move_optimizer_state(torch::optim::Optimizer& optimizer, torch::Device device) {
  for (auto& [key, state] : optimizer.state()) {
    if (auto* adam = dynamic_cast<torch::optim::AdamParamState*>(state.get())) {
      auto a = adam->exp_avg(), b = adam->exp_avg_sq(), c = adam->max_exp_avg_sq();
      move(a, device), move(b, device), move(c, device);
      adam->exp_avg(a), adam->exp_avg_sq(b), adam->max_exp_avg_sq(c);
    } else if (auto* adamw = dynamic_cast<torch::optim::AdamWParamState*>(state.get())) {
      auto a = adamw->exp_avg(), b = adamw->exp_avg_sq(), c = adamw->max_exp_avg_sq();
      move(a, device), move(b, device), move(c, device);
      adamw->exp_avg(a), adamw->exp_avg_sq(b), adamw->max_exp_avg_sq(c);
    } else if (auto* sgd = dynamic_cast<torch::optim::SGDParamState*>(state.get())) {
      auto m = sgd->momentum_buffer();
      move(m, device);
      sgd->momentum_buffer(m);
    } else {
      throw UserError("cannot move the state of this optimizer to {}", device.str());
    }
  }
}

}  // namespace attnzoo
