// zoo-run: runs any file an attnzoo app exported, as a deployment would. It
// links LibTorch (torch::jit::load), OpenCV and, of attnzoo, only the kinds
// of exported files (runtime/kind.h) and the readers of their inputs: no
// model code, as everything the model needs is inside the file.
//
//   zoo-run m30k.pt --text "Ein Hund rennt ."      translate (or lines on stdin)
//   zoo-run scenes.pt --image scene.png            caption
//   zoo-run ram.pt --image shoe.png                glimpse: class and probability
//   zoo-run etth1.pt --csv ETTh1.csv --at 14000    forecast: H values from the L rows before ROW
//   zoo-run model.pt --info                        what the file is
#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <torch/script.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "apps/cli_checks.h"
#include "data/blas.h"
#include "data/error.h"
#include "data/exported.h"
#include "runtime/kind.h"

namespace {

// A mistake of the user's: one line on stderr, exit status 1.
using UsageError = attnzoo::UserError;

void print_info(torch::jit::Module& m, const nlohmann::json& record) {
  std::cout << "app: " << record.value("app", "?") << "\nwritten by attnzoo "
            << record.value("version", "?") << (record.value("frozen", false) ? " (frozen)" : "")
            << "\nmethods:\n";
  for (const auto& method : m.get_methods()) {
    const auto& name = method.name();
    if (name == "forward" || name == "beam_search" || name == "translate" || name == "attention" ||
        name == "caption" || name == "preprocess")
      std::cout << "  " << method.function().getSchema() << '\n';
  }
  std::cout << "config: " << record.at("config").dump() << '\n';
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "zoo-run: run a model exported by translate/caption/glimpse/forecast export, with LibTorch "
      "only"};
  std::string model;
  attnzoo::runtime::CliInputs given;
  int64_t threads = 0;
  bool info = false;
  app.add_option("model", model, "Exported TorchScript file (<app> export --out)")->required();
  // Each input flag belongs to the kinds whose cli_flags() name it.
  auto* text_flag = app.add_option(
      "--text", given.texts, "translate: sentence to translate (repeat; default: lines on stdin)");
  auto* image_flag =
      app.add_option("--image", given.images, "caption, glimpse: image file (repeat)");
  auto* beam_flag =
      app.add_option("--beam", given.beam, "caption: beam size (default: the model's)")
          ->check(attnzoo::at_least(1));
  auto* csv_flag =
      app.add_option("--csv", given.csv, "forecast: CSV with the model's channels as columns");
  auto* at_flag =
      app.add_option("--at", given.at,
                     "forecast: first forecast row, 0-based (default: after the last row)")
          ->check(attnzoo::at_least(0));
  app.add_option("--threads", threads, "ATen threads (0: LibTorch's default)")
      ->check(attnzoo::at_least(0));
  app.add_flag("--info", info, "Print the app, version, methods and config of the file");
  CLI11_PARSE(app, argc, argv);
  try {
    attnzoo::use_best_blas_kernels();
    if (threads > 0) at::set_num_threads(static_cast<int>(threads));
    auto kind = attnzoo::runtime::open_kind(attnzoo::load_exported(model), model);
    torch::NoGradGuard no_grad;
    if (info) {
      print_info(kind->module(), kind->record());
    } else {
      // A flag that the model's kind does not read is a mistake, not a no-op.
      const auto reads = kind->cli_flags();
      for (const auto* flag : {text_flag, image_flag, beam_flag, csv_flag, at_flag})
        if (flag->count() > 0 &&
            std::find(reads.begin(), reads.end(), flag->get_name()) == reads.end())
          throw UsageError(flag->get_name() + " does not apply to a " + kind->app() + " model");
      kind->run_cli(given, std::cin, std::cout);
    }
  } catch (const UsageError& e) {
    std::cerr << "zoo-run: error: " << e.what() << std::endl;
    return 1;
  } catch (const c10::Error& e) {
    std::cerr << "zoo-run: error inside the model: " << e.what_without_backtrace() << std::endl;
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "zoo-run: error: " << e.what() << std::endl;
    return 2;
  }
  return 0;
}
