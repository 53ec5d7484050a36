#pragma once
// What every app's main shares: the `train` flags (ARCHITECTURE.md: --config --out
// --max-steps --epochs --seed --threads --resume ...), and how they override
// the config.
#include <c10/util/Exception.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <fmt/ranges.h>

#include <csignal>
#include <iostream>
#include <map>

#include <string>
#include <vector>

#include "apps/cli_checks.h"
#include "data/error.h"
#include "data/files.h"
#include "export/export.h"
#include "train/config.h"
#include "train/curves.h"
#include "train/loop.h"

namespace attnzoo {

// --device on every command that runs a model (train: overrides train.device).
inline void add_device_flag(CLI::App* cmd, std::string& device) {
  cmd->add_option("--device", device,
                  "cpu, cuda or cuda:N (under torchrun, cuda is cuda:LOCAL_RANK); default cpu");
}

struct TrainFlags {
  std::string config, out, attention, device;
  int64_t epochs = -1, max_steps = -1, seed = -1, threads = -1, batch_size = -1;
  double lr = -1, max_minutes = -1;
  std::vector<std::string> overrides;
  bool resume = false, overwrite = false;

  RunStart start() const {
    return resume ? RunStart::resume : overwrite ? RunStart::overwrite : RunStart::fresh;
  }
};

inline void add_train_flags(CLI::App* cmd, TrainFlags& f, const std::string& config_help,
                            const std::string& batch_unit, const std::string& attention_kinds) {
  cmd->add_option("--config", f.config, config_help);
  cmd->add_option("--out", f.out, "Run directory: checkpoints, metrics.jsonl, config.json")
      ->required();
  if (!attention_kinds.empty())  // an app without attention kinds has no --attention
    cmd->add_option("--attention", f.attention, attention_kinds + " (overrides model.attention)");
  cmd->add_option("--epochs", f.epochs, "Epochs (overrides train.epochs)")->check(at_least(1));
  cmd->add_option("--max-steps", f.max_steps,
                  "Stop after this many steps in all, counting those before a resume")
      ->check(at_least(0));
  cmd->add_option("--max-minutes", f.max_minutes,
                  "Stop after this much wall-clock time (this invocation)")
      ->check(at_least(0));
  cmd->add_option("--seed", f.seed, "Random seed")->check(at_least(0));
  cmd->add_option("--threads", f.threads, "ATen intra-op threads (0: auto, see docs/formats.md)")
      ->check(at_least(0));
  add_device_flag(cmd, f.device);
  cmd->add_option("--batch-size", f.batch_size, batch_unit + " per batch")->check(at_least(1));
  cmd->add_option("--lr", f.lr, "Learning rate")->check(above(0));
  cmd->add_option("--set", f.overrides, "Any config value, e.g. --set train.clip=5 (repeatable)");
  auto* resume = cmd->add_flag("--resume", f.resume, "Continue from <out>/checkpoint.pt");
  cmd->add_flag("--overwrite", f.overwrite,
                "Start over in an --out that holds a run (its checkpoints and metrics are deleted)")
      ->excludes(resume);
}

// The config a `train` command starts from: --config laid over `defaults`;
// with --resume and no --config, the run's own config.json; else `defaults`,
// or, where `missing_config` is given, a UserError saying it.
inline nlohmann::json base_train_config(const TrainFlags& f, const nlohmann::json& defaults,
                                        const std::string& missing_config = "") {
  if (!f.config.empty()) return merge_config(defaults, read_json_file(f.config), f.config);
  if (f.resume) {
    const std::string own = f.out + "/config.json";
    return merge_config(defaults, read_json_file(own), own);
  }
  if (!missing_config.empty()) throw UserError("{}", missing_config);
  return defaults;
}

// An app's main after its subcommands are declared: parses the command line
// and runs `dispatch`; a user's mistake is one line on stderr, "<name>: error:
// ...", and exit status 1; an error inside LibTorch says so, with status 2.
template <typename Dispatch>
int run_app(CLI::App& app, int argc, char** argv, const std::string& name, Dispatch dispatch) {
  // A file size limit (ulimit -f) then fails the write (EFBIG), which is
  // reported like a full disk, instead of killing the process.
  std::signal(SIGXFSZ, SIG_IGN);
  set_config_command(name + " config");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    return dispatch();
  } catch (const UserError& e) {
    std::cerr << name << ": error: " << e.what() << std::endl;
    return 1;
  } catch (const c10::Error& e) {
    const std::string what = e.what_without_backtrace();
    if (what.find("can't allocate memory") != std::string::npos ||
        what.find("out of memory") != std::string::npos) {
      std::cerr << name << ": error: out of memory (" << what.substr(0, what.find('\n'))
                << "); lower the model's sizes or the batch size" << std::endl;
      return 1;
    }
    std::cerr << name << ": internal error: " << what << std::endl;
    return 2;
  } catch (const std::bad_alloc&) {
    std::cerr << name << ": error: out of memory; lower the model's sizes or the batch size"
              << std::endl;
    return 1;
  } catch (const nlohmann::json::exception& e) {
    // A config value of the wrong type or a missing key that merge_config did not catch.
    std::cerr << name << ": error in a config or checkpoint: " << e.what() << std::endl;
    return 1;
  } catch (const std::exception& e) {
    std::cerr << name << ": error: " << e.what() << std::endl;
    return 2;
  } catch (...) {
    std::cerr << name << ": internal error: an unknown exception" << std::endl;
    return 2;
  }
}

// The flags laid over `config`, --set last; a --set of a key that a flag
// also sets is an error (which should win is not obvious).
inline void apply_train_flags(nlohmann::json& config, const TrainFlags& f) {
  std::map<std::string, std::string> by_flag;  // config key -> the flag that set it
  auto set = [&](const std::string& key, const nlohmann::json& v) {
    apply_override(config, key + "=" + v.dump());
    static const std::map<std::string, std::string> kFlags = {
        {"model.attention", "--attention"},
        {"train.epochs", "--epochs"},
        {"train.max_steps", "--max-steps"},
        {"train.seed", "--seed"},
        {"train.threads", "--threads"},
        {"train.batch_size", "--batch-size"},
        {"train.lr", "--lr"},
        {"train.max_minutes", "--max-minutes"},
        {"train.device", "--device"}};
    by_flag[key] = kFlags.at(key);
  };
  if (!f.attention.empty()) set("model.attention", f.attention);
  if (f.epochs >= 0) set("train.epochs", f.epochs);
  if (f.max_steps >= 0) set("train.max_steps", f.max_steps);
  if (f.seed >= 0) set("train.seed", f.seed);
  if (f.threads >= 0) set("train.threads", f.threads);
  if (f.batch_size >= 0) set("train.batch_size", f.batch_size);
  if (f.lr >= 0) set("train.lr", f.lr);
  if (f.max_minutes >= 0) set("train.max_minutes", f.max_minutes);
  if (!f.device.empty()) set("train.device", f.device);
  for (const auto& o : f.overrides) {
    const auto flag = by_flag.find(o.substr(0, o.find('=')));
    if (flag != by_flag.end())
      throw UserError("--set {} and {} both set {}; give one of them", o, flag->second,
                      flag->first);
    apply_override(config, o);
  }
}

// `<app> config [--markdown]`: every config key with its default and what it
// sets (docs/configs.md is this, for each app).
inline CLI::App* add_config_command(CLI::App& app, bool& markdown) {
  auto* cmd = app.add_subcommand(
      "config", "Print every config key with its default and a line on what it sets");
  cmd->add_flag("--markdown", markdown, "As Markdown tables (docs/configs.md)");
  return cmd;
}

inline int run_config(const nlohmann::json& defaults, const nlohmann::json& help, bool markdown) {
  std::cout << config_reference(defaults, help, markdown);
  return 0;
}

// `<app> curves RUN [RUN ...] --out F.png`: runs' metrics.jsonl overlaid.
struct CurvesFlags {
  std::vector<std::string> runs, labels;
  std::string out, title = "training curves";
};

inline CLI::App* add_curves_command(CLI::App& app, CurvesFlags& f) {
  auto* cmd = app.add_subcommand(
      "curves",
      "Plot runs' training loss, learning rate and validation metrics against steps, overlaid "
      "(each run also draws its own <run>/curves.png at every validation)");
  cmd->add_option("runs", f.runs, "Run folders (or metrics.jsonl files)")->required();
  cmd->add_option("--out", f.out, "PNG to write")->required();
  cmd->add_option("--label", f.labels,
                  "A legend name per run, in order, one per --label (default: the paths)")
      ->allow_extra_args(false);
  cmd->add_option("--title", f.title, "The figure's title")->capture_default_str();
  return cmd;
}

inline int run_curves(const CurvesFlags& f) {
  if (!f.labels.empty() && f.labels.size() != f.runs.size())
    throw UserError("curves: {} --label for {} runs; give one per run or none", f.labels.size(),
                    f.runs.size());
  std::vector<std::string> inputs;
  for (const auto& run : f.runs) inputs.push_back(run + "/metrics.jsonl");
  refuse_overwriting_inputs(f.out, "--out", inputs);
  std::vector<RunLog> logs;
  for (size_t i = 0; i < f.runs.size(); ++i) {
    logs.push_back(read_run_log(f.runs[i]));
    if (!f.labels.empty()) logs.back().label = f.labels[i];
  }
  plot_curves(logs, f.title, f.out);
  const auto panels = curve_panels(logs);
  std::cout << "wrote " << f.out << " (" << panels.size()
            << " panels: " << fmt::format("{}", fmt::join(panels, ", ")) << ")" << std::endl;
  return 0;
}

// `<app> export --checkpoint C --out model.pt [--freeze]`.
struct ExportFlags {
  std::string checkpoint, out;
  bool freeze = false;
};

inline CLI::App* add_export_command(CLI::App& app, ExportFlags& f, const std::string& what) {
  auto* cmd =
      app.add_subcommand("export", "Write " + what + " as one self-contained TorchScript file");
  cmd->add_option("--checkpoint", f.checkpoint, "Checkpoint file")->required();
  cmd->add_option("--out", f.out, "TorchScript file to write, e.g. model.pt")->required();
  cmd->add_flag("--freeze", f.freeze,
                "torch.jit.freeze the module (weights as constants, BatchNorm folded) and "
                "optimize_for_inference "
                "where the result can be saved");
  return cmd;
}

// Freezes `module` when asked (keeping the methods and attributes in `keep`),
// saves it and says what was written; `usage` lists its methods.
inline void write_export(const torch::jit::Module& module, const ExportFlags& f,
                         const std::string& app, const nlohmann::json& config,
                         const ExportedMethods& methods,
                         const torch::jit::ExtraFilesMap& files = {}) {
  refuse_overwriting_inputs(f.out, "--out", {f.checkpoint});
  bool optimized = false;
  const auto out = f.freeze ? freeze_export(module, methods.keep, &optimized) : module;
  save_export(out, f.out, app, config, f.freeze, files);
  std::cout << "wrote " << f.out;
  if (f.freeze) std::cout << (optimized ? " (frozen, optimize_for_inference)" : " (frozen)");
  std::cout << ":\n" << methods.usage << std::endl;
}

}  // namespace attnzoo
