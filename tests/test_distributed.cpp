// Data-parallel pieces: the shard each rank trains on, the launcher's
// variables, the config keys, and the gradient reduction over two ranks that
// meet on 127.0.0.1 (two threads of this process, each one rank of a Gloo
// group); --device and the optimizer state that follows it. The apps on 2
// processes: tests/cli_distributed.sh.
#include <netinet/in.h>
#include <sys/socket.h>
#include <torch/cuda.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <future>
#include <numeric>
#include <optional>
#include <thread>

#include "data/error.h"
#include "train/data_parallel.h"
#include "train/device.h"
#include "train/distributed.h"

using namespace attnzoo;

namespace {

// Sets environment variables for one scope, restoring what was there.
class ScopedEnvironment {
 public:
  explicit ScopedEnvironment(std::vector<std::pair<std::string, std::optional<std::string>>> vars) {
    for (auto& [name, value] : vars) {
      const char* old = std::getenv(name.c_str());
      saved_.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
      if (value)
        ::setenv(name.c_str(), value->c_str(), 1);
      else
        ::unsetenv(name.c_str());
    }
  }
  ~ScopedEnvironment() {
    for (auto& [name, value] : saved_) {
      if (value)
        ::setenv(name.c_str(), value->c_str(), 1);
      else
        ::unsetenv(name.c_str());
    }
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

const std::vector<std::string> kLaunchVariables = {"RANK",
                                                   "WORLD_SIZE",
                                                   "LOCAL_RANK",
                                                   "LOCAL_WORLD_SIZE",
                                                   "MASTER_ADDR",
                                                   "MASTER_PORT",
                                                   "TORCHELASTIC_USE_AGENT_STORE"};

ScopedEnvironment launcher(const std::vector<std::pair<std::string, std::string>>& set) {
  std::vector<std::pair<std::string, std::optional<std::string>>> vars;
  for (const auto& name : kLaunchVariables) vars.emplace_back(name, std::nullopt);
  for (const auto& [name, value] : set)
    for (auto& v : vars)
      if (v.first == name) v.second = value;
  return ScopedEnvironment(vars);
}

// A port on 127.0.0.1 that nothing listens on right now.
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const int port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

LaunchEnvironment rank_of_two(int rank, int port) {
  LaunchEnvironment e;
  e.rank = rank;
  e.world_size = 2;
  e.local_rank = rank;
  e.local_world_size = 2;
  e.master_addr = "127.0.0.1";
  e.master_port = port;
  return e;
}

}  // namespace

TEST_CASE("shard_of splits a batch into contiguous, nearly equal shards", "[distributed]") {
  for (size_t n : {0, 1, 5, 8, 33}) {
    for (int w : {1, 2, 3, 4}) {
      std::vector<size_t> batch(n);
      std::iota(batch.begin(), batch.end(), size_t{100});
      std::vector<size_t> joined;
      size_t smallest = n, largest = 0;
      for (int r = 0; r < w; ++r) {
        const auto shard = shard_of(batch, r, w);
        joined.insert(joined.end(), shard.begin(), shard.end());
        smallest = std::min(smallest, shard.size());
        largest = std::max(largest, shard.size());
      }
      CHECK(joined == batch);  // every example once, in order
      CHECK(largest - smallest <= 1);
    }
  }
  CHECK(shard_of({7, 8, 9}, 0, 2) == std::vector<size_t>{7, 8});
  CHECK(shard_of({7, 8, 9}, 1, 2) == std::vector<size_t>{9});
  CHECK(shard_of({7}, 1, 2).empty());
}

TEST_CASE("the launcher's variables: none is one process, and mistakes name the variable",
          "[distributed]") {
  {
    auto env = launcher({});
    const auto e = LaunchEnvironment::from_environment();
    CHECK(e.rank == 0);
    CHECK(e.world_size == 1);
  }
  {
    auto env = launcher({{"RANK", "1"},
                         {"WORLD_SIZE", "2"},
                         {"LOCAL_RANK", "1"},
                         {"MASTER_ADDR", "10.0.0.2"},
                         {"MASTER_PORT", "29555"},
                         {"TORCHELASTIC_USE_AGENT_STORE", "True"}});
    const auto e = LaunchEnvironment::from_environment();
    CHECK(e.rank == 1);
    CHECK(e.world_size == 2);
    CHECK(e.local_rank == 1);
    CHECK(e.master_addr == "10.0.0.2");
    CHECK(e.master_port == 29555);
    CHECK(e.agent_store);
  }
  auto fails_naming = [](std::vector<std::pair<std::string, std::string>> set,
                         const std::string& name) {
    auto env = launcher(set);
    CHECK_THROWS_WITH(LaunchEnvironment::from_environment(), Catch::Contains(name));
  };
  fails_naming({{"WORLD_SIZE", "2"}, {"RANK", "0"}}, "MASTER_ADDR");
  fails_naming({{"WORLD_SIZE", "2"}, {"RANK", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "1"}},
               "RANK=2");
  fails_naming({{"WORLD_SIZE", "two"}}, "WORLD_SIZE");
  fails_naming({{"WORLD_SIZE", "2"}, {"RANK", "1"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "70000"}},
               "MASTER_PORT");
}

TEST_CASE("train.dist_backend, train.dist_timeout and train.dist_join_timeout are checked",
          "[distributed]") {
  CHECK(DistributedOptions::from_json(nlohmann::json::object()).backend == "auto");
  const auto o = DistributedOptions::from_json(
      {{"dist_backend", "gloo"}, {"dist_timeout", 5}, {"dist_join_timeout", 7}});
  CHECK(o.timeout_seconds == 5);
  CHECK(o.join_timeout_seconds == 7);
  CHECK_THROWS_WITH(DistributedOptions::from_json({{"dist_join_timeout", -1}}),
                    Catch::Contains("train.dist_join_timeout"));
  CHECK_THROWS_WITH(DistributedOptions::from_json({{"dist_backend", "mpi"}}),
                    Catch::Contains("train.dist_backend"));
  CHECK_THROWS_WITH(DistributedOptions::from_json({{"dist_timeout", 0}}),
                    Catch::Contains("train.dist_timeout"));
}

TEST_CASE("one process: every collective leaves things as they are", "[distributed]") {
  World alone;
  CHECK_FALSE(alone.distributed());
  auto t = torch::tensor({1.0, 2.0});
  alone.sum(t, "a sum");
  CHECK(torch::equal(t, torch::tensor({1.0, 2.0})));
  CHECK(alone.agree(0.25, "a number") == 0.25);
  CHECK(alone.gather(t, "a gather").size() == 1);
  CHECK(rank_seed(7, 0) == 7);
  CHECK(rank_seed(7, 1) != rank_seed(7, 2));
}

TEST_CASE("two ranks on 127.0.0.1: gradients average weighted by each shard's tokens",
          "[distributed]") {
  const int port = free_port();
  DistributedOptions options;
  options.backend = "gloo";
  options.timeout_seconds = 30;
  // Rank r's gradients: a = r + 1 everywhere (weight 3 on rank 0, 1 on rank 1);
  // b only on rank 1; c on neither.
  auto rank_main = [&](int rank) {
    World w(rank_of_two(rank, port), options);
    auto a = torch::zeros({3, 2}, torch::requires_grad());
    auto b = torch::zeros({4}, torch::requires_grad());
    auto c = torch::zeros({2}, torch::requires_grad());
    a.mutable_grad() = torch::full({3, 2}, static_cast<double>(rank + 1));
    if (rank == 1) b.mutable_grad() = torch::full({4}, 8.0);
    // Buckets of 16 bytes: a (24 bytes) in one, b and c in others.
    GradientReducer reducer({a, b, c}, w, 16);
    double total = 0;
    const auto stats = reducer.reduce(
        rank == 0 ? 3.0 : 1.0, torch::tensor({1.0, 10.0 * rank}, torch::kDouble), &total, "step 1");
    const double first = w.agree(rank == 0 ? 0.5 : 9.0, "rank 0's number");
    const auto gathered = w.gather(torch::tensor({static_cast<float>(rank)}), "ranks");
    return std::make_tuple(
        a.grad().clone(), b.grad().defined() ? b.grad().clone() : torch::Tensor(),
        c.grad().defined(), stats, total, first, torch::cat(gathered), reducer.buckets());
  };
  auto r0 = std::async(std::launch::async, rank_main, 0);
  auto r1 = std::async(std::launch::async, rank_main, 1);
  for (auto* f : {&r0, &r1}) {
    const auto [a, b, c_defined, stats, total, first, gathered, buckets] = f->get();
    CHECK(torch::allclose(a, torch::full({3, 2}, (3.0 * 1 + 1.0 * 2) / 4.0)));
    REQUIRE(b.defined());  // zero on rank 0, 8 on rank 1, weighted 1 of 4
    CHECK(torch::allclose(b, torch::full({4}, 8.0 / 4.0)));
    CHECK_FALSE(c_defined);
    CHECK(torch::equal(stats, torch::tensor({2.0, 10.0}, torch::kDouble)));
    CHECK(total == 4.0);
    CHECK(first == 0.5);
    CHECK(torch::equal(gathered, torch::tensor({0.0F, 1.0F})));
    CHECK(buckets == 3);
  }
}

TEST_CASE("a peer that never arrives ends the wait with a clear error", "[distributed]") {
  DistributedOptions options;
  options.join_timeout_seconds = 1;
  CHECK_THROWS_WITH(World(rank_of_two(0, free_port()), options),
                    Catch::Contains("rank 0 of 2") && Catch::Contains("within 1 s"));
}

TEST_CASE("a rank that starts late joins within the join timeout, not the collectives' one",
          "[distributed]") {
  const int port = free_port();
  DistributedOptions options;
  options.timeout_seconds = 1;
  options.join_timeout_seconds = 60;
  auto rank_main = [&](int rank) {
    if (rank == 1) std::this_thread::sleep_for(std::chrono::milliseconds(2500));
    World w(rank_of_two(rank, port), options);
    auto t = torch::ones({2});
    w.sum(t, "a sum");
    return t[0].item<float>();
  };
  auto r0 = std::async(std::launch::async, rank_main, 0);
  auto r1 = std::async(std::launch::async, rank_main, 1);
  CHECK(r0.get() == 2.0F);
  CHECK(r1.get() == 2.0F);
}

TEST_CASE("the device: cpu, cuda or cuda:N, and one clear error for a mistake or a missing GPU",
          "[distributed][device]") {
  CHECK(parse_device("cpu") == torch::Device(torch::kCPU));
  CHECK_THROWS_WITH(parse_device("gpu"), Catch::Contains("not one of cpu, cuda, cuda:N"));
  CHECK_THROWS_WITH(parse_device("cuda:x"), Catch::Contains("not one of cpu, cuda, cuda:N"));
  if (torch::cuda::is_available()) {
    CHECK(parse_device("cuda") == torch::Device(torch::kCUDA, 0));
    CHECK(parse_device("cuda:0") == torch::Device(torch::kCUDA, 0));
    CHECK_THROWS_WITH(parse_device("cuda:999"), Catch::Contains("there is no cuda:999"));
  } else {  // Debian's LibTorch
    CHECK_THROWS_WITH(parse_device("cuda"), Catch::Contains("this LibTorch has no CUDA"));
    CHECK_THROWS_WITH(parse_device("cuda:1"), Catch::Contains("this LibTorch has no CUDA"));
  }
  torch::nn::Linear layer(2, 3);
  CHECK(module_device(*layer) == torch::Device(torch::kCPU));
  CHECK(module_device(torch::nn::Module()) == torch::Device(torch::kCPU));
}

TEST_CASE("an optimizer's state moves with its parameters and keeps its values",
          "[distributed][device]") {
  for (const std::string kind : {"adam", "adamw", "sgd"}) {
    auto w = torch::ones({3}, torch::requires_grad());
    std::unique_ptr<torch::optim::Optimizer> o;
    if (kind == "adam") o = std::make_unique<torch::optim::Adam>(std::vector<torch::Tensor>{w});
    if (kind == "adamw") o = std::make_unique<torch::optim::AdamW>(std::vector<torch::Tensor>{w});
    if (kind == "sgd")
      o = std::make_unique<torch::optim::SGD>(std::vector<torch::Tensor>{w},
                                              torch::optim::SGDOptions(0.1).momentum(0.9));
    w.mutable_grad() = torch::full({3}, 0.5);
    o->step();
    const auto before = w.detach().clone();
    move_optimizer_state(*o, torch::kCPU);
    REQUIRE(o->state().size() == 1);
    o->step();
    CHECK_FALSE(torch::equal(w.detach(), before));  // the state still drives the next step
  }
}

TEST_CASE("rank 0's validation may outlast the collectives' timeout", "[distributed]") {
  const int port = free_port();
  DistributedOptions options;
  options.timeout_seconds = 1;
  options.join_timeout_seconds = 60;  // joining is not what this checks
  auto rank_main = [&](int rank) {
    World w(rank_of_two(rank, port), options);
    if (rank == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2500));
    const double score = w.await_main(rank == 0 ? 31.25 : -1.0, 30, "rank 0's validation");
    // The collectives still work afterwards.
    auto t = torch::ones({2});
    w.sum(t, "a sum");
    return std::make_pair(score, t[0].item<float>());
  };
  auto r0 = std::async(std::launch::async, rank_main, 0);
  auto r1 = std::async(std::launch::async, rank_main, 1);
  for (auto* f : {&r0, &r1}) {
    const auto [score, summed] = f->get();
    CHECK(score == 31.25);
    CHECK(summed == 2.0F);
  }
}
