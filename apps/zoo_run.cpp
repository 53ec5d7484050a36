// zoo-run: runs any file an attnzoo app exported, as a deployment would. It
// links LibTorch (torch::jit::load), OpenCV and, of attnzoo, only the readers
// of its input (data/text_io.h, data/images.h): no model code, as everything
// the model needs is inside the file.
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
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "apps/cli_checks.h"
#include "data/blas.h"
#include "data/error.h"
#include "data/exported.h"
#include "data/images.h"
#include "data/text_io.h"

namespace {

// A mistake of the user's: one line on stderr, exit status 1.
using UsageError = attnzoo::UserError;

// The image as the app that exported the model reads it: the shorter side
// scaled to image_side and the centre cut (photos), or the whole image
// stretched (scenes, glimpse canvases); uint8 (1,S,S,3) RGB or (1,S,S) grey.
torch::Tensor read_image(const std::string& path, const torch::jit::Module& m) {
  attnzoo::ImageReadOptions o;
  o.side = m.attr("image_side").toInt();
  o.grey = m.attr("image_grey").toBool();
  o.centre_crop = m.attr("image_crop").toBool();
  return attnzoo::read_image(path, o).unsqueeze(0);
}

// Whether the model's translate() takes text (word and character models) or ids (SentencePiece).
bool takes_text(torch::jit::Module& m) {
  const auto& args = m.get_method("translate").function().getSchema().arguments();
  return args.size() == 2 && args[1].type()->kind() == c10::TypeKind::StringType;
}

void run_translate(torch::jit::Module& m, const std::vector<std::string>& texts) {
  const bool text = takes_text(m);
  auto one = [&](const std::string& line) {
    if (line.find_first_not_of(" \t") == std::string::npos) {  // empty in, empty out
      std::cout << '\n';
      return;
    }
    if (text) {
      std::cout << m.get_method("translate")({line}).toStringRef() << '\n';
      return;
    }
    std::istringstream in(line);
    std::vector<int64_t> ids;
    std::string word;
    while (in >> word) {
      try {
        ids.push_back(std::stoll(word));
      } catch (const std::exception&) {
        throw UsageError("this SentencePiece model takes ids (space-separated integers), not \"" +
                         word + "\"");
      }
    }
    const auto out = m.get_method("translate")({c10::List<int64_t>(ids)}).toIntVector();
    for (size_t i = 0; i < out.size(); ++i) std::cout << (i ? " " : "") << out[i];
    std::cout << '\n';
  };
  if (!texts.empty()) {
    for (const auto& t : texts) one(attnzoo::check_input_line(t, "--text"));
    return;
  }
  // Each line answered as it comes: memory stays bounded on an endless stdin.
  attnzoo::InputLines lines(std::cin, "stdin");
  for (std::string line; lines.next(line);) {
    one(line);
    std::cout.flush();
  }
}

void run_images(torch::jit::Module& m, const std::string& app,
                const std::vector<std::string>& images, int64_t beam) {
  if (images.empty()) throw UsageError("a " + app + " model needs --image FILE");
  for (const auto& path : images) {
    const auto input = m.get_method("preprocess")({read_image(path, m)}).toTensor();
    if (app == "caption") {
      const int64_t b = beam > 0 ? beam : m.attr("default_beam").toInt();
      std::cout << path << '\t' << m.get_method("caption")({input[0], b}).toStringRef() << '\n';
    } else {
      const auto logits = m.forward({input}).toTuple()->elements()[0].toTensor();
      const auto probs = torch::softmax(logits[0], 0);
      const int64_t label = probs.argmax().item<int64_t>();
      const auto classes = m.attr("classes").toListRef();
      std::cout << path << '\t' << classes[static_cast<size_t>(label)].toStringRef() << '\t'
                << fmt::format("{:.3f}", probs[label].item<double>()) << '\n';
    }
  }
}

// The model's input channels over rows [at - L, at) of a CSV with a header
// naming them (any other columns, the time column included, are ignored).
torch::Tensor read_window(const std::string& path, torch::jit::Module& m, int64_t at) {
  const auto lines = attnzoo::read_lines(path);  // BOM and \r dropped, UTF-8 checked
  const auto channels = m.attr("channels").toListRef();
  const int64_t len = m.attr("input_len").toInt();
  auto split = [](const std::string& line) {
    std::vector<std::string> cells;
    std::stringstream s(line);
    for (std::string cell; std::getline(s, cell, ',');) cells.push_back(cell);
    return cells;
  };
  if (lines.empty()) throw UsageError(path + ": empty file");
  const auto header = split(lines[0]);
  std::vector<size_t> cells;
  for (const auto& c : channels) {
    const auto it = std::find(header.begin(), header.end(), c.toStringRef());
    if (it == header.end())
      throw UsageError(path + ": no column \"" + c.toStringRef() + "\" (the model reads it)");
    cells.push_back(static_cast<size_t>(it - header.begin()));
  }
  std::vector<std::vector<float>> rows;
  for (size_t n = 2; n <= lines.size(); ++n) {
    const auto& line = lines[n - 1];
    if (line.empty()) continue;
    const auto row = split(line);
    std::vector<float> values;
    for (size_t c : cells) {
      float v = 0;
      try {
        v = std::stof(row.at(c));
      } catch (const std::exception&) {
        throw UsageError(fmt::format("{}:{}: column \"{}\" is not a number", path, n, header[c]));
      }
      if (!std::isfinite(v))
        throw UsageError(
            fmt::format("{}:{}: column \"{}\" is {}, not a finite number", path, n, header[c], v));
      values.push_back(v);
    }
    rows.push_back(values);
  }
  const int64_t total = static_cast<int64_t>(rows.size());
  if (at < 0) at = total;
  if (at < len || at > total)
    throw UsageError(fmt::format("{}: --at {} needs {} rows before it, and the file has {}", path,
                                 at, len, total));
  auto window = torch::empty({1, len, static_cast<int64_t>(cells.size())});
  for (int64_t i = 0; i < len; ++i)
    for (size_t c = 0; c < cells.size(); ++c)
      window[0][i][static_cast<int64_t>(c)] = rows[at - len + i][c];
  return window;
}

void run_forecast(torch::jit::Module& m, const std::string& csv, int64_t at) {
  if (csv.empty())
    throw UsageError(
        "a forecast model needs --csv FILE (and --at ROW; default: after the last row)");
  if (m.attr("time_features").toBool())
    throw UsageError(
        "this forecaster needs calendar features: call forward(values, times) from code");
  const auto out = m.forward({read_window(csv, m, at)}).toTuple()->elements()[0].toTensor();
  const std::string target =
      m.attr("channels").toListRef()[static_cast<size_t>(m.attr("target").toInt())].toStringRef();
  std::cout << "step," << target << "_forecast\n";
  for (int64_t k = 0; k < out.size(1); ++k)
    std::cout << k + 1 << ',' << out[0][k].item<double>() << '\n';
}

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
  std::vector<std::string> texts, images;
  std::string csv;
  int64_t beam = 0, threads = 0, at = -1;
  bool info = false;
  app.add_option("model", model, "Exported TorchScript file (<app> export --out)")->required();
  app.add_option("--text", texts,
                 "translate: sentence to translate (repeat; default: lines on stdin)");
  app.add_option("--image", images, "caption, glimpse: image file (repeat)");
  app.add_option("--beam", beam, "caption: beam size (default: the model's)")
      ->check(attnzoo::at_least(1));
  app.add_option("--csv", csv, "forecast: CSV with the model's channels as columns");
  app.add_option("--at", at, "forecast: first forecast row, 0-based (default: after the last row)")
      ->check(attnzoo::at_least(0));
  app.add_option("--threads", threads, "ATen threads (0: LibTorch's default)")
      ->check(attnzoo::at_least(0));
  app.add_flag("--info", info, "Print the app, version, methods and config of the file");
  CLI11_PARSE(app, argc, argv);
  try {
    attnzoo::use_best_blas_kernels();
    if (threads > 0) at::set_num_threads(static_cast<int>(threads));
    auto loaded = attnzoo::load_exported(model);
    auto& m = loaded.module;
    const std::string kind = loaded.app();
    // A flag that the model's kind does not read is a mistake, not a no-op.
    auto refuse = [&](bool given, const char* flag) {
      if (given) throw UsageError(std::string(flag) + " does not apply to a " + kind + " model");
    };
    if (!info) {
      refuse(!texts.empty() && kind != "translate", "--text");
      refuse(!images.empty() && kind != "caption" && kind != "glimpse", "--image");
      refuse(beam > 0 && kind != "caption", "--beam");
      refuse(!csv.empty() && kind != "forecast", "--csv");
      refuse(at >= 0 && kind != "forecast", "--at");
    }
    torch::NoGradGuard no_grad;
    if (info) {
      print_info(m, loaded.record);
    } else if (kind == "translate") {
      run_translate(m, texts);
    } else if (kind == "forecast") {
      run_forecast(m, csv, at);
    } else if (kind == "caption" || kind == "glimpse") {
      run_images(m, kind, images, beam);
    } else {
      throw UsageError(model + ": an export of app \"" + kind + "\", which zoo-run does not know");
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
