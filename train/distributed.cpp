#include "train/distributed.h"

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <chrono>
#include <cstdlib>
#include <cstring>

#include "data/error.h"

namespace attnzoo {
namespace {

// The first line of a c10d or Gloo error (they append a C++ backtrace).
std::string first_line(const char* what) {
  std::string s(what);
  const auto end = s.find('\n');
  return end == std::string::npos ? s : s.substr(0, end);
}

std::chrono::milliseconds to_ms(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000.0));
}

const char* variable(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : nullptr;
}

int int_variable(const char* name, int fallback, int min) {
  const char* v = variable(name);
  if (v == nullptr) return fallback;
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  if (*end != '\0' || x < min || x > (1 << 30))
    throw UserError("environment: {}=\"{}\" is not a whole number >= {}", name, v, min);
  return static_cast<int>(x);
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

}  // namespace

DistributedOptions DistributedOptions::from_json(const nlohmann::json& train) {
  DistributedOptions o;
  o.backend = train.value("dist_backend", o.backend);
  if (o.backend != "auto" && o.backend != "gloo" && o.backend != "nccl")
    throw UserError("config: train.dist_backend \"{}\" is not one of auto, gloo, nccl", o.backend);
  auto seconds = [&train](const char* key, double fallback) {
    const double v = train.value(key, fallback);
    if (!(v > 0)) throw UserError("config: train.{} must be above 0 seconds (got {})", key, v);
    return v;
  };
  o.timeout_seconds = seconds("dist_timeout", o.timeout_seconds);
  o.join_timeout_seconds = seconds("dist_join_timeout", o.join_timeout_seconds);
  return o;
}

LaunchEnvironment LaunchEnvironment::from_environment() {
  LaunchEnvironment e;
  e.world_size = int_variable("WORLD_SIZE", 1, 1);
  e.rank = int_variable("RANK", 0, 0);
  e.local_rank = int_variable("LOCAL_RANK", e.rank, 0);
  e.local_world_size = int_variable("LOCAL_WORLD_SIZE", e.world_size, 1);
  if (e.rank >= e.world_size)
    throw UserError("environment: RANK={} is not below WORLD_SIZE={}", e.rank, e.world_size);
  if (const char* addr = variable("MASTER_ADDR")) e.master_addr = addr;
  e.master_port = int_variable("MASTER_PORT", e.master_port, 1);
  if (e.master_port > 65535)
    throw UserError("environment: MASTER_PORT={} is not a port (1-65535)", e.master_port);
  if (const char* agent = variable("TORCHELASTIC_USE_AGENT_STORE"))
    e.agent_store = std::strcmp(agent, "True") == 0;
  if (const char* restarts = variable("TORCHELASTIC_RESTART_COUNT")) e.restart_count = restarts;
  if (e.world_size > 1 &&
      (variable("MASTER_ADDR") == nullptr || variable("MASTER_PORT") == nullptr))
    throw UserError(
        "environment: WORLD_SIZE={} needs MASTER_ADDR and MASTER_PORT (where rank 0 serves the "
        "store)",
        e.world_size);
  return e;
}

struct World::Group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroup> pg;
};

struct World::Pending::Impl {
  c10::intrusive_ptr<c10d::Work> work;
  torch::Tensor staged, target;  // the copy reduced on the backend's device, and the caller's
  std::string what, label;
  double timeout_seconds = 0;
};

namespace {

// Runs a c10d call and waits for it; a peer that died or timed out becomes a
// UserError naming this rank and what it waited for.
[[noreturn]] void fail(const std::string& label, const std::string& what, double timeout,
                       const std::exception& e) {
  throw UserError(
      "distributed: {} gave up waiting for {}: a peer died, or did not answer within {} s ({})",
      label, what, timeout, first_line(e.what()));
}

void wait_for(const c10::intrusive_ptr<c10d::Work>& work, const std::string& label,
              const std::string& what, double timeout) {
  try {
    work->wait();
  } catch (const std::exception& e) {
    fail(label, what, timeout, e);
  }
}

}  // namespace

World::World() = default;

World::World(const LaunchEnvironment& env, const DistributedOptions& options)
    : rank_(env.rank),
      size_(env.world_size),
      local_rank_(env.local_rank),
      local_size_(env.local_world_size),
      timeout_seconds_(options.timeout_seconds),
      group_(std::make_unique<Group>()) {
  backend_ = options.backend == "auto" ? "gloo" : options.backend;
  const auto timeout = to_ms(options.timeout_seconds);
  try {
    // Joining: every rank reaches the store and says so, then waits until all
    // have, within the join timeout. Only then does the process group, bounded
    // by the collectives' timeout, exchange its addresses.
    c10d::TCPStoreOptions so;
    so.port = static_cast<uint16_t>(env.master_port);
    so.isServer = !env.agent_store && env.rank == 0;
    so.numWorkers = env.world_size;
    so.timeout = to_ms(options.join_timeout_seconds);
    so.multiTenant = true;
    c10::intrusive_ptr<c10d::Store> store =
        c10::make_intrusive<c10d::TCPStore>(env.master_addr, so);
    if (env.agent_store)
      store = c10::make_intrusive<c10d::PrefixStore>("/worker/attempt_" + env.restart_count, store);
    group_->store = c10::make_intrusive<c10d::PrefixStore>("attnzoo/", store);
    std::vector<std::string> joined;
    for (int r = 0; r < size_; ++r) joined.push_back(fmt::format("joined/{}", r));
    group_->store->set(joined[rank_], {1});
    group_->store->wait(joined, so.timeout);
    group_->store->setTimeout(timeout);
  } catch (const std::exception& e) {
    throw UserError("distributed: {} could not meet the others at the store {}:{} within {} s: {}",
                    label(), env.master_addr, env.master_port, options.join_timeout_seconds,
                    first_line(e.what()));
  }
  try {
    if (backend_ == "nccl") {
#ifdef USE_C10D_NCCL
      auto o = c10d::ProcessGroupNCCL::Options::create();
      o->timeout = timeout;
      group_->pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(group_->store, rank_, size_, o);
      device_ = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(local_rank_));
#else
      throw UserError(
          "config: train.dist_backend nccl needs a LibTorch built with CUDA and NCCL; this one "
          "has no NCCL (use gloo)");
#endif
    } else {
      auto o = c10d::ProcessGroupGloo::Options::create(timeout);
      const char* ifname = variable("GLOO_SOCKET_IFNAME");
      o->devices.push_back(ifname != nullptr
                               ? c10d::ProcessGroupGloo::createDeviceForInterface(ifname)
                           : is_loopback(env.master_addr)
                               ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                               : c10d::ProcessGroupGloo::createDefaultDevice());
      o->threads = 2;
      group_->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(group_->store, rank_, size_, o);
    }
  } catch (const UserError&) {
    throw;
  } catch (const std::exception& e) {
    throw UserError(
        "distributed: {} could not connect to its {} peer(s) within {} s (did every rank start, "
        "with the same MASTER_ADDR, MASTER_PORT and WORLD_SIZE?): {}",
        label(), size_ - 1, options.timeout_seconds, first_line(e.what()));
  }
}

World::~World() = default;

std::string World::label() const { return fmt::format("rank {} of {}", rank_, size_); }

void World::broadcast(std::vector<torch::Tensor>& tensors, const std::string& what) const {
  if (!distributed() || tensors.empty()) return;
  std::vector<torch::Tensor> t;
  for (const auto& x : tensors) t.push_back(x.device() == device_ ? x : x.to(device_));
  wait_for(group_->pg->broadcast(t), label(), what, timeout_seconds_);
  for (size_t i = 0; i < t.size(); ++i)
    if (!t[i].is_same(tensors[i])) tensors[i].copy_(t[i]);
}

double World::agree(double value, const std::string& what) const {
  if (!distributed()) return value;
  std::vector<torch::Tensor> t = {torch::tensor({value}, torch::kDouble)};
  broadcast(t, what);
  return t[0].item<double>();
}

double World::await_main(double value, double wait_seconds, const std::string& what) const {
  if (!distributed()) return value;
  const std::string key = fmt::format("await_main/{}", published_++);
  try {
    if (main()) {
      const std::string text = fmt::format("{:.17g}", value);
      group_->store->set(key, std::vector<uint8_t>(text.begin(), text.end()));
      return value;
    }
    group_->store->wait({key}, to_ms(wait_seconds));
    const auto bytes = group_->store->get(key);
    return std::stod(std::string(bytes.begin(), bytes.end()));
  } catch (const std::exception& e) {
    throw UserError(
        "distributed: {} gave up waiting for {}: rank 0 died, or did not answer within {} s ({})",
        label(), what, wait_seconds, first_line(e.what()));
  }
}

void World::sum(torch::Tensor& tensor, const std::string& what) const {
  sum_async(tensor, what).wait();
}

std::vector<torch::Tensor> World::gather(const torch::Tensor& tensor,
                                         const std::string& what) const {
  if (!distributed()) return {tensor};
  std::vector<std::vector<torch::Tensor>> out(1);
  const auto staged = tensor.to(device_).contiguous();
  for (int r = 0; r < size_; ++r) out[0].push_back(torch::empty_like(staged));
  std::vector<torch::Tensor> in = {staged};
  wait_for(group_->pg->allgather(out, in), label(), what, timeout_seconds_);
  for (auto& t : out[0]) t = t.to(tensor.device());
  return out[0];
}

void World::barrier(const std::string& what) const {
  if (!distributed()) return;
  // A barrier is an all-reduce of one number, so it keeps the group's timeout.
  auto t = torch::zeros({1});
  sum(t, what);
}

World::Pending::Pending(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
World::Pending::~Pending() = default;
World::Pending::Pending(Pending&&) noexcept = default;
World::Pending& World::Pending::operator=(Pending&&) noexcept = default;

void World::Pending::wait() {
  if (impl_ && impl_->work) {
    wait_for(impl_->work, impl_->label, impl_->what, impl_->timeout_seconds);
    if (!impl_->staged.is_same(impl_->target)) impl_->target.copy_(impl_->staged);
  }
  impl_.reset();
}

World::Pending World::sum_async(torch::Tensor& tensor, const std::string& what) const {
  auto impl = std::make_unique<Pending::Impl>();
  if (distributed()) {
    impl->target = tensor;
    impl->staged = tensor.device() == device_ ? tensor : tensor.to(device_);
    std::vector<torch::Tensor> t = {impl->staged};
    try {
      impl->work = group_->pg->allreduce(t);
    } catch (const std::exception& e) {
      fail(label(), what, timeout_seconds_, e);
    }
    impl->what = what;
    impl->label = label();
    impl->timeout_seconds = timeout_seconds_;
  }
  return Pending(std::move(impl));
}

namespace {
std::unique_ptr<World>& the_world() {
  static std::unique_ptr<World> w = std::make_unique<World>();
  return w;
}
}  // namespace

World& world() { return *the_world(); }

void init_world(const DistributedOptions& options, bool cuda) {
  if (the_world()->distributed()) return;
  const auto env = LaunchEnvironment::from_environment();
  if (env.world_size == 1) return;
  DistributedOptions o = options;
#ifdef USE_C10D_NCCL
  if (o.backend == "auto" && cuda) o.backend = "nccl";
#else
  (void)cuda;
#endif
  the_world() = std::make_unique<World>(env, o);
}

uint64_t rank_seed(uint64_t seed, int rank) {
  if (rank == 0) return seed;
  // splitmix64 of (seed, rank): distinct, well-mixed streams per rank.
  uint64_t z = seed + 0x9e3779b97f4a7c15ull * static_cast<uint64_t>(rank + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace attnzoo
