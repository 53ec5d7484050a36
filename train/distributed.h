#pragma once
// The processes that train one model together, on PyTorch's c10d: a launcher
// (torchrun, or the same variables set by hand) starts one process per rank
// and tells each RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT;
// they meet at a TCPStore and talk through a Gloo (CPU) or NCCL (CUDA)
// process group. With no launcher the world is this process alone and every
// collective is a no-op, so single-process runs are exactly as before.
//
// Every collective names what it waits for; when a peer dies or does not
// answer within train.dist_timeout, it throws a UserError naming this rank
// and that wait, so every process ends with one clear line instead of hanging.
// Joining has its own bound, train.dist_join_timeout: ranks start when the
// launcher and the machine get to them, which may take longer than a short
// collectives' timeout.
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

namespace attnzoo {

// A config's train.dist_backend, train.dist_timeout and train.dist_join_timeout.
struct DistributedOptions {
  std::string backend = "auto";       // gloo | nccl | auto (gloo; nccl where training runs on CUDA)
  double timeout_seconds = 300;       // the longest any collective waits for the peers
  double join_timeout_seconds = 300;  // the longest a process waits for every rank to arrive
  static DistributedOptions from_json(const nlohmann::json& train);
};

// What the launcher told this process. With none of the variables set: rank 0 of 1.
struct LaunchEnvironment {
  int rank = 0, world_size = 1, local_rank = 0, local_world_size = 1;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  // torchrun's c10d rendezvous already serves the store (TORCHELASTIC_USE_AGENT_STORE=True):
  // every rank is its client, under the prefix /worker/attempt_<restart count>, as in Python.
  bool agent_store = false;
  std::string restart_count = "0";
  // Reads the variables; a malformed one is a UserError naming it.
  static LaunchEnvironment from_environment();
};

class World {
 public:
  World();  // this process alone
  // Joins the others (rendezvous at MASTER_ADDR:MASTER_PORT); UserError when
  // they do not all arrive within the join timeout.
  World(const LaunchEnvironment& env, const DistributedOptions& options);
  ~World();
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  int local_rank() const { return local_rank_; }
  int local_size() const { return local_size_; }  // processes on this machine
  bool main() const { return rank_ == 0; }        // the one that writes files and the console
  bool distributed() const { return size_ > 1; }
  const std::string& backend() const { return backend_; }
  double timeout_seconds() const { return timeout_seconds_; }
  std::string label() const;  // "rank 1 of 2"

  // Rank 0's tensors, copied into every rank's (same shapes), in place.
  void broadcast(std::vector<torch::Tensor>& tensors, const std::string& what) const;
  // Rank 0's value of a number every rank must agree on (a decision, a score).
  double agree(double value, const std::string& what) const;
  // The same through the store, for a value rank 0 may take longer than the
  // collectives' timeout to produce (its validation): the others wait up to
  // `wait_seconds` for it.
  double await_main(double value, double wait_seconds, const std::string& what) const;
  // The sum over ranks, in place.
  void sum(torch::Tensor& tensor, const std::string& what) const;
  // Every rank's tensor (same shape everywhere), in rank order.
  std::vector<torch::Tensor> gather(const torch::Tensor& tensor, const std::string& what) const;
  // Waits until every rank arrives here.
  void barrier(const std::string& what) const;

  // An all-reduce (sum, in place) running while the caller goes on: start
  // several, then wait for each. (Each collective copies a tensor that is not
  // where the backend reduces, the GPU for NCCL, there and back.)
  class Pending {
   public:
    void wait();
    ~Pending();
    Pending(Pending&&) noexcept;
    Pending& operator=(Pending&&) noexcept;

   private:
    friend class World;
    struct Impl;
    explicit Pending(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
  };
  Pending sum_async(torch::Tensor& tensor, const std::string& what) const;

 private:
  struct Group;
  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
  std::string backend_ = "none";
  torch::Device device_ = torch::kCPU;  // where the backend reduces: CUDA for NCCL
  double timeout_seconds_ = 300;
  std::unique_ptr<Group> group_;
  mutable int64_t published_ = 0;  // await_main's calls so far: the same on every rank
};

// This process's world: alone until init_world joins the launcher's.
World& world();
// Reads the launcher's variables and, where there are several processes,
// joins them (once per process; later calls keep the world already joined).
// `cuda`: training runs on GPUs, so backend auto means NCCL where LibTorch has it.
void init_world(const DistributedOptions& options, bool cuda = false);

// The RNG seed of `rank` for a run seeded `seed`: the seed itself on rank 0
// (so one process draws exactly as before), a distinct one on every other.
uint64_t rank_seed(uint64_t seed, int rank);

}  // namespace attnzoo
