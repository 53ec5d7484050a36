// Benchmark: training throughput (target tokens/s) and greedy decoding speed
// (sentences/s) of the bentrevett-size translator (embedding 256, bidirectional
// GRU 512, decoder GRU 512, additive attention, batch 128) on Multi30k batches.
//
//   build/bin/bench_translate --data-dir ../shared/data/multi30k --repeats 5
//
// Prints one JSON object: medians over repeats, and every sample.
#include <torch/csrc/autograd/profiler_legacy.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <iostream>

#include "bench/stats.h"
#include "data/error.h"
#include "export/export.h"
#include "tasks/translate_config.h"
#include "tasks/translator_training.h"
#include "train/runtime.h"

using namespace attnzoo;
using Clock = std::chrono::steady_clock;

using bench::median;

int main(int argc, char** argv) {
  CLI::App app{"bench_translate: training and decoding speed of the bentrevett-size translator"};
  std::string data_dir = "../shared/data/multi30k", attention = "additive";
  int threads = 0, blas_threads = 0, repeats = 5, steps = 20, batch_size = 128,
      decode_sentences = 500, decode_steps = 30;
  std::string precision = "fp32";
  app.add_option("--data-dir", data_dir, "Multi30k folder")->capture_default_str();
  app.add_option("--threads", threads, "ATen intra-op threads (0: auto)")->capture_default_str();
  app.add_option("--blas-threads", blas_threads, "OpenBLAS threads (0: its default)")
      ->capture_default_str();
  app.add_option("--repeats", repeats, "Timed repeats (the median is reported)")
      ->capture_default_str();
  app.add_option("--steps", steps, "Training steps per repeat")->capture_default_str();
  app.add_option("--batch-size", batch_size, "Sentences per batch")->capture_default_str();
  app.add_option("--decode-sentences", decode_sentences, "Test sentences decoded per repeat")
      ->capture_default_str();
  app.add_option("--decode-steps", decode_steps,
                 "Greedy steps per sentence, <eos> or not, so that any weights do the same work")
      ->capture_default_str();
  app.add_option("--attention", attention, "Attention kind")->capture_default_str();
  app.add_option("--precision", precision,
                 "Training precision: fp32 or bf16 (vocabulary projection)")
      ->capture_default_str();
  std::string quantize;
  ShortlistOptions shortlist;
  bool decode_only = false;
  app.add_option("--quantize", quantize, "Decoding: int8 (the decoder's cells and projection)")
      ->check(CLI::IsMember({"int8"}));
  app.add_option("--shortlist", shortlist.per_word,
                 "Decoding: lexical shortlist, target words per source word (0: off)");
  app.add_option("--shortlist-frequent", shortlist.frequent,
                 "Decoding: the most frequent target words always in the shortlist")
      ->capture_default_str();
  app.add_flag("--decode-only", decode_only, "Skip the training measurement");
  std::string profile;
  app.add_option("--profile", profile,
                 "Write a Chrome trace of --steps training steps to this file and stop (see "
                 "bench/profile_summary.py)");
  CLI11_PARSE(app, argc, argv);
  try {
    set_threads(threads, blas_threads);
    auto config = default_translate_config();
    config["data"]["dir"] = data_dir;
    config["model"]["attention"] = attention;
    config["model"]["dropout"] = 0.5;
    const auto data = load_translation_data(config["data"]);
    Translator t(config, data.train);
    std::vector<Example> train;
    for (const auto& p : data.train) train.push_back(t.encode(p));
    const auto batches = make_batches(train, batch_size, /*shuffle=*/true, 1);
    torch::optim::Adam optimizer(t.model->parameters(), torch::optim::AdamOptions(1e-3));
    const auto loss_options = torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(0.1);
    t.model->train();
    t.model->decoder->set_projection_dtype(parse_precision(precision));
    size_t next = 0;
    auto train_steps = [&](int n, int64_t* tokens) {
      for (int s = 0; s < n; ++s) {
        const Batch b = collate(train, batches[next++ % batches.size()]);
        optimizer.zero_grad();
        const auto rows = b.tgt_out.ne(Vocab::kPad);
        const auto out = t.model->forward(b.src, b.src_lengths, b.tgt_in, 1.0, rows);
        const auto loss = torch::nn::functional::cross_entropy(
            out.logits, b.tgt_out.masked_select(rows), loss_options);
        loss.backward();
        torch::nn::utils::clip_grad_norm_(t.model->parameters(), 1.0);
        optimizer.step();
        *tokens += b.target_tokens;
      }
    };
    int64_t warm = 0;
    train_steps(3, &warm);
    if (!profile.empty()) {
      {
        torch::autograd::profiler::RecordProfile guard(profile);
        train_steps(steps, &warm);
      }
      std::cerr << "wrote " << profile << std::endl;
      return 0;
    }
    std::vector<double> train_rates, decode_rates;
    for (int r = 0; r < (decode_only ? 0 : repeats); ++r) {
      int64_t tokens = 0;
      const auto start = Clock::now();
      train_steps(steps, &tokens);
      train_rates.push_back(tokens / std::chrono::duration<double>(Clock::now() - start).count());
      std::cerr << "repeat " << r + 1 << ": train " << train_rates.back() << " tok/s" << std::endl;
    }
    std::vector<std::string> sources;
    for (const auto& p : data.test) {
      if (static_cast<int>(sources.size()) >= decode_sentences) break;
      sources.push_back(p.src);
    }
    t.model->decoder->set_projection_dtype(torch::kFloat32);
    t.model->eval();
    if (quantize == "int8") t.quantize_int8();
    if (shortlist.per_word > 0) t.build_shortlist(data.train, shortlist);
    SearchOptions greedy = search_options(t.config.at("decode"));
    greedy.beam = 1;
    greedy.eos = -1;  // exactly decode_steps tokens per sentence
    t.config["decode"]["max_len_ratio"] = 0.0;
    t.config["decode"]["max_len_offset"] = decode_steps;
    for (int r = 0; r < repeats; ++r) {
      const auto start = Clock::now();
      t.translate(sources, greedy, 100);
      decode_rates.push_back(sources.size() /
                             std::chrono::duration<double>(Clock::now() - start).count());
      std::cerr << "repeat " << r + 1 << ": greedy " << decode_rates.back() << " sentences/s"
                << std::endl;
    }
    // The exported file (with the same --quantize and --shortlist) on the same
    // work: forward() over batches of 100, exactly decode_steps tokens each
    // (its eos attribute set to none, its length limit to decode_steps).
    auto exported = export_translator(t);
    exported.setattr("eos", int64_t{-1});
    exported.setattr("max_len_ratio", 0.0);
    exported.setattr("max_len_offset", static_cast<int64_t>(decode_steps));
    std::vector<Example> encoded;
    for (const auto& text : sources) encoded.push_back({t.encode_source(text), {}});
    std::vector<Batch> exported_batches;
    for (const auto& indices : make_batches(encoded, 100, /*shuffle=*/false, 0))
      exported_batches.push_back(collate(encoded, indices));
    std::vector<double> exported_rates;
    {
      torch::NoGradGuard no_grad;
      for (int warm = 0; warm < 2; ++warm)  // the profiling executor optimises after the first runs
        exported.forward({exported_batches.front().src, exported_batches.front().src_lengths});
      for (int r = 0; r < repeats; ++r) {
        const auto start = Clock::now();
        for (const auto& b : exported_batches) exported.forward({b.src, b.src_lengths});
        exported_rates.push_back(sources.size() /
                                 std::chrono::duration<double>(Clock::now() - start).count());
        std::cerr << "repeat " << r + 1 << ": exported greedy " << exported_rates.back()
                  << " sentences/s" << std::endl;
      }
    }
    nlohmann::json result = {
        {"model_parameters", t.model->num_parameters()},
        {"threads", torch::get_num_threads()},
        {"blas", blas_threading()},
        {"blas_core", blas_core()},
        {"blas_threads", blas_threads},
        {"batch_size", batch_size},
        {"attention", attention},
        {"precision", precision},
        {"quantize", quantize.empty() ? "fp32" : quantize},
        {"shortlist", shortlist.per_word},
        {"decode_steps", decode_steps},
        {"train_tokens_per_sec_median", train_rates.empty() ? 0.0 : median(train_rates)},
        {"greedy_sentences_per_sec_median", median(decode_rates)},
        {"exported_greedy_sentences_per_sec_median", median(exported_rates)},
        {"exported_greedy_sentences_per_sec", exported_rates},
        {"train_tokens_per_sec", train_rates},
        {"greedy_sentences_per_sec", decode_rates}};
    std::cout << result.dump() << std::endl;
  } catch (const UserError& e) {
    std::cerr << "bench_translate: error: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
