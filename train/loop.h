#pragma once
// The one training loop every app uses: Adam, AdamW or SGD with momentum under
// a learning-rate schedule, gradient clipping, evaluation every N steps or
// every epoch with best.pt selection, early stopping, step and time budgets,
// atomic checkpoints that resume exactly (model, optimizer, schedule,
// progress, RNG), metrics.jsonl and the progress bar. A task (translation,
// captioning ...) supplies the data, the loss of one batch and the validation
// metrics.
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "train/distributed.h"
#include "train/schedule.h"

namespace attnzoo {

class Checkpoint;

// The keys of a config's "train" section that the loop reads, with their
// defaults. Each app's defaults add the keys its task reads (batch_size ...)
// and may change these: with_loop_defaults(task_defaults).
nlohmann::json default_loop_config();
nlohmann::json with_loop_defaults(const nlohmann::json& task_defaults);
// Their one-line descriptions, of the same shape (train/config.h: the config reference).
nlohmann::json loop_config_help();
nlohmann::json with_loop_help(const nlohmann::json& task_help);

struct LoopOptions {
  int64_t epochs = 10;
  int64_t max_steps = 0;           // in all, counting steps before a resume; 0: no limit
  double max_minutes = 0.0;        // wall clock of this invocation, evaluation included; 0: none
  std::string optimizer = "adam";  // adam | adamw | sgd (with momentum)
  double lr = 1e-3;
  double momentum = 0.9;      // sgd only
  double weight_decay = 0.0;  // adam, sgd: L2 added to the gradient; adamw: decoupled
  double clip = 1.0;          // maximum gradient norm; 0: no clipping
  LrScheduleOptions schedule;
  int64_t eval_every = 0;  // steps; 0: at the end of every epoch
  int64_t checkpoint_every = 500;
  int64_t keep_checkpoints = 0;  // also keep the last K checkpoints as step-<N>.pt; 0: none
  int64_t log_every = 50;
  int64_t early_stopping = 0;  // evaluations without improvement that stop the run; 0: never
  uint64_t seed = 1;
  int threads = 0, blas_threads = 0;  // 0: auto (train/runtime.h)
  DistributedOptions dist;            // dist_backend, dist_timeout (train/distributed.h)
  std::string device = "cpu";         // cpu | cuda | cuda:N (train/device.h)
  // A config's "train" section (its loop keys); UserError names a bad value.
  static LoopOptions from_json(const nlohmann::json& train);
};

struct StepResult {
  torch::Tensor loss;  // scalar to minimise; the loop backpropagates it
  // What the loss is a mean over (target tokens, caption words, images): the
  // speed counts it, and data-parallel training weighs each process's
  // gradient by it, so that N processes step as one would on the whole batch.
  int64_t tokens = 0;
  // Parts of the loss, or other figures, worth watching on their own (e.g.
  // "nll", "reinforce", "reward"), as scalars: averaged over the steps of
  // the log window that report them,
  // shown on the progress bar and written to metrics.jsonl under their names.
  std::vector<std::pair<std::string, torch::Tensor>> terms;
};

struct Evaluation {
  nlohmann::json metrics;  // "valid_*" values, written to metrics.jsonl
  double score =
      0.0;  // what best.pt, the plateau schedule and early stopping follow; higher is better
  std::string summary;  // one line for the console, e.g. "valid bleu 31.2 ppl 6.1"
};

// Some of a model's parameters, trained at lr_scale times the schedule's rate.
// decay: decoupled weight decay (AdamW's): after each step, w <- w - lr * decay * w.
struct ParameterGroup {
  std::vector<torch::Tensor> parameters;
  double lr_scale = 1.0;
  double decay = 0.0;
};

class TrainTask {
 public:
  virtual ~TrainTask() = default;
  virtual torch::nn::Module& model() = 0;
  // How the optimizer splits the parameters (default: one group, all at the schedule's rate).
  virtual std::vector<ParameterGroup> parameter_groups() { return {{model().parameters(), 1.0}}; }
  // One epoch's batches (lists of example indices), shuffled by `seed`.
  virtual std::vector<std::vector<size_t>> epoch_batches(uint64_t seed) = 0;
  // The loss of one batch (forward only).
  virtual StepResult train_step(const std::vector<size_t>& batch) = 0;
  virtual Evaluation evaluate() = 0;
  // What a checkpoint holds besides the model, the optimizer, progress and RNG:
  // "app" (checked when loading), the config, vocabularies ... and extra tensors.
  virtual nlohmann::json meta() const = 0;
  virtual std::map<std::string, torch::Tensor> tensors() const = 0;
  // Switches between training and evaluation (train/eval mode, precision ...).
  virtual void set_training(bool training) { model().train(training); }
  // What StepResult::tokens counts, for the speed shown: "tok", "img" ...
  virtual std::string unit() const { return "tok"; }
  // Called before each train_step with its step number (1-based, counting
  // steps before a resume) and the run's planned steps: for schedules the
  // task owns (teacher forcing).
  virtual void set_progress(int64_t step, int64_t planned_steps) {
    (void)step;
    (void)planned_steps;
  }
};

// Runs (or, with `resume_from`, continues) training in `out_dir`, writing
// checkpoint.pt, best.pt and metrics.jsonl. `resume_from` (null for a fresh
// run) is released once its optimizer state, progress, schedule and RNG are
// read, so its tensors do not stay in memory.
void run_training(TrainTask& task, const LoopOptions& options, const std::string& out_dir,
                  std::unique_ptr<Checkpoint> resume_from);

// How `train` treats its --out folder: a fresh run refuses a folder that
// holds a run already, `resume` continues it, `overwrite` (--overwrite)
// deletes that run's files and starts over.
enum class RunStart { fresh, resume, overwrite };

// What every app's `train` does first: creates out_dir and locks it (one
// training per folder: data/files.h), refuses or clears an earlier run there
// as `start` says, applies the threads and the seed, and when resuming opens
// The steps of the step-<N>.pt checkpoints in out_dir (train.keep_checkpoints), newest first.
std::vector<int64_t> step_checkpoints(const std::string& out_dir);

// <out_dir>/checkpoint.pt, which `app` must have written (UserError naming
// out_dir when there is none). Returns null for a fresh run.
std::unique_ptr<Checkpoint> begin_run(const LoopOptions& options, const std::string& out_dir,
                                      RunStart start, const std::string& app);

// Example indices 0..n-1 shuffled by `seed`, cut into batches of batch_size
// (the last one may be smaller): an epoch of a task whose examples need no bucketing.
std::vector<std::vector<size_t>> shuffled_batches(size_t n, int64_t batch_size, uint64_t seed);

// The lines of metrics.jsonl up to `step` (a resumed run rewrites the rest).
std::vector<std::string> metrics_until(const std::string& path, int64_t step);

}  // namespace attnzoo
