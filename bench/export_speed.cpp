// Benchmark: greedy decoding speed (sentences/s) of an exported translator
// against the C++ module it came from, side by side in one process: the C++
// module (greedy_search), the exported file loaded with torch::jit::load
// (forward), and the frozen export. The same batches of Multi30k test
// sentences for each; every variant must give the C++ module's ids.
//
//   build/bin/bench_export --checkpoint runs/m30k/best.pt --work runs/bench/export
//
// Without --checkpoint, an untrained translator of the Multi30k config's size
// (which decodes every sentence to its length limit). Leaves the exported
// files and the batches (batches.json) in --work for bench/export_speed.py,
// the Python side. Prints one JSON object: medians over repeats, every sample.
#include <CLI/CLI.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "bench/stats.h"
#include "data/error.h"
#include "export/export.h"
#include "tasks/translate_config.h"
#include "tasks/translator_training.h"
#include "train/config.h"
#include "train/runtime.h"

using namespace attnzoo;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Greedy ids of a batch, each row as a list ending in <eos> (or cut at the limit).
std::vector<std::vector<int64_t>> module_ids(Translator& t, const Batch& batch,
                                             const SearchOptions& greedy) {
  const auto stepper = t.stepper(batch);  // with the translator's shortlist, if any
  std::vector<std::vector<int64_t>> out;
  for (const auto& list : greedy_search(*stepper, t.max_lengths(batch.src_lengths), greedy))
    out.push_back(list.front().tokens);
  return out;
}

// The module's rows 0-padded to (B,T): what the exported forward returns.
torch::Tensor padded(const std::vector<std::vector<int64_t>>& rows) {
  size_t longest = 0;
  for (const auto& r : rows) longest = std::max(longest, r.size());
  auto out = torch::zeros({static_cast<int64_t>(rows.size()), static_cast<int64_t>(longest)},
                          torch::kLong);
  for (size_t b = 0; b < rows.size(); ++b)
    for (size_t t = 0; t < rows[b].size(); ++t)
      out[static_cast<int64_t>(b)][static_cast<int64_t>(t)] = rows[b][t];
  return out;
}

torch::Tensor exported_ids(torch::jit::Module& m, const Batch& batch) {
  return m.forward({batch.src, batch.src_lengths}).toTuple()->elements()[0].toTensor();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench_export: greedy decoding speed of the exported translator vs the C++ module"};
  std::string checkpoint, work = "runs/bench/export",
                          config_path = "configs/translate/multi30k.json";
  int threads = 0, blas_threads = 0, repeats = 5, sentences = 1000, batch_size = 100;
  app.add_option("--checkpoint", checkpoint,
                 "Translate checkpoint (default: untrained, the config's size)");
  app.add_option("--config", config_path, "Config of the untrained model and its data")
      ->capture_default_str();
  app.add_option("--work", work, "Folder for the exported files and batches.json")
      ->capture_default_str();
  app.add_option("--threads", threads, "ATen threads (0: auto, as the apps)")
      ->capture_default_str();
  app.add_option("--blas-threads", blas_threads, "OpenBLAS threads (0: its default)")
      ->capture_default_str();
  app.add_option("--repeats", repeats, "Timed repeats (the median is reported)")
      ->capture_default_str();
  app.add_option("--sentences", sentences, "Test sentences decoded per repeat")
      ->capture_default_str();
  app.add_option("--batch-size", batch_size, "Sentences per batch")->capture_default_str();
  std::string quantize;
  ShortlistOptions shortlist;
  app.add_option("--quantize", quantize, "int8: module and file decode in int8")
      ->check(CLI::IsMember({"int8"}));
  app.add_option("--shortlist", shortlist.per_word,
                 "Lexical shortlist in module and file: target words per source word (0: off)");
  app.add_option("--shortlist-frequent", shortlist.frequent, "Most frequent target words always in")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    set_threads(threads, blas_threads);
    std::unique_ptr<Translator> t;
    nlohmann::json data_config;
    if (!checkpoint.empty()) {
      t = std::make_unique<Translator>(Checkpoint(checkpoint, "translate"));
      data_config = t->config.at("data");
    } else {
      const auto config = load_translate_config(config_path);
      data_config = config.at("data");
      torch::manual_seed(1);
      t = std::make_unique<Translator>(config, load_translation_data(data_config).train);
    }
    t->model->eval();
    torch::NoGradGuard no_grad;
    const auto data = load_translation_data(data_config);
    if (quantize == "int8") t->quantize_int8();
    if (shortlist.per_word > 0) t->build_shortlist(data.train, shortlist);
    std::vector<Example> examples;
    for (const auto& p : data.test) {
      if (static_cast<int>(examples.size()) >= sentences) break;
      examples.push_back({t->encode_source(p.src), {}});
    }
    std::vector<Batch> batches;
    for (const auto& indices : make_batches(examples, batch_size, /*shuffle=*/false, 0))
      batches.push_back(collate(examples, indices));

    std::filesystem::create_directories(work);
    const auto plain_path = work + "/translator.pt", frozen_path = work + "/translator.frozen.pt";
    const auto exported = export_translator(*t);
    auto config = t->config;  // as translate export records it
    config["export"] = {{"quantize", quantize.empty() ? "fp32" : quantize},
                        {"shortlist", shortlist.per_word},
                        {"shortlist_frequent", shortlist.per_word > 0 ? shortlist.frequent : 0}};
    save_export(exported, plain_path, "translate", config);
    bool optimized = false;
    save_export(freeze_export(exported, {"beam_search", "translate", "attention"}, &optimized),
                frozen_path, "translate", config, true);
    nlohmann::json batch_json = nlohmann::json::array();
    for (const auto& b : batches) {
      const auto src = b.src.contiguous();
      std::vector<std::vector<int64_t>> rows;
      for (int64_t r = 0; r < src.size(0); ++r)
        rows.emplace_back(src[r].data_ptr<int64_t>(), src[r].data_ptr<int64_t>() + src.size(1));
      const auto lengths = b.src_lengths.contiguous();
      batch_json.push_back(
          {{"src", rows},
           {"lengths", std::vector<int64_t>(lengths.data_ptr<int64_t>(),
                                            lengths.data_ptr<int64_t>() + lengths.numel())}});
    }
    std::ofstream(work + "/batches.json") << batch_json.dump();

    auto plain = torch::jit::load(plain_path);
    auto frozen = torch::jit::load(frozen_path);
    auto greedy = search_options(t->config.at("decode"));
    greedy.beam = 1;
    // Warm-up, and the check that all three give the same ids. int8 quantises
    // each call's activations with a scale of their own, so the rounding of
    // optimize_for_inference's rewrites can flip a token: there the frozen
    // file's differing sentences are counted instead.
    int64_t tokens = 0, frozen_differing = 0;
    for (const auto& b : batches) {
      const auto rows = module_ids(*t, b, greedy);
      for (const auto& row : rows) tokens += static_cast<int64_t>(row.size());
      const auto expected = padded(rows);
      for (int i = 0; i < 2; ++i) {  // the profiling executor optimises after the first runs
        if (!torch::equal(exported_ids(plain, b), expected))
          throw UserError("the exported file's ids differ from the module's");
        const auto ids = exported_ids(frozen, b);
        if (torch::equal(ids, expected)) continue;
        if (quantize.empty() || ids.sizes() != expected.sizes())
          throw UserError("the frozen file's ids differ from the module's");
        if (i == 1) frozen_differing += ids.ne(expected).any(1).sum().item<int64_t>();
      }
    }
    std::map<std::string, std::vector<double>> rates;
    const double n = static_cast<double>(examples.size());
    for (int r = 0; r < repeats; ++r) {
      auto start = Clock::now();
      for (const auto& b : batches) module_ids(*t, b, greedy);
      rates["cpp_module"].push_back(n / seconds_since(start));
      start = Clock::now();
      for (const auto& b : batches) plain.forward({b.src, b.src_lengths});
      rates["cpp_exported"].push_back(n / seconds_since(start));
      start = Clock::now();
      for (const auto& b : batches) frozen.forward({b.src, b.src_lengths});
      rates["cpp_frozen"].push_back(n / seconds_since(start));
      std::cerr << "repeat " << r + 1 << ": module " << rates["cpp_module"].back() << ", exported "
                << rates["cpp_exported"].back() << ", frozen " << rates["cpp_frozen"].back()
                << " sentences/s" << std::endl;
    }
    nlohmann::json result = {{"sentences", examples.size()},
                             {"output_tokens", tokens},
                             {"batch_size", batch_size},
                             {"threads", torch::get_num_threads()},
                             {"blas", blas_threading()},
                             {"blas_core", blas_core()},
                             {"checkpoint", checkpoint.empty() ? "untrained" : checkpoint},
                             {"frozen_optimize_for_inference", optimized},
                             {"quantize", quantize.empty() ? "fp32" : quantize},
                             {"shortlist", shortlist.per_word},
                             {"exported_bytes", std::filesystem::file_size(plain_path)},
                             {"frozen_sentences_differing", frozen_differing}};
    for (const auto& [name, v] : rates) {
      result[name + "_sentences_per_sec_median"] = bench::median(v);
      result[name + "_sentences_per_sec"] = v;
    }
    std::cout << result.dump() << std::endl;
  } catch (const UserError& e) {
    std::cerr << "bench_export: error: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
