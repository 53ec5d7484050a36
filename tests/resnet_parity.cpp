// The C++ ResNet against torchvision: loads weights and a sample written by
// tools/export_torchvision_resnet.py and checks the trunk's output relative to
// its scale: max|C++ - torchvision| / max|torchvision| <= 1e-5. Other CPUs pick
// other GEMM and convolution kernels, whose rounding differs by up to about
// 1e-6 of the output's scale in ResNet-50 (3.2e-4 absolute, against outputs
// up to ~1e3 on random weights); a wrong layer differs by 1e-2 or more.
// --scale NAME=F multiplies one loaded tensor by F, to show that the
// tolerance catches a small error in one layer (the test expects a failure).
//   resnet_parity --depth 18 --weights w.pt --sample sample.pt [--scale
//   layer1.0.conv1.weight=1.0001]
#include <torch/serialize.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <iterator>

#include "data/error.h"
#include "models/resnet.h"

using namespace attnzoo;

int main(int argc, char** argv) {
  CLI::App app{"resnet_parity: the C++ ResNet's output against torchvision's"};
  int64_t depth = 18;
  std::string weights, sample;
  double tolerance = 1e-5;
  std::string scale;
  app.add_option("--depth", depth, "18, 34 or 50")->capture_default_str();
  app.add_option("--weights", weights, "tools/export_torchvision_resnet.py --out file")->required();
  app.add_option("--sample", sample, "tools/export_torchvision_resnet.py --sample file")
      ->required();
  app.add_option("--tolerance", tolerance,
                 "Largest allowed max|difference| / max|torchvision output|")
      ->capture_default_str();
  app.add_option("--scale", scale,
                 "NAME=F: multiply the loaded tensor NAME by F (a deliberate error)");
  CLI11_PARSE(app, argc, argv);
  try {
    ResNet net{ResNetOptions(depth)};
    const auto report = load_named_tensors(*net, weights);
    for (const auto& name : report.missing) std::cerr << "missing: " << name << "\n";
    for (const auto& name : report.unexpected)
      std::cerr << "unexpected (ignored): " << name << "\n";
    if (!report.missing.empty()) return 1;
    if (!scale.empty()) {
      const auto eq = scale.find('=');
      const auto name = scale.substr(0, eq);
      auto tensors = net->named_parameters(true);
      for (const auto& b : net->named_buffers(true)) tensors.insert(b.key(), b.value());
      if (!tensors.contains(name)) {
        std::cerr << "resnet_parity: error: --scale: no tensor named " << name << "\n";
        return 2;
      }
      torch::NoGradGuard no_grad;
      tensors[name].mul_(std::stod(scale.substr(eq + 1)));
    }
    std::ifstream in(sample, std::ios::binary);
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                  std::istreambuf_iterator<char>());
    const auto dict = torch::pickle_load(bytes).toGenericDict();
    const auto input = dict.at("input").toTensor();
    const auto expected = dict.at("output").toTensor();
    net->eval();
    torch::NoGradGuard no_grad;
    const auto output = net->forward(input);
    if (output.sizes() != expected.sizes()) {
      std::cerr << "shape " << output.sizes() << " != torchvision's " << expected.sizes() << "\n";
      return 1;
    }
    const double diff = (output - expected).abs().max().item<double>();
    const double range = expected.abs().max().item<double>();
    const double relative = diff / std::max(range, 1e-30);
    std::cout << "resnet" << depth << ": output " << output.sizes()
              << ", max |C++ - torchvision| = " << diff << ", max |torchvision| = " << range
              << ", relative " << relative << " (tolerance " << tolerance << ")\n";
    return relative <= tolerance ? 0 : 1;
  } catch (const UserError& e) {
    std::cerr << "resnet_parity: error: " << e.what() << "\n";
    return 1;
  }
}
