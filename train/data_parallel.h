#pragma once
// Data-parallel training over the world's processes (train/distributed.h),
// written on c10d's collectives since LibTorch's C++ API has no
// DistributedDataParallel: each rank trains on its shard of the global batch,
// then the gradients are averaged, weighted by how much of the batch each
// shard held, so N processes take the step one process would take on the
// whole batch.
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace attnzoo {

class World;

// Rank `rank`'s shard of a global batch: a contiguous slice, the first
// (size % world_size) ranks one example longer. Empty where the batch has
// fewer examples than there are ranks.
std::vector<size_t> shard_of(const std::vector<size_t>& batch, int rank, int world_size);

class GradientReducer {
 public:
  // The parameters that train (requires_grad), cut into buckets of about
  // `bucket_bytes`, each reduced by one flat all-reduce.
  // `world` (default: this process's) must outlive the reducer.
  explicit GradientReducer(const std::vector<torch::Tensor>& parameters, const World& world,
                           int64_t bucket_bytes = int64_t{32} << 20);

  // After this rank's backward, with `weight` what its loss is a mean over
  // (target tokens, images): every gradient becomes sum_r w_r g_r / sum_r w_r.
  // A gradient no rank produced stays undefined, one that only some produced
  // counts as zero on the others. `stats` (1-D, double: sums for the log) is
  // summed over the ranks alongside and returned; also returns sum_r w_r in
  // *total_weight.
  // `what` ("step 12") names the step in the error raised when a peer dies or times out.
  torch::Tensor reduce(double weight, const torch::Tensor& stats, double* total_weight,
                       const std::string& what);

  int64_t buckets() const { return static_cast<int64_t>(buckets_.size()); }
  int64_t bytes_per_step() const { return bytes_; }      // gradient bytes each rank reduces
  double last_seconds() const { return last_seconds_; }  // flatten, reduce, copy back

 private:
  struct Bucket {
    std::vector<size_t> members;  // indices into params_
    torch::Tensor flat;
  };
  const World& world_;
  std::vector<torch::Tensor> params_;
  std::vector<Bucket> buckets_;
  int64_t bytes_ = 0;
  double last_seconds_ = 0;
};

// Rank 0's values of the module's parameters and buffers, copied into every
// rank's: the same initial weights everywhere, and the same buffers
// (BatchNorm statistics, moving averages) after each step.
void broadcast_parameters(torch::nn::Module& module, const std::string& what);
void broadcast_buffers(torch::nn::Module& module, const std::string& what);

}  // namespace attnzoo
