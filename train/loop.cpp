#include "train/loop.h"

#include <fmt/ranges.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>
#include <thread>

#include "data/error.h"
#include "data/files.h"
#include "data/text_io.h"
#include "train/checkpoint.h"
#include "train/curves.h"
#include "train/data_parallel.h"
#include "train/device.h"
#include "train/distributed.h"
#include "train/progress.h"
#include "train/runtime.h"
#include "train/schedule.h"

namespace attnzoo {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Where training stands; saved in every checkpoint so a resumed run continues
// exactly where it stopped.
struct Progress {
  int64_t step = 0;            // optimizer steps taken
  int64_t epoch = 0;           // current epoch (0-based)
  int64_t batch_in_epoch = 0;  // batches of this epoch already taken
  double best_metric = -1e300;
  int64_t best_step = 0;
  int64_t evals_without_improvement = 0;
  int64_t tokens = 0;          // tokens trained on
  double train_seconds = 0.0;  // time in training steps (not evaluation)
  // Drawn when a run starts, kept across resumes: checkpoints of one run
  // share it (translate average refuses to mix runs). Empty in older files.
  std::string run_id;

  nlohmann::json to_json() const {
    return {{"step", step},
            {"epoch", epoch},
            {"batch_in_epoch", batch_in_epoch},
            {"best_metric", best_metric},
            {"best_step", best_step},
            {"evals_without_improvement", evals_without_improvement},
            {"tokens", tokens},
            {"train_seconds", train_seconds},
            {"run_id", run_id}};
  }
  static Progress from_json(const nlohmann::json& j) {
    Progress p;
    p.step = j.at("step");
    p.epoch = j.at("epoch");
    p.batch_in_epoch = j.at("batch_in_epoch");
    p.best_metric = j.at("best_metric");
    p.best_step = j.at("best_step");
    p.evals_without_improvement = j.at("evals_without_improvement");
    p.tokens = j.at("tokens");
    p.train_seconds = j.at("train_seconds");
    p.run_id = j.value("run_id", "");
    return p;
  }
};

// Mean loss and speed over the steps since the last log line. The sums stay
// tensors until the line is written, so a step does not wait to read a scalar.
struct Window {
  torch::Tensor loss;                                              // sum, double
  std::map<std::string, std::pair<torch::Tensor, int64_t>> terms;  // sums and counts
  double seconds = 0.0;
  int64_t tokens = 0, steps = 0;

  void add(const StepResult& r, double step_seconds) {
    auto sum = [](torch::Tensor& total, const torch::Tensor& x) {
      const auto v = x.detach().to(torch::kDouble);
      total = total.defined() ? total + v : v;
    };
    sum(loss, r.loss);
    for (const auto& [name, value] : r.terms) {
      auto& [total, count] = terms[name];
      sum(total, value);
      ++count;
    }
    tokens += r.tokens;
    seconds += step_seconds;
    ++steps;
  }
  double tokens_per_sec() const { return seconds > 0 ? tokens / seconds : 0.0; }
  // ("loss", mean), then (<term>, mean) ...
  std::vector<std::pair<std::string, double>> means() const {
    std::vector<std::pair<std::string, double>> out = {
        {"loss", loss.item<double>() / static_cast<double>(steps)}};
    for (const auto& [name, term] : terms)
      out.emplace_back(name, term.first.item<double>() / static_cast<double>(term.second));
    return out;
  }
};

// SIGINT or SIGTERM during training: the loop finishes its step, validates,
// saves and stops; a second signal ends the process at once (the handler is
// reset to the default's after the first).
volatile std::sig_atomic_t g_stop_signal = 0;

extern "C" void request_stop(int signal) {
  g_stop_signal = signal;
  std::signal(signal, SIG_DFL);
}

// Installs request_stop for the life of a run and puts back what was there.
// With several processes only SIGINT (Ctrl-C reaches every rank): SIGTERM is
// how torchrun ends the ranks left when one fails, and they must not linger.
class StopOnSignal {
 public:
  explicit StopOnSignal(bool distributed) {
    g_stop_signal = 0;
    int_ = std::signal(SIGINT, request_stop);
    if (!distributed) term_ = std::signal(SIGTERM, request_stop);
    distributed_ = distributed;
  }
  ~StopOnSignal() {
    std::signal(SIGINT, int_);
    if (!distributed_) std::signal(SIGTERM, term_);
  }
  StopOnSignal(const StopOnSignal&) = delete;
  StopOnSignal& operator=(const StopOnSignal&) = delete;

 private:
  void (*int_)(int) = SIG_DFL;
  void (*term_)(int) = SIG_DFL;
  bool distributed_ = false;
};

uint64_t shuffle_seed(uint64_t seed, int64_t epoch) {
  return seed * 1000003ull + static_cast<uint64_t>(epoch);
}

// The optimizer of options.optimizer over the task's parameter groups, each
// at its lr_scale times the base rate.
template <class Optimizer, class Options>
std::unique_ptr<torch::optim::Optimizer> build_optimizer(const std::vector<ParameterGroup>& groups,
                                                         const Options& defaults) {
  std::vector<torch::optim::OptimizerParamGroup> param_groups;
  for (const auto& group : groups) {
    auto options = std::make_unique<Options>(defaults);
    options->lr(defaults.lr() * group.lr_scale);
    param_groups.emplace_back(group.parameters, std::move(options));
  }
  return std::make_unique<Optimizer>(std::move(param_groups), defaults);
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const LoopOptions& o,
                                                        const std::vector<ParameterGroup>& groups) {
  namespace optim = torch::optim;
  if (o.optimizer == "adam")
    return build_optimizer<optim::Adam>(groups,
                                        optim::AdamOptions(o.lr).weight_decay(o.weight_decay));
  if (o.optimizer == "adamw")
    return build_optimizer<optim::AdamW>(groups,
                                         optim::AdamWOptions(o.lr).weight_decay(o.weight_decay));
  return build_optimizer<optim::SGD>(
      groups, optim::SGDOptions(o.lr).momentum(o.momentum).weight_decay(o.weight_decay));
}

// The schedule's rate for `step` in every group; then, after the update, the
// groups' own decoupled decay (ParameterGroup::decay).
void set_learning_rates(torch::optim::Optimizer& optimizer,
                        const std::vector<ParameterGroup>& groups, double lr) {
  for (size_t g = 0; g < groups.size(); ++g)
    optimizer.param_groups()[g].options().set_lr(lr * groups[g].lr_scale);
}

void decay_groups(const std::vector<ParameterGroup>& groups, double lr) {
  torch::NoGradGuard no_grad;
  for (const auto& group : groups) {
    if (group.decay == 0.0) continue;
    const double shrink = 1.0 - lr * group.lr_scale * group.decay;
    for (auto p : group.parameters) p.mul_(shrink);
  }
}

// One run of the loop: the task, its optimizer and schedule, where training
// stands, and the files it writes.
class Run {
 public:
  Run(TrainTask& task, const LoopOptions& o, const std::string& out_dir)
      : task_(task),
        o_(o),
        out_dir_(out_dir),
        checkpoint_path_(out_dir + "/checkpoint.pt"),
        best_path_(out_dir + "/best.pt"),
        metrics_path_(out_dir + "/metrics.jsonl"),
        groups_(task.parameter_groups()),
        optimizer_(make_optimizer(o, groups_)),
        schedule_(o.lr, o.schedule),
        world_(world()) {
    create_folder(out_dir, "run");  // begin_run made it, unless a caller skipped that
    if (world_.distributed())
      reducer_ = std::make_unique<GradientReducer>(task.model().parameters(), world_);
  }

  // Continues where `checkpoint` stopped, or (null) starts a fresh metrics log.
  void start(const Checkpoint* checkpoint) {
    if (checkpoint != nullptr) {
      checkpoint->load_optimizer(*optimizer_);
      move_optimizer_state(*optimizer_, module_device(task_.model()));
      progress = Progress::from_json(checkpoint->meta().at("progress"));
      schedule_.load_state(checkpoint->meta().at("schedule"));
      load_rng(*checkpoint);
      if (world_.main())
        std::fprintf(stderr, "resuming from %s at step %lld (epoch %lld)\n",
                     checkpoint->path().c_str(), static_cast<long long>(progress.step),
                     static_cast<long long>(progress.epoch + 1));
    }
    started_at_step_ = progress.step;
    if (progress.run_id.empty()) {
      // Not from the seeded generators: two runs of one seed are two runs.
      std::random_device device;
      progress.run_id = fmt::format("{:08x}{:08x}", device(), device());
    }
    if (world_.distributed()) {
      // Every rank starts from rank 0's weights, then draws its own dropout
      // and samples (rank 0 keeps the stream one process would draw).
      broadcast_parameters(task_.model(), "rank 0's initial parameters");
      if (checkpoint == nullptr && !world_.main())
        seed_everything(rank_seed(o_.seed, world_.rank()));
    }
    if (world_.main()) {
      for (const auto& line : metrics_until(metrics_path_, progress.step))
        metrics_.append(line).push_back('\n');
      write_file_atomically(metrics_path_, metrics_, "the metrics log");
    }
    const auto batches = task_.epoch_batches(shuffle_seed(o_.seed, 0));
    batches_per_epoch_ = static_cast<int64_t>(batches.size());
    if (batches_per_epoch_ == 0) throw UserError("no training batches");
    planned_ = o_.epochs * batches_per_epoch_;
    if (o_.max_steps > 0) planned_ = std::min(planned_, o_.max_steps);
    if (checkpoint != nullptr && world_.main() && progress.step >= planned_)
      std::fprintf(
          stderr,
          "%s: this run is finished (%lld of %lld steps: train.epochs %lld%s); to train "
          "it further, resume with more, e.g. --resume --epochs %lld%s\n",
          out_dir_.c_str(), static_cast<long long>(progress.step), static_cast<long long>(planned_),
          static_cast<long long>(o_.epochs),
          o_.max_steps > 0 ? fmt::format(", --max-steps {}", o_.max_steps).c_str() : "",
          static_cast<long long>(o_.epochs + 5),
          o_.max_steps > 0 ? fmt::format(" --max-steps {}", o_.max_steps * 2).c_str() : "");
    if (world_.main()) {
      if (steps_cap_from_env() > 0)
        std::fprintf(stderr, "ATTNZOO_MAX_STEPS caps this run at %lld steps\n",
                     static_cast<long long>(steps_cap_from_env()));
      std::fprintf(stderr, "training: %lld steps planned (%lld batches/epoch)\n",
                   static_cast<long long>(planned_), static_cast<long long>(batches_per_epoch_));
      if (world_.distributed())
        std::fprintf(stderr,
                     "data-parallel: %d processes (%s), each trains on 1/%d of every batch; "
                     "gradients: %.1f MB in %lld all-reduce buckets per step\n",
                     world_.size(), world_.backend().c_str(), world_.size(),
                     static_cast<double>(reducer_->bytes_per_step()) / 1e6,
                     static_cast<long long>(reducer_->buckets()));
    }
    task_.set_training(true);
    start_ = Clock::now();
  }

  // Whether batch `batch` is too small to give every rank an example (then
  // it is skipped: a rank with nothing to train on has no loss to weigh).
  bool too_small(const std::vector<size_t>& batch) const {
    return world_.distributed() && static_cast<int64_t>(batch.size()) < world_.size();
  }

  int64_t planned_steps() const { return planned_; }

  // Whether the step or time budget, or a stop signal, forbids another step.
  bool budget_reached() const {
    if (o_.max_steps > 0 && progress.step >= o_.max_steps) return true;
    const bool time_up = o_.max_minutes > 0 && seconds_since(start_) >= 60 * o_.max_minutes;
    double verdict = g_stop_signal != 0 ? 2.0 : time_up ? 1.0 : 0.0;
    // Rank 0's clock and signals decide, so every rank stops at the same step.
    if (world_.distributed()) verdict = world_.agree(verdict, "rank 0's time-budget check");
    if (verdict == 0) return false;
    if (world_.main()) {
      if (verdict == 1)
        std::fprintf(stderr, "\ntime budget of %.1f minutes reached\n", o_.max_minutes);
      else
        std::fprintf(stderr,
                     "\nstopping at step %lld (signal): validating and saving; a second signal "
                     "quits at once\n",
                     static_cast<long long>(progress.step));
    }
    return true;
  }

  // One optimizer step on batch `i` of the epoch.
  void step(const std::vector<size_t>& batch, int64_t i) {
    const auto step_start = Clock::now();
    ++progress.step;
    const double lr = schedule_.lr(progress.step);
    set_learning_rates(*optimizer_, groups_, lr);
    optimizer_->zero_grad();
    task_.set_progress(progress.step, planned_);
    StepResult result = task_.train_step(
        world_.distributed() ? shard_of(batch, world_.rank(), world_.size()) : batch);
    result.loss.backward();
    if (reducer_) {
      result = reduce_gradients(result);
      reduce_seconds_ += reducer_->last_seconds();
    }
    if (o_.clip > 0) torch::nn::utils::clip_grad_norm_(task_.model().parameters(), o_.clip);
    optimizer_->step();
    decay_groups(groups_, lr);
    if (world_.distributed()) broadcast_buffers(task_.model(), "rank 0's buffers");
    const double seconds = seconds_since(step_start);
    progress.batch_in_epoch = i + 1;
    progress.tokens += result.tokens;
    progress.train_seconds += seconds;
    window_.add(result, seconds);
  }

  // The progress bar, and every log_every steps (or with an evaluation) a
  // line of metrics.jsonl; the evaluation steers best.pt, the schedule and
  // early stopping.
  void report(ProgressBar* bar, bool evaluate_now) {
    const double lr = schedule_.lr(progress.step);
    if (progress.step % std::max<int64_t>(1, o_.log_every) == 0 || evaluate_now) {
      nlohmann::json line = {{"step", progress.step},
                             {"epoch", progress.epoch + 1},
                             {"lr", lr},
                             {"tokens", progress.tokens},
                             {"tokens_per_sec", window_.tokens_per_sec()},
                             {"elapsed_sec", seconds_since(start_)}};
      summary_.clear();
      for (const auto& [name, value] : window_.means()) {
        line[name] = value;
        summary_ += fmt::format(" {} {:.3f}", name, value);
      }
      summary_ += fmt::format(" lr {:.1e} {:.0f} {}/s", lr, window_.tokens_per_sec(), task_.unit());
      if (reducer_) {
        // Time in the gradient all-reduce (waiting for the slowest rank included).
        line["allreduce_ms"] = 1e3 * reduce_seconds_ / static_cast<double>(window_.steps);
        line["allreduce_bytes"] = reducer_->bytes_per_step();
        reduce_seconds_ = 0;
      }
      if (evaluate_now) line.update(evaluate_and_select());
      log(line, evaluate_now);
      window_ = Window();
    }
    evaluated_last_step_ = evaluate_now;
    if (bar != nullptr)
      bar->update(progress.step, fmt::format("epoch {}{}", progress.epoch + 1, summary_));
  }

  bool patience_exhausted() const {
    if (o_.early_stopping <= 0 || progress.evals_without_improvement < o_.early_stopping)
      return false;
    if (world_.main())
      std::fprintf(stderr, "early stopping: no improvement in %lld evaluations\n",
                   static_cast<long long>(o_.early_stopping));
    return true;
  }

  void save_last() {
    save(checkpoint_path_);
    keep_step_checkpoint();
  }

  // train.keep_checkpoints: checkpoint.pt also kept as step-<N>.pt (a hard
  // link: checkpoint.pt is replaced by a new file at the next save), the
  // newest K of them, for `translate average`.
  void keep_step_checkpoint() {
    if (o_.keep_checkpoints <= 0 || !world_.main()) return;
    namespace fs = std::filesystem;
    const fs::path dir = fs::path(checkpoint_path_).parent_path();
    const fs::path kept = dir / fmt::format("step-{}.pt", progress.step);
    std::error_code ec;
    fs::remove(kept, ec);
    fs::create_hard_link(checkpoint_path_, kept, ec);
    if (ec) {  // a file system without hard links: a copy, renamed into place
      const fs::path tmp = kept.string() + ".tmp";
      fs::copy_file(checkpoint_path_, tmp, fs::copy_options::overwrite_existing, ec);
      if (!ec) fs::rename(tmp, kept, ec);
      if (ec) throw UserError("{}: cannot keep the checkpoint ({})", kept.string(), ec.message());
    }
    const auto steps = step_checkpoints(dir.string());
    for (size_t i = static_cast<size_t>(o_.keep_checkpoints); i < steps.size(); ++i)
      fs::remove(dir / fmt::format("step-{}.pt", steps[i]), ec);
  }

  // A run too short to reach an evaluation still leaves a best.pt (that
  // evaluation is reported only: steering the schedule with it would make a
  // resumed run differ from an uninterrupted one); then the last checkpoint
  // and a summary.
  // A run stopped between evaluations (by steps, minutes or a signal) is
  // validated at its last step too, and the figures logged with "final":
  // true; that evaluation is reported only, for the same reason, but a run
  // too short to reach an evaluation takes it as its best.pt.
  void finish() {
    save(checkpoint_path_);  // before validating: a resume continues the RNG as it was
    keep_step_checkpoint();
    const bool validate = progress.step > started_at_step_ && !evaluated_last_step_;
    Evaluation ev;
    if (validate) ev = evaluate();
    const bool first_best =
        world_.agree(!file_exists(best_path_) ? 1.0 : 0.0, "rank 0's look for best.pt") > 0;
    if (first_best) save(best_path_);
    if (validate) {
      if (world_.main())
        std::fprintf(stderr, "step %lld: %s\n", static_cast<long long>(progress.step),
                     ev.summary.c_str());
      nlohmann::json line = {{"step", progress.step},
                             {"epoch", progress.epoch + 1},
                             {"lr", schedule_.lr(progress.step)},
                             {"final", true},
                             {"score", ev.score}};
      line.update(ev.metrics);
      if (first_best) line["best"] = true;
      log(line, true);
    }
    if (!world_.main()) return;
    const double rate = progress.train_seconds > 0 ? progress.tokens / progress.train_seconds : 0.0;
    std::fprintf(stderr, "done: %lld steps, %.0f %s/s\n", static_cast<long long>(progress.step),
                 rate, task_.unit().c_str());
    if (progress.best_step > 0)
      std::fprintf(stderr, "best validation score %.4f at step %lld\n", progress.best_metric,
                   static_cast<long long>(progress.best_step));
    std::fprintf(
        stderr, "wrote %s, %s, %s%s\n", best_path_.c_str(), checkpoint_path_.c_str(),
        metrics_path_.c_str(),
        file_exists(out_dir_ + "/curves.png") ? (", " + out_dir_ + "/curves.png").c_str() : "");
  }

  Progress progress;

 private:
  // Rank 0 appends `line` to metrics.jsonl and, after an evaluation, redraws
  // curves.png from the whole log. A line of the step the last line logged
  // (the final validation after a logged step) is merged into it: one line per step.
  void log(const nlohmann::json& line, bool evaluated) {
    if (!world_.main()) return;
    nlohmann::json merged = line;
    if (last_line_.is_object() && last_line_.value("step", int64_t{-1}) == progress.step) {
      merged = last_line_;
      merged.update(line);
      metrics_.resize(last_line_start_);
    }
    last_line_start_ = metrics_.size();
    last_line_ = merged;
    // The whole log is rewritten (a few hundred kB at most), so that a full
    // disk or a kill leaves the previous one whole.
    metrics_.append(merged.dump()).push_back('\n');
    write_file_atomically(metrics_path_, metrics_, "the metrics log");
    if (evaluated)
      plot_curves({parse_run_log(metrics_, out_dir_)}, out_dir_, out_dir_ + "/curves.png");
  }

  // Rank 0 validates; the others wait for its score, which steers best.pt,
  // the schedule and early stopping on every rank alike.
  Evaluation evaluate() {
    Evaluation ev;
    ev.metrics = nlohmann::json::object();
    if (world_.main()) {
      task_.set_training(false);
      ev = task_.evaluate();
      task_.set_training(true);
    }
    // Validation may outlast train.dist_timeout: wait at least an hour for it.
    ev.score = world_.await_main(ev.score, std::max(3600.0, world_.timeout_seconds()),
                                 "rank 0's validation");
    return ev;
  }

  // The step's global figures: gradients averaged over the ranks, weighted
  // by the tokens (what each loss is a mean over) of each shard, and the loss
  // and its terms as the whole batch's means.
  StepResult reduce_gradients(const StepResult& local) {
    const auto weight = static_cast<double>(local.tokens);
    std::vector<torch::Tensor> parts = {
        torch::tensor({weight}, torch::kDouble),
        local.loss.detach().to(torch::kCPU, torch::kDouble).reshape({1}) * weight};
    for (const auto& term : local.terms)
      parts.push_back(term.second.detach().to(torch::kCPU, torch::kDouble).reshape({1}) * weight);
    double total = 0;
    const auto sums =
        reducer_->reduce(weight, torch::cat(parts), &total, fmt::format("step {}", progress.step));
    StepResult global;
    global.tokens = static_cast<int64_t>(sums[0].item<double>());
    const double scale = total > 0 ? 1.0 / total : 0.0;
    global.loss = sums[1] * scale;
    for (size_t i = 0; i < local.terms.size(); ++i)
      global.terms.push_back({local.terms[i].first, sums[2 + static_cast<int64_t>(i)] * scale});
    return global;
  }

  void load_rng(const Checkpoint& checkpoint) {
    const std::string own = world_.rank() == 0 ? "rng" : fmt::format("rng.{}", world_.rank());
    if (checkpoint.has_tensor(own))
      set_rng_state(checkpoint.tensor(own));
    else  // a rank the saved run did not have
      seed_everything(rank_seed(o_.seed + static_cast<uint64_t>(progress.step), world_.rank()));
  }

  nlohmann::json evaluate_and_select() {
    const Evaluation ev = evaluate();
    nlohmann::json j = ev.metrics;
    const bool improved = ev.score > progress.best_metric;
    if (improved) {
      progress.best_metric = ev.score;
      progress.best_step = progress.step;
      progress.evals_without_improvement = 0;
    } else {
      ++progress.evals_without_improvement;
    }
    j["score"] = ev.score;
    if (improved) j["best"] = true;
    if (schedule_.on_evaluation(ev.score)) j["lr_reduced"] = true;
    if (improved) save(best_path_);
    if (world_.main())
      std::fprintf(stderr, "\nstep %lld: %s%s\n", static_cast<long long>(progress.step),
                   ev.summary.c_str(), j.contains("lr_reduced") ? " (lr reduced)" : "");
    return j;
  }

  // Rank 0 writes; every rank's RNG state goes in, so a resume on as many
  // processes continues each one's draws.
  void save(const std::string& path) {
    const auto states = world_.gather(get_rng_state(), "every rank's RNG state for a checkpoint");
    if (!world_.main()) return;
    nlohmann::json meta = task_.meta();
    meta["progress"] = progress.to_json();
    meta["schedule"] = schedule_.state();
    meta["world_size"] = world_.size();
    auto tensors = task_.tensors();
    tensors["rng"] = states[0];
    for (size_t r = 1; r < states.size(); ++r) tensors[fmt::format("rng.{}", r)] = states[r];
    save_checkpoint(path, meta, task_.model(), optimizer_.get(), tensors);
  }

  TrainTask& task_;
  const LoopOptions& o_;
  const std::string out_dir_, checkpoint_path_, best_path_, metrics_path_;
  const std::vector<ParameterGroup> groups_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  LrSchedule schedule_;
  std::string metrics_;         // metrics.jsonl's content
  nlohmann::json last_line_;    // its last line, as logged by this invocation
  size_t last_line_start_ = 0;  // where that line starts in metrics_
  Window window_;
  std::string summary_;  // the last log line's figures, shown on the bar
  int64_t batches_per_epoch_ = 0, planned_ = 0, started_at_step_ = 0;
  bool evaluated_last_step_ = false;
  Clock::time_point start_;
  const World& world_;
  std::unique_ptr<GradientReducer> reducer_;  // with several processes
  double reduce_seconds_ = 0;                 // in the reducer since the last log line
};

}  // namespace

std::vector<int64_t> step_checkpoints(const std::string& out_dir) {
  std::vector<int64_t> steps;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(out_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() < 9 || name.rfind("step-", 0) != 0 || name.substr(name.size() - 3) != ".pt")
      continue;
    const std::string digits = name.substr(5, name.size() - 8);
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) continue;
    steps.push_back(std::stoll(digits));
  }
  std::sort(steps.rbegin(), steps.rend());
  return steps;
}

nlohmann::json default_loop_config() {
  return nlohmann::json::parse(R"({
    "epochs": 10, "max_steps": 0, "max_minutes": 0.0,
    "optimizer": "adam", "lr": 0.001, "momentum": 0.9, "weight_decay": 0.0, "clip": 1.0,
    "schedule": {"kind": "plateau", "factor": 0.5, "patience": 1, "min_lr": 1e-5,
                 "warmup_steps": 0, "total_steps": 0},
    "eval_every": 0, "checkpoint_every": 500, "keep_checkpoints": 0, "log_every": 50,
    "early_stopping": 0,
    "seed": 1, "threads": 0, "blas_threads": 0,
    "dist_backend": "auto", "dist_timeout": 300, "dist_join_timeout": 300,
    "device": "cpu"
  })");
}

nlohmann::json loop_config_help() {
  return nlohmann::json::parse(R"json({
    "epochs": "passes over the training data (--epochs)",
    "max_steps": "stop after this many optimizer steps in all, counting those before a resume; 0: no limit (--max-steps)",
    "max_minutes": "stop after this many minutes of this invocation, validation included; 0: no limit (--max-minutes)",
    "optimizer": "adam, adamw (decoupled weight_decay) or sgd (with momentum)",
    "lr": "the learning rate the schedule starts from (--lr)",
    "momentum": "sgd's momentum, in [0, 1)",
    "weight_decay": "adam, sgd: L2 added to the gradient; adamw: decoupled decay",
    "clip": "largest gradient norm (clipped above it); 0: no clipping",
    "schedule": {
      "kind": "plateau (factor after patience evaluations without improvement), constant, inverse_sqrt or cosine",
      "factor": "plateau: the rate is multiplied by this when validation stops improving",
      "patience": "plateau: evaluations without improvement before the rate falls",
      "min_lr": "the rate never falls below this (plateau, cosine)",
      "warmup_steps": "linear warm-up from 0 over this many steps, in every kind (inverse_sqrt needs it above 0)",
      "total_steps": "cosine: the step where the rate reaches min_lr (set it to the run's length)"
    },
    "eval_every": "validate every this many steps; 0: at the end of every epoch",
    "checkpoint_every": "write checkpoint.pt every this many steps (and at the end)",
    "keep_checkpoints": "also keep the last K checkpoints as step-<N>.pt (for translate average); 0: none",
    "log_every": "a metrics.jsonl line and progress figures every this many steps",
    "early_stopping": "stop after this many evaluations without improvement; 0: never",
    "seed": "random seed of initialisation, shuffling, dropout and sampling (--seed)",
    "threads": "ATen intra-op threads; 0: OMP_NUM_THREADS where set, else ATen's choice (--threads)",
    "blas_threads": "OpenBLAS threads where its build has its own pool; 0: as threads",
    "dist_backend": "several processes: auto (nccl on CUDA, else gloo), gloo or nccl",
    "dist_timeout": "several processes: seconds a collective may wait for the slowest rank",
    "dist_join_timeout": "several processes: seconds every rank may take to arrive at the start",
    "device": "cpu, cuda or cuda:N (--device); under torchrun cuda is cuda:LOCAL_RANK"
  })json");
}

nlohmann::json with_loop_help(const nlohmann::json& task_help) {
  auto help = loop_config_help();
  help.update(task_help, /*merge_objects=*/true);
  return help;
}

nlohmann::json with_loop_defaults(const nlohmann::json& task_defaults) {
  auto train = default_loop_config();
  train.update(task_defaults, /*merge_objects=*/true);
  return train;
}

LoopOptions LoopOptions::from_json(const nlohmann::json& t) {
  LoopOptions o;
  o.epochs = t.at("epochs");
  o.max_steps = capped_steps(t.at("max_steps").get<int64_t>());
  o.max_minutes = t.at("max_minutes");
  o.optimizer = t.at("optimizer");
  o.lr = t.at("lr");
  o.momentum = t.at("momentum");
  o.weight_decay = t.at("weight_decay");
  o.clip = t.at("clip");
  o.schedule = LrScheduleOptions::from_json(t.at("schedule"));
  o.eval_every = t.at("eval_every");
  o.checkpoint_every = t.at("checkpoint_every");
  o.keep_checkpoints = t.at("keep_checkpoints");
  if (o.keep_checkpoints < 0)
    throw UserError("config: train.keep_checkpoints must be 0 or more (got {})",
                    o.keep_checkpoints);
  o.log_every = t.at("log_every");
  o.early_stopping = t.at("early_stopping");
  o.seed = t.at("seed");
  o.threads = t.at("threads");
  o.blas_threads = t.at("blas_threads");
  o.dist = DistributedOptions::from_json(t);
  o.device = t.at("device");
  if (o.optimizer != "adam" && o.optimizer != "adamw" && o.optimizer != "sgd")
    throw UserError("config: train.optimizer \"{}\" is not one of adam, adamw, sgd", o.optimizer);
  if (o.lr <= 0) throw UserError("config: train.lr must be above 0 (got {})", o.lr);
  if (o.epochs < 1) throw UserError("config: train.epochs must be at least 1 (got {})", o.epochs);
  if (o.momentum < 0 || o.momentum >= 1)
    throw UserError("config: train.momentum must be in [0, 1) (got {})", o.momentum);
  return o;
}

namespace {

// The files a run writes in its folder (tasks add vocabularies and caches,
// which a new run rewrites).
const std::vector<std::string> kRunFiles = {"checkpoint.pt", "best.pt", "metrics.jsonl",
                                            "config.json"};

// Rank 0's claim on out_dir: the lock, then the earlier run's files refused or removed.
void claim_run_folder(const std::string& out_dir, RunStart start) {
  create_folder(out_dir, "run");
  lock_folder(out_dir, "training");
  remove_stale_temporaries(out_dir);
  if (start == RunStart::resume) return;
  std::vector<std::string> found;
  for (const auto& name : kRunFiles)
    if (file_exists(out_dir + "/" + name)) found.push_back(name);
  for (const int64_t step : step_checkpoints(out_dir))
    found.push_back(fmt::format("step-{}.pt", step));
  if (found.empty()) return;
  if (start == RunStart::fresh)
    throw UserError(
        "{}: holds a run already ({}); continue it with --resume, start it over with "
        "--overwrite, or choose another --out",
        out_dir, fmt::join(found, ", "));
  for (const auto& name : found) {
    std::error_code ec;
    if (!std::filesystem::remove(out_dir + "/" + name, ec) || ec)
      throw UserError("{}/{}: cannot remove it for --overwrite ({})", out_dir, name, ec.message());
  }
}

}  // namespace

std::unique_ptr<Checkpoint> begin_run(const LoopOptions& o, const std::string& out_dir,
                                      RunStart start, const std::string& app) {
  init_world(o.dist, o.device != "cpu");
  const World& w = world();
  parse_device(o.device, w.local_rank());  // a wrong or missing device fails before any work
  if (w.main()) {
    claim_run_folder(out_dir, start);
  } else {
    create_folder(out_dir, "run");
  }
  int threads = o.threads;
  // Processes sharing a machine share its cores (torchrun also sets OMP_NUM_THREADS=1).
  if (threads <= 0 && w.local_size() > 1 && std::getenv("OMP_NUM_THREADS") == nullptr)
    threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / w.local_size());
  set_threads(threads, o.blas_threads);
  seed_everything(o.seed);
  if (start != RunStart::resume) return nullptr;
  const std::string path = out_dir + "/checkpoint.pt";
  if (!file_exists(path))
    throw UserError("{}: nothing to resume (no checkpoint.pt){}", out_dir,
                    w.distributed() ? fmt::format(" on {}", w.label()) : "");
  return std::make_unique<Checkpoint>(path, app);
}

std::vector<std::vector<size_t>> shuffled_batches(size_t n, int64_t batch_size, uint64_t seed) {
  if (batch_size < 1)
    throw UserError("config: train.batch_size must be at least 1 (got {})", batch_size);
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::mt19937_64 rng(seed);
  std::shuffle(order.begin(), order.end(), rng);
  std::vector<std::vector<size_t>> batches;
  const auto b = static_cast<size_t>(batch_size);
  for (size_t i = 0; i < n; i += b)
    batches.emplace_back(order.begin() + static_cast<std::ptrdiff_t>(i),
                         order.begin() + static_cast<std::ptrdiff_t>(std::min(n, i + b)));
  return batches;
}

std::vector<std::string> metrics_until(const std::string& path, int64_t step) {
  std::vector<std::string> kept;
  if (!file_exists(path)) return kept;
  for (const auto& line : read_lines(path)) {
    try {
      if (nlohmann::json::parse(line).value("step", int64_t{0}) <= step) kept.push_back(line);
    } catch (const nlohmann::json::exception&) {
    }
  }
  return kept;
}

void run_training(TrainTask& task, const LoopOptions& o, const std::string& out_dir,
                  std::unique_ptr<Checkpoint> resume_from) {
  // Data moves to the model's device batch by batch (each task's train_step).
  task.model().to(parse_device(o.device, world().local_rank()));
  const StopOnSignal stop_on_signal(world().distributed());
  Run run(task, o, out_dir);
  run.start(resume_from.get());
  resume_from.reset();
  std::unique_ptr<ProgressBar> bar;
  if (world().main()) bar = std::make_unique<ProgressBar>(run.planned_steps(), "train");
  auto& p = run.progress;
  bool stop = false;
  for (; p.epoch < o.epochs; ++p.epoch, p.batch_in_epoch = 0) {
    const auto batches = task.epoch_batches(shuffle_seed(o.seed, p.epoch));
    const auto n = static_cast<int64_t>(batches.size());
    for (int64_t i = p.batch_in_epoch; i < n && !stop; ++i) {
      if ((stop = run.budget_reached())) break;
      if (run.too_small(batches[i])) continue;
      run.step(batches[i], i);
      run.report(bar.get(), o.eval_every > 0 ? p.step % o.eval_every == 0 : i + 1 == n);
      stop = run.patience_exhausted();
      if (o.checkpoint_every > 0 && p.step % o.checkpoint_every == 0) run.save_last();
    }
    if (stop) break;
  }
  if (bar) bar->finish();
  run.finish();
}

}  // namespace attnzoo
