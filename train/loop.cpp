#include "train/loop.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>

#include "data/error.h"
#include "data/text_io.h"
#include "train/checkpoint.h"
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

  nlohmann::json to_json() const {
    return {{"step", step},
            {"epoch", epoch},
            {"batch_in_epoch", batch_in_epoch},
            {"best_metric", best_metric},
            {"best_step", best_step},
            {"evals_without_improvement", evals_without_improvement},
            {"tokens", tokens},
            {"train_seconds", train_seconds}};
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
    return p;
  }
};

// Mean loss and speed over the steps since the last log line.
struct Window {
  double loss = 0.0, seconds = 0.0;
  int64_t tokens = 0, steps = 0;
  std::map<std::string, std::pair<double, int64_t>> terms;  // sums and counts of StepResult::terms
  double tokens_per_sec() const { return seconds > 0 ? tokens / seconds : 0.0; }
};

}  // namespace

std::unique_ptr<Checkpoint> begin_run(const nlohmann::json& tc, const std::string& out_dir,
                                      bool resume, const std::string& app) {
  std::filesystem::create_directories(out_dir);
  set_threads(tc.at("threads").get<int>(), tc.at("blas_threads").get<int>());
  seed_everything(tc.at("seed").get<uint64_t>());
  if (!resume) return nullptr;
  const std::string path = out_dir + "/checkpoint.pt";
  if (!file_exists(path)) throw UserError("{}: nothing to resume (no checkpoint.pt)", out_dir);
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

void truncate_metrics(const std::string& path, int64_t step) {
  if (!file_exists(path)) return;
  std::vector<std::string> kept;
  for (const auto& line : read_lines(path)) {
    try {
      if (nlohmann::json::parse(line).value("step", int64_t{0}) <= step) kept.push_back(line);
    } catch (const nlohmann::json::exception&) {
    }
  }
  write_lines(path, kept);
}

void run_training(TrainTask& task, const nlohmann::json& tc, const std::string& out_dir,
                  std::unique_ptr<Checkpoint> resume_from) {
  std::filesystem::create_directories(out_dir);
  const std::string checkpoint_path = out_dir + "/checkpoint.pt";
  const std::string best_path = out_dir + "/best.pt";
  const std::string metrics_path = out_dir + "/metrics.jsonl";

  const double base_lr = tc.at("lr");
  const auto adam =
      torch::optim::AdamOptions(base_lr).weight_decay(tc.at("weight_decay").get<double>());
  std::vector<torch::optim::OptimizerParamGroup> groups;
  const auto parameter_groups = task.parameter_groups();
  for (const auto& group : parameter_groups) {
    auto options = std::make_unique<torch::optim::AdamOptions>(adam);
    options->lr(base_lr * group.lr_scale);
    groups.emplace_back(group.parameters, std::move(options));
  }
  torch::optim::Adam optimizer(std::move(groups), adam);
  LrSchedule schedule(base_lr, LrScheduleOptions::from_json(tc.at("schedule")));
  Progress progress;
  if (resume_from != nullptr) {
    resume_from->load_optimizer(optimizer);
    progress = Progress::from_json(resume_from->meta().at("progress"));
    schedule.load_state(resume_from->meta().at("schedule"));
    set_rng_state(resume_from->tensor("rng"));
    truncate_metrics(metrics_path, progress.step);
    std::fprintf(stderr, "resuming from %s at step %lld (epoch %lld)\n",
                 resume_from->path().c_str(), static_cast<long long>(progress.step),
                 static_cast<long long>(progress.epoch + 1));
    resume_from.reset();
  } else {
    truncate_metrics(metrics_path, 0);  // a fresh run starts a fresh log
  }

  const int64_t epochs = tc.at("epochs");
  const int64_t max_steps = tc.at("max_steps");
  const double max_minutes =
      tc.at("max_minutes");  // wall clock of this invocation, evaluation included; 0: none
  const int64_t eval_every = tc.at("eval_every");
  const int64_t checkpoint_every = tc.at("checkpoint_every");
  const int64_t log_every = std::max<int64_t>(1, tc.at("log_every").get<int64_t>());
  const int64_t early_stopping = tc.at("early_stopping");
  const double clip = tc.at("clip");
  const uint64_t seed = tc.at("seed");
  auto shuffle_seed = [&](int64_t epoch) {
    return seed * 1000003ull + static_cast<uint64_t>(epoch);
  };

  const int64_t batches_per_epoch =
      static_cast<int64_t>(task.epoch_batches(shuffle_seed(0)).size());
  if (batches_per_epoch == 0) throw UserError("no training batches");
  const int64_t planned =
      max_steps > 0 ? std::min(max_steps, epochs * batches_per_epoch) : epochs * batches_per_epoch;
  std::ofstream metrics(metrics_path, std::ios::app);

  auto save = [&](const std::string& path) {
    nlohmann::json meta = task.meta();
    meta["progress"] = progress.to_json();
    meta["schedule"] = schedule.state();
    auto tensors = task.tensors();
    tensors["rng"] = get_rng_state();
    save_checkpoint(path, meta, task.model(), &optimizer, tensors);
  };
  auto evaluate = [&]() {
    task.set_training(false);
    Evaluation ev = task.evaluate();
    task.set_training(true);
    return ev;
  };
  // Validation that steers the run: best.pt, the schedule, early stopping.
  auto evaluate_and_select = [&]() {
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
    if (schedule.on_evaluation(ev.score)) j["lr_reduced"] = true;
    if (improved) save(best_path);
    std::fprintf(stderr, "\nstep %lld: %s%s\n", static_cast<long long>(progress.step),
                 ev.summary.c_str(), j.contains("lr_reduced") ? " (lr reduced)" : "");
    return j;
  };

  task.set_training(true);
  ProgressBar bar(planned, "train");
  Window window;
  bool stop = false;
  bool evaluated_last_step = false;
  const auto run_start = Clock::now();
  std::fprintf(stderr, "training: %lld steps planned (%lld batches/epoch)\n",
               static_cast<long long>(planned), static_cast<long long>(batches_per_epoch));

  for (; progress.epoch < epochs && !stop; ++progress.epoch, progress.batch_in_epoch = 0) {
    const auto batches = task.epoch_batches(shuffle_seed(progress.epoch));
    for (int64_t i = progress.batch_in_epoch; i < static_cast<int64_t>(batches.size()); ++i) {
      if (max_steps > 0 && progress.step >= max_steps) {
        stop = true;
        break;
      }
      if (max_minutes > 0 && seconds_since(run_start) >= 60 * max_minutes) {
        std::fprintf(stderr, "\ntime budget of %.1f minutes reached\n", max_minutes);
        stop = true;
        break;
      }
      const auto step_start = Clock::now();
      ++progress.step;
      for (size_t g = 0; g < parameter_groups.size(); ++g)
        static_cast<torch::optim::AdamOptions&>(optimizer.param_groups()[g].options())
            .lr(schedule.lr(progress.step) * parameter_groups[g].lr_scale);
      optimizer.zero_grad();
      task.set_progress(progress.step, planned);
      const StepResult result = task.train_step(batches[i]);
      result.loss.backward();
      if (clip > 0) torch::nn::utils::clip_grad_norm_(task.model().parameters(), clip);
      optimizer.step();
      for (size_t g = 0; g < parameter_groups.size(); ++g) {
        if (parameter_groups[g].decay == 0.0) continue;
        torch::NoGradGuard no_grad;
        const double shrink = 1.0 - schedule.lr(progress.step) * parameter_groups[g].lr_scale *
                                        parameter_groups[g].decay;
        for (auto& p : parameter_groups[g].parameters) p.mul_(shrink);
      }
      const double seconds = seconds_since(step_start);
      progress.batch_in_epoch = i + 1;
      progress.tokens += result.tokens;
      progress.train_seconds += seconds;
      window.loss += result.loss.item<double>();
      for (const auto& [name, value] : result.terms) {
        auto& [sum, count] = window.terms[name];
        sum += value.item<double>();
        ++count;
      }
      window.tokens += result.tokens;
      window.seconds += seconds;
      ++window.steps;

      const bool epoch_end = i + 1 == static_cast<int64_t>(batches.size());
      const bool eval_now = eval_every > 0 ? progress.step % eval_every == 0 : epoch_end;
      const double lr = schedule.lr(progress.step);
      std::string terms;
      for (const auto& [name, term] : window.terms)
        terms += fmt::format(" {} {:.3f}", name, term.first / static_cast<double>(term.second));
      bar.update(progress.step, fmt::format("epoch {} loss {:.3f}{} lr {:.1e} {:.0f} {}/s",
                                            progress.epoch + 1, window.loss / window.steps, terms,
                                            lr, window.tokens_per_sec(), task.unit()));
      if (progress.step % log_every == 0 || eval_now) {
        nlohmann::json line = {{"step", progress.step},
                               {"epoch", progress.epoch + 1},
                               {"loss", window.loss / window.steps},
                               {"lr", lr},
                               {"tokens", progress.tokens},
                               {"tokens_per_sec", window.tokens_per_sec()},
                               {"elapsed_sec", seconds_since(run_start)}};
        for (const auto& [name, term] : window.terms)
          line[name] = term.first / static_cast<double>(term.second);
        if (eval_now) line.update(evaluate_and_select());
        metrics << line.dump() << '\n' << std::flush;
        window = Window();
      }
      evaluated_last_step = eval_now;
      if (early_stopping > 0 && progress.evals_without_improvement >= early_stopping) {
        std::fprintf(stderr, "early stopping: no improvement in %lld evaluations\n",
                     static_cast<long long>(early_stopping));
        stop = true;
      }
      if (checkpoint_every > 0 && progress.step % checkpoint_every == 0) save(checkpoint_path);
      if (stop) break;
    }
    if (stop) break;
  }
  bar.finish();
  if (!evaluated_last_step && !file_exists(best_path)) {
    // A run too short to reach an evaluation still leaves a best.pt. This
    // evaluation is reported only: it must not steer the schedule, or a resumed
    // run would differ from an uninterrupted one.
    const Evaluation ev = evaluate();
    std::fprintf(stderr, "step %lld: %s\n", static_cast<long long>(progress.step),
                 ev.summary.c_str());
    save(best_path);
  }
  save(checkpoint_path);
  const double tokens_per_sec =
      progress.train_seconds > 0 ? progress.tokens / progress.train_seconds : 0.0;
  std::fprintf(stderr, "done: %lld steps, %.0f %s/s\n", static_cast<long long>(progress.step),
               tokens_per_sec, task.unit().c_str());
  if (progress.best_step > 0)
    std::fprintf(stderr, "best validation score %.4f at step %lld\n", progress.best_metric,
                 static_cast<long long>(progress.best_step));
  std::fprintf(stderr, "wrote %s, %s, %s\n", best_path.c_str(), checkpoint_path.c_str(),
               metrics_path.c_str());
}

}  // namespace attnzoo
