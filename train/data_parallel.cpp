#include "train/data_parallel.h"

#include <chrono>
#include <map>

#include "train/distributed.h"

namespace attnzoo {

std::vector<size_t> shard_of(const std::vector<size_t>& batch, int rank, int world_size) {
  const size_t n = batch.size(), w = static_cast<size_t>(world_size), r = static_cast<size_t>(rank);
  const size_t base = n / w, extra = n % w;
  const size_t begin = r * base + std::min(r, extra);
  const size_t end = begin + base + (r < extra ? 1 : 0);
  return {batch.begin() + static_cast<std::ptrdiff_t>(begin),
          batch.begin() + static_cast<std::ptrdiff_t>(end)};
}

GradientReducer::GradientReducer(const std::vector<torch::Tensor>& parameters, const World& world,
                                 int64_t bucket_bytes)
    : world_(world) {
  for (const auto& p : parameters)
    if (p.requires_grad()) params_.push_back(p);
  for (size_t i = 0; i < params_.size(); ++i) {
    const auto& p = params_[i];
    const int64_t bytes = p.numel() * static_cast<int64_t>(p.element_size());
    const bool start_new =
        buckets_.empty() || buckets_.back().flat.scalar_type() != p.scalar_type() ||
        buckets_.back().flat.device() != p.device() ||
        (buckets_.back().flat.numel() + p.numel()) * static_cast<int64_t>(p.element_size()) >
            bucket_bytes;
    if (start_new) buckets_.push_back({{}, torch::empty({0}, p.options())});
    auto& b = buckets_.back();
    b.members.push_back(i);
    b.flat = torch::empty({b.flat.numel() + p.numel()}, p.options().requires_grad(false));
    bytes_ += bytes;
  }
}

torch::Tensor GradientReducer::reduce(double weight, const torch::Tensor& stats,
                                      double* total_weight, const std::string& what) {
  const auto start = std::chrono::steady_clock::now();
  const World& w = world_;
  torch::NoGradGuard no_grad;
  // The small numbers first: weight, which gradients exist here, the stats.
  const auto n = static_cast<int64_t>(params_.size());
  std::vector<double> small(static_cast<size_t>(1 + n), 0.0);
  small[0] = weight;
  for (size_t i = 0; i < params_.size(); ++i)
    if (params_[i].grad().defined()) small[1 + i] = 1.0;
  auto head = torch::cat(
      {torch::tensor(small, torch::kDouble), stats.to(torch::kCPU, torch::kDouble).flatten()});
  std::vector<World::Pending> pending;
  pending.push_back(w.sum_async(head, what + "'s token counts"));
  for (size_t b = 0; b < buckets_.size(); ++b) {
    auto& bucket = buckets_[b];
    int64_t offset = 0;
    for (size_t i : bucket.members) {
      const auto& p = params_[i];
      auto slot = bucket.flat.slice(0, offset, offset + p.numel());
      if (p.grad().defined())
        slot.copy_(p.grad().flatten()).mul_(weight);
      else
        slot.zero_();
      offset += p.numel();
    }
    pending.push_back(w.sum_async(bucket.flat, fmt::format("{}'s gradients (bucket {} of {})", what,
                                                           b + 1, buckets_.size())));
  }
  for (auto& p : pending) p.wait();
  const auto head_values = head.accessor<double, 1>();
  const double total = head_values[0];
  if (total_weight != nullptr) *total_weight = total;
  const double scale = total > 0 ? 1.0 / total : 0.0;
  for (auto& bucket : buckets_) {
    int64_t offset = 0;
    for (size_t i : bucket.members) {
      auto& p = params_[i];
      const auto slot = bucket.flat.slice(0, offset, offset + p.numel()).view(p.sizes());
      offset += p.numel();
      if (head_values[static_cast<int64_t>(1 + i)] == 0) continue;
      if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
      p.mutable_grad().copy_(slot).mul_(scale);
    }
  }
  last_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return head.slice(0, 1 + n).clone();
}

namespace {
void broadcast_all(std::vector<torch::Tensor> tensors, const std::string& what) {
  if (!world().distributed() || tensors.empty()) return;
  torch::NoGradGuard no_grad;
  // One flat broadcast per dtype keeps it to a few messages.
  std::map<c10::ScalarType, std::vector<torch::Tensor>> by_type;
  for (auto& t : tensors) by_type[t.scalar_type()].push_back(t);
  for (auto& [type, group] : by_type) {
    std::vector<torch::Tensor> flats;
    for (auto& t : group) flats.push_back(t.detach().flatten());
    // Gloo has no bool: flags travel as bytes.
    std::vector<torch::Tensor> flat = {type == torch::kBool ? torch::cat(flats).to(torch::kByte)
                                                            : torch::cat(flats)};
    world().broadcast(flat, what);
    int64_t offset = 0;
    for (auto& t : group) {
      t.detach().copy_(flat[0].slice(0, offset, offset + t.numel()).view(t.sizes()));
      offset += t.numel();
    }
  }
}
}  // namespace

void broadcast_parameters(torch::nn::Module& module, const std::string& what) {
  std::vector<torch::Tensor> all = module.parameters();
  for (const auto& b : module.buffers()) all.push_back(b);
  broadcast_all(all, what);
}

void broadcast_buffers(torch::nn::Module& module, const std::string& what) {
  broadcast_all(module.buffers(), what);
}

}  // namespace attnzoo
