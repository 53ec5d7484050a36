// The C++ ResNet against torchvision: loads weights and a sample written by
// tools/export_torchvision_resnet.py and checks the trunk's output to 1e-4.
//   resnet_parity --depth 18 --weights w.pt --sample sample.pt
#include <CLI/CLI.hpp>
#include <torch/serialize.h>

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
  double tolerance = 1e-4;
  app.add_option("--depth", depth, "18, 34 or 50")->capture_default_str();
  app.add_option("--weights", weights, "tools/export_torchvision_resnet.py --out file")->required();
  app.add_option("--sample", sample, "tools/export_torchvision_resnet.py --sample file")->required();
  app.add_option("--tolerance", tolerance, "Largest allowed absolute difference")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    ResNet net{ResNetOptions(depth)};
    const auto report = load_named_tensors(*net, weights);
    for (const auto& name : report.missing) std::cerr << "missing: " << name << "\n";
    for (const auto& name : report.unexpected) std::cerr << "unexpected (ignored): " << name << "\n";
    if (!report.missing.empty()) return 1;
    std::ifstream in(sample, std::ios::binary);
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
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
    std::cout << "resnet" << depth << ": output " << output.sizes() << ", max |C++ - torchvision| = " << diff
              << " (tolerance " << tolerance << ")\n";
    return diff <= tolerance ? 0 : 1;
  } catch (const UserError& e) {
    std::cerr << "resnet_parity: error: " << e.what() << "\n";
    return 1;
  }
}
