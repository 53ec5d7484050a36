// The training loop on a one-weight regression: the optimizer the config
// names, its state across a resume, and the loop's config keys.
#include <catch2/catch.hpp>

#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>

#include "data/error.h"
#include "tests/temp_dir.h"
#include "train/checkpoint.h"
#include "train/loop.h"

using namespace attnzoo;

namespace {

// Fits y = 3x with y = w x, w starting at 1: 8 examples, batches of 4.
class LineTask : public TrainTask {
 public:
  LineTask() : x_(torch::linspace(-1.0, 1.0, 8)) { model_->weight.data().fill_(1.0); }
  torch::nn::Module& model() override { return *model_; }
  std::vector<std::vector<size_t>> epoch_batches(uint64_t seed) override {
    return shuffled_batches(8, 4, seed);
  }
  StepResult train_step(const std::vector<size_t>& batch) override {
    std::vector<int64_t> rows(batch.begin(), batch.end());
    const auto x = x_.index_select(0, torch::tensor(rows, torch::kLong)).unsqueeze(1);
    StepResult r;
    r.loss = (model_->forward(x) - 3.0 * x).pow(2).mean();
    r.tokens = static_cast<int64_t>(batch.size());
    r.terms = {{"weight", model_->weight.detach().squeeze()}};
    return r;
  }
  Evaluation evaluate() override {
    torch::NoGradGuard no_grad;
    const double error = std::abs(weight() - 3.0);
    return {{{"valid_error", error}}, -error, "valid error " + std::to_string(error)};
  }
  nlohmann::json meta() const override { return {{"app", "line"}}; }
  std::map<std::string, torch::Tensor> tensors() const override { return {}; }
  double weight() const { return model_->weight.item<double>(); }

 private:
  torch::Tensor x_;
  torch::nn::Linear model_{torch::nn::LinearOptions(1, 1).bias(false)};
};

LoopOptions one_step(const std::string& optimizer, double weight_decay = 0.0) {
  auto config = default_loop_config();
  config["optimizer"] = optimizer;
  config["lr"] = 0.1;
  config["weight_decay"] = weight_decay;
  config["clip"] = 0.0;
  config["max_steps"] = 1;
  config["schedule"]["kind"] = "constant";
  return LoopOptions::from_json(config);
}

std::string fresh_dir(const std::string& name) {
  const auto dir = attnzoo::testing::scratch_dir() / name;
  std::filesystem::remove_all(dir);
  return dir.string();
}

// The gradient of the first batch's loss at w = 1.
double first_gradient() {
  LineTask task;
  const auto r = task.train_step(task.epoch_batches(1 * 1000003ull).front());
  r.loss.backward();
  return task.model().parameters().front().grad().item<double>();
}

}  // namespace

TEST_CASE("the loop steps with the optimizer the config names", "[loop]") {
  const double g = first_gradient();
  REQUIRE(g < -0.1);  // w = 1 is below 3: the loss falls as w grows
  SECTION("sgd: w - lr g (the momentum buffer starts at g)") {
    LineTask task;
    run_training(task, one_step("sgd"), fresh_dir("sgd"), nullptr);
    CHECK(task.weight() == Approx(1.0 - 0.1 * g).epsilon(1e-6));
  }
  SECTION("adam: its first step is lr against the gradient's sign") {
    LineTask task;
    run_training(task, one_step("adam"), fresh_dir("adam"), nullptr);
    CHECK(task.weight() == Approx(1.1).epsilon(1e-5));
  }
  SECTION("adamw: the same, after decoupled decay w (1 - lr wd)") {
    LineTask task;
    run_training(task, one_step("adamw", 0.5), fresh_dir("adamw"), nullptr);
    CHECK(task.weight() == Approx(1.0 * (1.0 - 0.1 * 0.5) + 0.1).epsilon(1e-5));
  }
}

TEST_CASE("a resumed sgd run keeps its momentum", "[loop]") {
  auto config = default_loop_config();
  config["optimizer"] = "sgd";
  config["lr"] = 0.05;
  config["schedule"]["kind"] = "constant";
  config["max_steps"] = 6;
  LineTask whole;
  run_training(whole, LoopOptions::from_json(config), fresh_dir("whole"), nullptr);

  const auto dir = fresh_dir("halves");
  config["max_steps"] = 3;
  LineTask first;
  run_training(first, LoopOptions::from_json(config), dir, nullptr);
  config["max_steps"] = 6;
  LineTask second;
  auto checkpoint = std::make_unique<Checkpoint>(dir + "/checkpoint.pt", "line");
  checkpoint->load_model(second.model());  // as each app's bundle does from a checkpoint
  run_training(second, LoopOptions::from_json(config), dir, std::move(checkpoint));
  CHECK(first.weight() != Approx(whole.weight()));
  CHECK(second.weight() == Approx(whole.weight()).epsilon(1e-12));
  CHECK(std::abs(whole.weight() - 3.0) < 2.0);
}

TEST_CASE("train.keep_checkpoints keeps the last K checkpoints as step-<N>.pt", "[loop]") {
  auto config = default_loop_config();
  config["optimizer"] = "sgd";
  config["lr"] = 0.05;
  config["schedule"]["kind"] = "constant";
  config["max_steps"] = 7;
  config["checkpoint_every"] = 2;
  config["keep_checkpoints"] = 2;
  const auto dir = fresh_dir("keep");
  LineTask task;
  run_training(task, LoopOptions::from_json(config), dir, nullptr);
  // Saved at steps 2, 4, 6 and at the end (7): the newest two remain.
  CHECK(step_checkpoints(dir) == std::vector<int64_t>{7, 6});
  const Checkpoint six(dir + "/step-6.pt", "line"), seven(dir + "/step-7.pt", "line");
  CHECK(six.meta().at("progress").at("step") == 6);
  CHECK(seven.meta().at("progress").at("step") == 7);
  LineTask last;
  Checkpoint(dir + "/checkpoint.pt", "line").load_model(last.model());
  CHECK(last.weight() == task.weight());
  config["keep_checkpoints"] = -1;
  CHECK_THROWS_WITH(LoopOptions::from_json(config), Catch::Contains("keep_checkpoints"));
}

TEST_CASE("the loop's config keys: defaults under each app's, and bad values named", "[loop]") {
  const auto merged = with_loop_defaults({{"batch_size", 8}, {"schedule", {{"patience", 4}}}});
  CHECK(merged.at("batch_size") == 8);
  CHECK(merged.at("schedule").at("patience") == 4);
  CHECK(merged.at("schedule").at("kind") == "plateau");  // the rest of the schedule stays
  CHECK(merged.at("optimizer") == "adam");
  auto bad = default_loop_config();
  bad["optimizer"] = "rmsprop";
  CHECK_THROWS_WITH(LoopOptions::from_json(bad), Catch::Contains("train.optimizer \"rmsprop\""));
  bad = default_loop_config();
  bad["momentum"] = 1.0;
  CHECK_THROWS_AS(LoopOptions::from_json(bad), UserError);
}

namespace {

std::vector<nlohmann::json> metrics_of(const std::string& dir) {
  std::vector<nlohmann::json> lines;
  std::ifstream in(dir + "/metrics.jsonl");
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

LoopOptions line_options(int64_t max_steps) {
  auto config = default_loop_config();
  config["optimizer"] = "sgd";
  config["lr"] = 0.05;
  config["schedule"]["kind"] = "constant";
  config["max_steps"] = max_steps;
  config["log_every"] = 2;
  config["epochs"] = 100;
  return LoopOptions::from_json(config);
}

// Raises SIGINT from inside the loop, at the step given.
class InterruptedTask : public LineTask {
 public:
  explicit InterruptedTask(int64_t at) : at_(at) {}
  StepResult train_step(const std::vector<size_t>& batch) override {
    if (++steps_ == at_) std::raise(SIGINT);
    return LineTask::train_step(batch);
  }

 private:
  int64_t at_, steps_ = 0;
};

}  // namespace

TEST_CASE("a run stopped between evaluations logs its final validation, one line per step",
          "[loop]") {
  // 2 batches per epoch: evaluations at the epoch ends (steps 2, 4 ...).
  SECTION("stopped by steps at an odd step: a line of its own") {
    const auto dir = fresh_dir("final-odd");
    LineTask task;
    run_training(task, line_options(5), dir, nullptr);
    const auto lines = metrics_of(dir);
    REQUIRE(!lines.empty());
    CHECK(lines.back().at("step") == 5);
    CHECK(lines.back().at("final") == true);
    CHECK(lines.back().at("valid_error").get<double>() == Approx(std::abs(task.weight() - 3.0)));
    CHECK(!lines.back().contains("best"));  // reported only: best.pt is step 4's
    CHECK(lines[lines.size() - 2].at("step") == 4);
    CHECK(lines[lines.size() - 2].value("best", false));
    CHECK(std::filesystem::exists(dir + "/curves.png"));
  }
  SECTION("a resumed finished run validates nothing again and says how to go on") {
    const auto dir = fresh_dir("final-again");
    {
      LineTask task;
      run_training(task, line_options(5), dir, nullptr);
    }
    const auto before = metrics_of(dir).size();
    LineTask again;
    run_training(again, line_options(5), dir,
                 std::make_unique<Checkpoint>(dir + "/checkpoint.pt", "line"));
    CHECK(metrics_of(dir).size() == before);
  }
  SECTION("a signal stops the run after its step, validated and saved") {
    const auto dir = fresh_dir("final-signal");
    const auto before = std::signal(SIGINT, SIG_DFL);  // Catch2's own handler, say
    std::signal(SIGINT, before);
    InterruptedTask task(3);
    run_training(task, line_options(50), dir, nullptr);
    const auto lines = metrics_of(dir);
    CHECK(lines.back().at("step") == 3);
    CHECK(lines.back().at("final") == true);
    CHECK(Checkpoint(dir + "/checkpoint.pt", "line").meta().at("progress").at("step") == 3);
    // The handler that was there before the run is back.
    const auto after = std::signal(SIGINT, before);
    CHECK(after == before);
  }
  SECTION("stopped at a logged step: the validation joins that step's line") {
    const auto dir = fresh_dir("final-merged");
    auto options = line_options(3);
    options.log_every = 3;
    LineTask task;
    run_training(task, options, dir, nullptr);
    const auto lines = metrics_of(dir);
    CHECK(lines.back().at("step") == 3);
    CHECK(lines.back().contains("loss"));
    CHECK(lines.back().at("final") == true);
    CHECK(lines[lines.size() - 2].at("step") == 2);
  }
}
