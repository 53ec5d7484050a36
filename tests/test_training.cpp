// Training: configs, checkpoints, and exact resume.
#include <catch2/catch.hpp>

#include "tests/temp_dir.h"

#include <strings.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <tuple>

#include "data/error.h"
#include "data/text_io.h"
#include "data/translation_data.h"
#include "tasks/caption_config.h"
#include "tasks/captioner_training.h"
#include "tasks/forecasting.h"
#include "tasks/glimpse.h"
#include "tasks/translate_config.h"
#include "tasks/translator_training.h"
#include "train/checkpoint.h"
#include "train/config.h"
#include "train/runtime.h"
#include "train/schedule.h"

using namespace attnzoo;
namespace fs = std::filesystem;

namespace {

std::string fresh_dir(const std::string& name) {
  const auto dir = attnzoo::testing::scratch_dir() / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

// A tiny, quick translation setup on generated dates.
nlohmann::json tiny_config() {
  auto c = default_translate_config();
  c["data"]["source"] = "dates";
  c["data"]["dates"] = {{"train_size", 300}, {"valid_size", 20}, {"test_size", 20}, {"seed", 5}};
  c["tokenizer"]["src"]["kind"] = "char";
  c["tokenizer"]["tgt"]["kind"] = "char";
  c["vocab"]["min_freq"] = 1;
  c["model"] = {{"embedding_size", 8}, {"encoder_hidden_size", 8}, {"decoder_hidden_size", 12},
                {"encoder_layers", 1}, {"decoder_layers", 2},      {"bidirectional", true},
                {"rnn", "gru"},        {"dropout", 0.2},           {"attention", "additive"},
                {"attention_size", 0}, {"readout_size", 6}};
  c["train"]["batch_size"] = 32;
  c["train"]["epochs"] = 3;
  c["train"]["teacher_forcing"] = 0.7;  // exercises the RNG on every step
  c["train"]["checkpoint_every"] = 3;
  c["train"]["log_every"] = 2;
  c["decode"]["beam"] = 2;
  return c;
}

std::map<std::string, torch::Tensor> weights_of(const std::string& checkpoint) {
  const Checkpoint c(checkpoint, "translate");
  Translator t(c);
  std::map<std::string, torch::Tensor> out;
  for (const auto& item : t.model->named_parameters()) out[item.key()] = item.value().clone();
  return out;
}

}  // namespace

TEST_CASE("a resumed run reaches exactly the weights of an uninterrupted one",
          "[training][checkpoint]") {
  // 10 batches per epoch: the interrupted run stops mid-epoch, after an
  // evaluation (epoch end at step 10) and with a plateau schedule in play.
  auto config = tiny_config();
  config["train"]["max_steps"] = 14;
  const auto straight = fresh_dir("straight");
  train_translator(config, straight, RunStart::fresh);

  const auto resumed = fresh_dir("resumed");
  config["train"]["max_steps"] = 7;
  train_translator(config, resumed, RunStart::fresh);
  config["train"]["max_steps"] = 14;
  train_translator(config, resumed, RunStart::resume);

  const auto a = weights_of(straight + "/checkpoint.pt");
  const auto b = weights_of(resumed + "/checkpoint.pt");
  REQUIRE(a.size() == b.size());
  for (const auto& [name, tensor] : a) {
    INFO(name);
    CHECK(torch::equal(tensor, b.at(name)));
  }
  // The metrics log has one line per logged step, none duplicated by the resume.
  const auto lines = read_lines(resumed + "/metrics.jsonl");
  std::vector<int64_t> steps;
  for (const auto& l : lines) steps.push_back(nlohmann::json::parse(l).at("step"));
  CHECK(std::is_sorted(steps.begin(), steps.end()));
  CHECK(std::adjacent_find(steps.begin(), steps.end()) == steps.end());
  CHECK(Checkpoint(resumed + "/checkpoint.pt", "translate").meta().at("progress").at("step") == 14);
  CHECK(!fs::exists(resumed + "/checkpoint.pt.tmp"));
}

TEST_CASE("checkpoints hold everything needed to translate, and reject strangers", "[checkpoint]") {
  auto config = tiny_config();
  config["tokenizer"]["src"] = {{"kind", "bpe"}, {"lowercase", true}, {"vocab_size", 60}};
  config["train"]["max_steps"] = 2;
  const auto dir = fresh_dir("holds");
  const auto path = train_translator(config, dir, RunStart::fresh);
  const Checkpoint checkpoint(path, "translate");
  Translator t(checkpoint);
  CHECK(t.src_tokenizer->options().kind == "bpe");
  CHECK(!t.src_tokenizer->model_bytes().empty());
  CHECK(t.src_vocab == Vocab::load(dir + "/vocab.src.json"));
  const auto out = t.translate({"tue 24 nov 2026"}, search_options(t.config.at("decode")), 4);
  CHECK(out.size() == 1);

  // A checkpoint from before a config key existed loads with the key's default.
  auto old_meta = t.meta();
  old_meta["config"]["decode"].erase("max_len_offset");
  old_meta["config"]["model"].erase("hard_eval");
  const auto old_path = dir + "/old.pt";
  save_checkpoint(old_path, old_meta, *t.model, nullptr, t.tensors());
  Translator old(Checkpoint(old_path, "translate"));
  CHECK(old.config.at("decode").at("max_len_offset") == 10);
  CHECK(old.config.at("model").at("hard_eval") == "argmax");

  CHECK_THROWS_WITH(Checkpoint(path, "caption"), Catch::Contains("'translate' checkpoint"));
  const auto junk = dir + "/junk.pt";
  std::ofstream(junk) << "not a checkpoint";
  CHECK_THROWS_WITH(Checkpoint(junk, "translate"), Catch::Contains("not an attnzoo checkpoint"));
  CHECK_THROWS_WITH(Checkpoint(dir + "/missing.pt", "translate"),
                    Catch::Contains("no such checkpoint"));
}

TEST_CASE("configs: unknown keys and wrong types are errors naming the key", "[config]") {
  const auto defaults = default_translate_config();
  CHECK_THROWS_WITH(merge_config(defaults, nlohmann::json{{"train", {{"lrr", 1}}}}, "c.json"),
                    Catch::Contains("c.json.train.lrr"));
  CHECK_THROWS_WITH(
      merge_config(defaults, nlohmann::json{{"train", {{"epochs", "ten"}}}}, "c.json"),
      Catch::Contains("c.json.train.epochs"));
  CHECK_THROWS_WITH(merge_config(defaults, nlohmann::json{{"train", {{"epochs", 2.5}}}}, "c.json"),
                    Catch::Contains("integer"));
  auto c = defaults;
  apply_override(c, "train.lr=0.5");
  apply_override(c, "model.attention=dot");
  CHECK(c["train"]["lr"] == 0.5);
  CHECK(c["model"]["attention"] == "dot");
  CHECK_THROWS_AS(apply_override(c, "nokey"), UserError);
  const auto bad = fresh_dir("cfg") + "/bad.json";
  std::ofstream(bad) << "{\n  \"train\": {\n    \"lr\": ,\n  }\n}\n";
  CHECK_THROWS_WITH(read_json_file(bad), Catch::Contains(bad + ":3"));
}

TEST_CASE("learning-rate schedules", "[training]") {
  LrScheduleOptions plateau;
  plateau.patience = 2;
  LrSchedule s(1.0, plateau);
  CHECK(s.lr(5) == 1.0);
  s.on_evaluation(10);
  s.on_evaluation(9);
  CHECK(s.lr(5) == 1.0);
  CHECK(s.on_evaluation(9));  // second evaluation without improvement
  CHECK(s.lr(5) == 0.5);
  LrScheduleOptions inv;
  inv.kind = "inverse_sqrt";
  inv.warmup_steps = 100;
  LrSchedule w(1.0, inv);
  CHECK(w.lr(50) == Approx(0.5));
  CHECK(w.lr(100) == Approx(1.0));
  CHECK(w.lr(400) == Approx(0.5));
  LrScheduleOptions cosine;
  cosine.kind = "cosine";
  cosine.warmup_steps = 10;
  cosine.total_steps = 110;
  cosine.min_lr = 0.1;
  LrSchedule c(1.0, cosine);
  CHECK(c.lr(5) == Approx(0.5));  // warm-up
  CHECK(c.lr(10) == Approx(1.0));
  CHECK(c.lr(60) == Approx(0.55));  // half-way: the mean of 1 and the floor
  CHECK(c.lr(110) == Approx(0.1));
  CHECK(c.lr(500) == Approx(0.1));  // stays at the floor past the horizon
  CHECK_FALSE(c.on_evaluation(1.0));
  CHECK_FALSE(c.on_evaluation(0.5));  // evaluations do not steer it
  CHECK(c.lr(60) == Approx(0.55));
  CHECK_THROWS_WITH(
      LrSchedule(1.0, LrScheduleOptions::from_json(nlohmann::json{{"kind", "cosine"}})),
      Catch::Contains("total_steps"));
}

TEST_CASE("Multi30k reads from the shared data folder", "[data][multi30k]") {
  const std::string dir = std::string(ATTNZOO_SHARED_DATA) + "/multi30k";
  if (!fs::exists(dir)) {
    WARN("skipped: " << dir << " is absent");
    return;
  }
  auto config = default_translate_config();
  config["data"]["dir"] = dir;
  const auto splits = load_translation_data(config["data"]);
  CHECK(splits.train.size() == 29000);
  CHECK(splits.valid.size() == 1014);
  CHECK(splits.test.size() == 1000);
  CHECK(splits.test[0].src.find(' ') != std::string::npos);
}

TEST_CASE("runtime: OpenBLAS runs kernels this CPU can use, or the user's", "[runtime]") {
  const attnzoo::CpuFeatures avx512{true, true}, avx2{true, false}, sse{false, false};
  // OpenBLAS 0.3.21 takes CPUs it does not know (Emerald Rapids) for a Prescott.
  CHECK(better_blas_core("Prescott", nullptr, avx512) == "SkylakeX");
  CHECK(better_blas_core("Prescott", "", avx512) == "SkylakeX");
  CHECK(better_blas_core("Nehalem", nullptr, avx2) == "Haswell");
  CHECK(better_blas_core("sandybridge", nullptr, avx2) == "Haswell");
  CHECK_FALSE(better_blas_core("Prescott", nullptr, sse));  // what it detected is all it has
  CHECK_FALSE(better_blas_core("Prescott", "Sandybridge", avx512));  // the user's choice
  for (const char* known : {"Haswell", "Zen", "SkylakeX", "Cooperlake", "SapphireRapids"})
    CHECK_FALSE(better_blas_core(known, nullptr, avx512));

  // This process (tests/main.cpp switched it first, as every app does).
  const std::string core = use_best_blas_kernels();
  CHECK(core == blas_core());
#ifdef ATTNZOO_EXPECT_OPENMP_BLAS
  CHECK(!core.empty());
  // Kernels below what the CPU runs only where OPENBLAS_CORETYPE asked for them.
  const char* chosen = std::getenv("OPENBLAS_CORETYPE");
  if (!(chosen && strcasecmp(chosen, core.c_str()) == 0))
    CHECK_FALSE(better_blas_core(core, nullptr, cpu_features()));
#endif
  // The kernels multiply right: a product against sums done by hand.
  const auto a = torch::arange(1, 1 + 37 * 53, torch::kFloat32).reshape({37, 53}).remainder(7) - 3;
  const auto b = torch::arange(1, 1 + 53 * 29, torch::kFloat32).reshape({53, 29}).remainder(5) - 2;
  const auto c = torch::mm(a, b);
  const auto expected = (a.unsqueeze(2) * b.unsqueeze(0)).sum(1);
  CHECK(torch::equal(c, expected));  // small integers: exact in any order
}

TEST_CASE("runtime: the BLAS the build chose, thread defaults, precision names", "[runtime]") {
  // `make test` sets OMP_NUM_THREADS=1 (its tests share the cores); the defaults
  // are checked without it, then with it, and the caller's value put back.
  const char* set = std::getenv("OMP_NUM_THREADS");
  const std::optional<std::string> caller = set ? std::optional<std::string>(set) : std::nullopt;
  unsetenv("OMP_NUM_THREADS");
#ifdef ATTNZOO_EXPECT_OPENMP_BLAS
  // CMake found OpenBLAS's OpenMP build: the RPATH must have made it the one loaded.
  CHECK(blas_threading() == "openmp");
  CHECK(default_threads() == static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
#else
  CHECK(default_threads() == 1);
#endif
  set_threads(0, 0);
  CHECK(torch::get_num_threads() == default_threads());
  set_threads(1, 0);
  CHECK(torch::get_num_threads() == 1);
  setenv("OMP_NUM_THREADS", "3", 1);  // the user's choice wins, as in PyTorch
  CHECK(default_threads() == 3);
  set_threads(0, 0);
  CHECK(torch::get_num_threads() == 3);
  setenv("OMP_NUM_THREADS", "0", 1);  // not a count: the default again
  CHECK(default_threads() != 0);
  if (caller)
    setenv("OMP_NUM_THREADS", caller->c_str(), 1);
  else
    unsetenv("OMP_NUM_THREADS");
  set_threads(1, 0);
  CHECK(parse_precision("fp32") == torch::kFloat32);
  CHECK(parse_precision("bf16") == torch::kBFloat16);
  CHECK_THROWS_WITH(parse_precision("fp16"), Catch::Contains("train.precision"));
}

TEST_CASE("every config key of every app is described, and nothing else is", "[config]") {
  const std::vector<std::tuple<std::string, nlohmann::json, nlohmann::json>> apps = {
      {"translate", default_translate_config(), translate_config_help()},
      {"caption", default_caption_config(), caption_config_help()},
      {"glimpse", default_glimpse_config(), glimpse_config_help()},
      {"forecast", default_forecast_config(), forecast_config_help()}};
  for (const auto& [app, defaults, help] : apps) {
    INFO(app);
    CHECK(config_help_mismatches(defaults, help).empty());
    const auto reference = config_reference(defaults, help, true);
    CHECK(reference.find("(not described)") == std::string::npos);
    CHECK(reference.find("| `train.lr` | `0.001` |") != std::string::npos);
  }
  // A key added without its description is named.
  auto defaults = default_translate_config();
  defaults["decode"]["new_key"] = 1;
  CHECK(config_help_mismatches(defaults, translate_config_help()) ==
        std::vector<std::string>{"decode.new_key"});
  auto help = translate_config_help();
  help["model"]["gone"] = "a key the defaults lack";
  CHECK(config_help_mismatches(default_translate_config(), help) ==
        std::vector<std::string>{"+ model.gone"});
}

TEST_CASE("an unknown config key names the nearest ones and the command that lists them",
          "[config]") {
  set_config_command("translate config");
  auto config = default_translate_config();
  CHECK_THROWS_WITH(apply_override(config, "data.tvs=x.tsv"),
                    Catch::Contains("--set data.tvs: unknown key; the nearest: data.tsv") &&
                        Catch::Contains("(`translate config` lists every key)"));
  // A key of another section is found there.
  CHECK_THROWS_WITH(apply_override(config, "train.beam=4"), Catch::Contains("decode.beam"));
  CHECK(nearest_config_keys(config, "lr", "train").front() == "train.lr");
  set_config_command("");
}

TEST_CASE("data.source tsv without data.tsv names the key", "[config]") {
  auto config = default_translate_config();
  config["data"]["source"] = "tsv";
  CHECK_THROWS_WITH(load_translation_data(config.at("data")),
                    Catch::Contains("data.tsv is empty") && Catch::Contains("--set data.tsv=FILE"));
}
