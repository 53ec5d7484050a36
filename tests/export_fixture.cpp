// Writes exported translators and captioners (plain and frozen) and what the
// C++ modules output on fixed inputs (tests/export_cases.h) into a folder, for
// export_parity.py to check with Python's torch.jit.load.
//
//   export_fixture DIR
#include <fstream>
#include <iostream>

#include "export/export.h"
#include "tests/export_cases.h"

using namespace attnzoo;
using namespace attnzoo::testing;

namespace {

void write_json(const std::string& path, const nlohmann::json& j) {
  std::ofstream(path) << j.dump();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: export_fixture DIR\n";
    return 2;
  }
  const std::string dir = argv[1];
  for (const auto& c : translator_cases()) {
    auto translator = make_translator(c);
    auto expected = translator_expectation(translator);
    torch::jit::ExtraFilesMap files;
    const auto m = export_translator(translator, &files);
    save_export(m, dir + "/translate-" + c.name + ".pt", "translate", translator.config, false,
                files);
    std::vector<std::string> keep = {"beam_search", "translate", "attention"};
    if (m.find_method("translate_batch")) keep.push_back("translate_batch");  // text models
    save_export(freeze_export(m, keep), dir + "/translate-" + c.name + ".frozen.pt", "translate",
                translator.config,
                /*frozen=*/true, files);
    expected["app"] = "translate";
    write_json(dir + "/translate-" + c.name + ".json", expected);
  }
  auto fixture = make_captioner({"encoder.positions=2"});  // with position channels
  torch::Tensor images;
  auto expected = caption_expectation(fixture.captioner, fixture.data, &images);
  const auto m = export_captioner(fixture.captioner);
  save_export(m, dir + "/caption-scenes.pt", "caption", fixture.captioner.config);
  save_export(freeze_export(m, {"beam_search", "caption", "caption_batch", "preprocess"}),
              dir + "/caption-scenes.frozen.pt", "caption", fixture.captioner.config,
              /*frozen=*/true);
  const auto flat = images.contiguous();
  expected["app"] = "caption";
  expected["images"] = {
      {"shape", flat.sizes().vec()},
      {"data", std::vector<float>(flat.data_ptr<float>(), flat.data_ptr<float>() + flat.numel())}};
  write_json(dir + "/caption-scenes.json", expected);
  for (const auto& c : forecaster_cases()) {
    auto x = make_forecaster(c);
    const auto m = export_forecaster(*x.f);
    save_export(m, dir + "/forecast-" + c.name + ".pt", "forecast", x.f->config);
    save_export(freeze_export(m, {"channels", "target", "input_len", "horizon", "time_features"}),
                dir + "/forecast-" + c.name + ".frozen.pt", "forecast", x.f->config,
                /*frozen=*/true);
    write_json(dir + "/forecast-" + c.name + ".json", forecast_expectation(x));
  }
  std::cout << "wrote " << translator_cases().size() + 1 + forecaster_cases().size()
            << " exported models and their expected outputs to " << dir << '\n';
  return 0;
}
