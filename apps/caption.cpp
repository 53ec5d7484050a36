// caption: Show, Attend and Tell image captioning (train, eval, predict, scenes, export).
#include <attnzoo/version.h>
#include <CLI/CLI.hpp>

#include <filesystem>
#include <iostream>
#include <set>

#include "apps/cli_checks.h"
#include "apps/train_flags.h"
#include "data/error.h"
#include "data/files.h"
#include "data/images.h"
#include "data/karpathy.h"
#include "data/text_io.h"
#include "tasks/caption_config.h"
#include "tasks/captioner_training.h"
#include "train/config.h"
#include "train/device.h"
#include "train/progress.h"
#include "train/runtime.h"

using namespace attnzoo;

namespace {

// --images and --captions: a Karpathy split file and its image folder.
struct KarpathyArgs {
  std::string images, captions;
};

void add_karpathy_options(CLI::App* cmd, KarpathyArgs& k) {
  cmd->add_option("--images", k.images, "Image folder (data.images; sets data.source karpathy)");
  cmd->add_option("--captions", k.captions,
                  "Karpathy split JSON, e.g. dataset_flickr8k.json (data.captions)");
}

void apply_karpathy_args(nlohmann::json& config, const KarpathyArgs& k) {
  if (k.images.empty() != k.captions.empty())
    throw UserError("--images and --captions go together");
  if (k.images.empty()) return;
  config["data"]["source"] = "karpathy";
  config["data"]["images"] = k.images;
  config["data"]["captions"] = k.captions;
}

struct DecodeArgs {
  std::string checkpoint;
  int64_t beam = -1, batch_size = 64, threads = 0;
  std::string device = "cpu";
};

void add_decode_options(CLI::App* cmd, DecodeArgs& a) {
  cmd->add_option("--checkpoint", a.checkpoint, "Checkpoint file (best.pt or checkpoint.pt)")
      ->required();
  cmd->add_option("--beam", a.beam, "Beam size (1 = greedy; default: the checkpoint's decode.beam)")
      ->check(at_least(1));
  cmd->add_option("--batch-size", a.batch_size, "Images decoded together")
      ->check(at_least(1))
      ->capture_default_str();
  cmd->add_option("--threads", a.threads, "ATen threads (0: auto, see docs/formats.md)")
      ->check(at_least(0))
      ->capture_default_str();
  add_device_flag(cmd, a.device);
}

SearchOptions resolve_search(const Captioner& c, const DecodeArgs& a) {
  auto o = c.search_options();
  if (a.beam > 0) o.beam = a.beam;
  return o;
}

int run_train(const TrainFlags& a, const KarpathyArgs& k) {
  auto config = base_train_config(a, default_caption_config());
  apply_karpathy_args(config, k);
  apply_train_flags(config, a);
  train_captioner(config, a.out, a.start());
  return 0;
}

int run_eval(const DecodeArgs& d, const KarpathyArgs& k, const std::string& split, int64_t limit,
             const std::string& heatmaps, int64_t heatmap_count, bool json) {
  set_threads(static_cast<int>(d.threads), 0);
  const Checkpoint checkpoint(d.checkpoint, "caption");
  Captioner captioner(checkpoint);
  captioner.model->to(parse_device(d.device));
  auto data_config = captioner.config.at("data");
  if (!k.images.empty() || !k.captions.empty()) {
    if (data_config.at("source") != "karpathy")
      throw UserError("{}: this captioner was trained on {}, not a Karpathy split file",
                      d.checkpoint, data_config.at("source").get<std::string>());
    if (!k.images.empty()) data_config["images"] = k.images;
    if (!k.captions.empty()) data_config["captions"] = k.captions;
  }
  if (limit > 0) data_config["limit"][split] = limit;
  auto data = load_caption_data(data_config, {split}, stage_progress_bars("images"));
  auto& images = split == "valid" ? data.valid : data.test;
  const auto ev = evaluate_captioner(captioner, images, resolve_search(captioner, d), d.batch_size);
  if (!heatmaps.empty()) {
    create_folder(heatmaps, "heatmap");
    for (int64_t i = 0; i < std::min<int64_t>(heatmap_count, ev.images); ++i) {
      const auto& r = ev.results[static_cast<size_t>(i)];
      const std::string path = heatmaps + "/" + images[static_cast<size_t>(i)].name + ".png";
      write_caption_heatmaps(path, images[static_cast<size_t>(i)], r);
    }
    std::cerr << "wrote " << std::min<int64_t>(heatmap_count, ev.images) << " heatmap figures to "
              << heatmaps << std::endl;
  }
  if (json) {
    std::cout << ev.to_json().dump() << std::endl;
  } else {
    std::printf(
        "%s split, %lld images: BLEU-1 %.2f BLEU-2 %.2f BLEU-3 %.2f BLEU-4 %.2f CIDEr-D %.3f",
        split.c_str(), static_cast<long long>(ev.images), ev.bleu[0], ev.bleu[1], ev.bleu[2],
        ev.bleu[3], ev.cider);
    if (ev.pointing_accuracy >= 0)
      std::printf(" pointing %.3f (%lld words) item recall %.3f precision %.3f",
                  ev.pointing_accuracy, static_cast<long long>(ev.pointed_words), ev.item_recall,
                  ev.item_precision);
    std::printf("\n");
  }
  return 0;
}

int run_predict(const DecodeArgs& d, const std::vector<std::string>& paths,
                const std::string& heatmap) {
  set_threads(static_cast<int>(d.threads), 0);
  const Checkpoint checkpoint(d.checkpoint, "caption");
  Captioner captioner(checkpoint);
  captioner.model->to(parse_device(d.device));
  const auto options = caption_image_options(captioner.config.at("data"));
  std::vector<CaptionImage> images;
  for (const auto& p : paths) images.push_back({p, read_image(p, options), {}, {}});
  std::vector<const CaptionImage*> pointers;
  for (const auto& image : images) pointers.push_back(&image);
  const auto results = captioner.caption(pointers, resolve_search(captioner, d), d.batch_size);
  for (size_t i = 0; i < results.size(); ++i)
    std::cout << (paths.size() > 1 ? paths[i] + "\t" : "") << results[i].text << std::endl;
  if (heatmap.empty()) return 0;
  // One image and a file name: that file. Several images (or a folder): one
  // figure per image in the folder, named after the image.
  namespace fs = std::filesystem;
  std::error_code ec;
  const bool folder = paths.size() > 1 || heatmap.back() == '/' || fs::is_directory(heatmap, ec);
  if (!folder) {
    refuse_overwriting_inputs(heatmap, "--heatmap", paths);
    write_caption_heatmaps(heatmap, images[0], results[0]);
    std::cerr << "wrote " << heatmap << std::endl;
    return 0;
  }
  create_folder(heatmap, "heatmap");
  std::set<std::string> used;
  for (size_t i = 0; i < paths.size(); ++i) {
    std::string name = fs::path(paths[i]).stem().string() + ".png";
    if (!used.insert(name).second) name = fmt::format("{}-{}", i + 1, name);  // same stems
    const std::string out = (fs::path(heatmap) / name).string();
    refuse_overwriting_inputs(out, "--heatmap", paths);
    write_caption_heatmaps(out, images[i], results[i]);
  }
  std::cerr << "wrote " << paths.size() << " heatmap figures to " << heatmap << std::endl;
  return 0;
}

// Writes scenes as PNG files: the first `count` test scenes with a reference
// caption each (to try predict on), or, with `karpathy`, every split with a
// Karpathy split file (dataset_scenes.json), the format of Flickr8k and COCO.
int run_scenes(const std::string& config_path, const std::vector<std::string>& overrides,
               const std::string& out, int64_t count, bool karpathy) {
  auto config = config_path.empty() ? default_caption_config() : load_caption_config(config_path);
  for (const auto& o : overrides) apply_override(config, o);
  if (config.at("data").at("source") != "scenes")
    throw UserError("scenes: the config's data.source is not scenes");
  auto data = load_caption_data(config.at("data"), {"train", "valid", "test"},
                                stage_progress_bars("images"));
  if (!karpathy) {
    create_folder(out);
    for (int64_t i = 0; i < std::min<int64_t>(count, static_cast<int64_t>(data.test.size())); ++i) {
      const auto& image = data.test[static_cast<size_t>(i)];
      const std::string path = out + "/" + image.name + ".png";
      write_image(path, image.pixels);
      std::cout << path << "\t" << image.captions.front() << std::endl;
    }
    return 0;
  }
  create_folder(out + "/images");
  std::vector<KarpathyImage> entries;
  for (auto [name, split] : data.named()) {
    for (const auto& image : *split) {
      write_image(out + "/images/" + image.name + ".png", image.pixels);
      entries.push_back({image.name + ".png", name, image.captions});
    }
  }
  write_karpathy(out + "/dataset_scenes.json", "scenes", entries);
  std::cout << "wrote " << entries.size() << " images to " << out
            << "/images and their captions to " << out << "/dataset_scenes.json" << std::endl;
  return 0;
}

int run_export(const ExportFlags& f) {
  const Checkpoint checkpoint(f.checkpoint, "caption");
  const Captioner captioner(checkpoint);
  write_export(export_captioner(captioner), f, "caption", captioner.config, captioner_methods());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"caption: Show, Attend and Tell image captioning (attnzoo " ATTNZOO_VERSION ")"};
  app.require_subcommand(1);

  TrainFlags train;
  auto* cmd_train = app.add_subcommand("train", "Train a captioner; stop and --resume at any time");
  add_train_flags(cmd_train, train,
                  "JSON config (configs/caption/*.json; default: the scenes defaults)", "Captions",
                  choice_names(attention_kinds(), {AttentionKind::kNone}, " | "));
  KarpathyArgs train_data;
  add_karpathy_options(cmd_train, train_data);

  DecodeArgs eval_args;
  std::string split = "test", heatmaps;
  int64_t limit = 0, heatmap_count = 8;
  bool json = false;
  auto* cmd_eval =
      app.add_subcommand("eval", "Caption a split and score it: BLEU-1..4, CIDEr-D, pointing game");
  add_decode_options(cmd_eval, eval_args);
  KarpathyArgs eval_data;
  add_karpathy_options(cmd_eval, eval_data);
  cmd_eval->add_option("--split", split, "test | valid")
      ->check(CLI::IsMember({"test", "valid"}))
      ->capture_default_str();
  cmd_eval->add_option("--limit", limit, "Evaluate only the first N images")->check(at_least(0));
  cmd_eval->add_option("--heatmaps", heatmaps,
                       "Write attention heatmap figures of the first images to this folder");
  cmd_eval->add_option("--heatmap-count", heatmap_count, "How many figures --heatmaps writes")
      ->check(at_least(0))
      ->capture_default_str();
  cmd_eval->add_flag("--json", json, "Print one JSON object");

  DecodeArgs predict_args;
  std::vector<std::string> image_paths;
  std::string heatmap;
  auto* cmd_predict =
      app.add_subcommand("predict", "Caption image files; optionally draw where the model looked");
  add_decode_options(cmd_predict, predict_args);
  cmd_predict->add_option("--image", image_paths, "Image file (repeat for several)")->required();
  cmd_predict->add_option("--heatmap", heatmap,
                          "Write the attention heatmap figure here: a .png file for one --image; "
                          "a folder (several images, or a path ending in /) for one figure per "
                          "image, named after it");

  std::string scenes_config, scenes_out;
  std::vector<std::string> scenes_overrides;
  int64_t scenes_count = 8;
  bool scenes_karpathy = false;
  auto* cmd_scenes = app.add_subcommand("scenes",
                                        "Write test scenes as PNG files (with a reference "
                                        "caption), or all of them as a Karpathy data set");
  cmd_scenes->add_option("--config", scenes_config, "Caption config whose data section to use");
  cmd_scenes->add_option("--out", scenes_out, "Folder for the PNG files")->required();
  cmd_scenes->add_option("--set", scenes_overrides,
                         "Any config value, e.g. --set data.scenes.train_size=500");
  cmd_scenes->add_option("--count", scenes_count, "How many test scenes")
      ->check(at_least(0))
      ->capture_default_str();
  cmd_scenes->add_flag(
      "--karpathy", scenes_karpathy,
      "Write every split: <out>/images/*.png and <out>/dataset_scenes.json (Karpathy format)");

  ExportFlags export_flags;
  auto* cmd_export = add_export_command(app, export_flags,
                                        "a captioner (ResNet, decoder, vocabulary, beam search)");

  bool config_markdown = false;
  auto* cmd_config = add_config_command(app, config_markdown);
  CurvesFlags curves;
  auto* cmd_curves = add_curves_command(app, curves);

  return run_app(app, argc, argv, "caption", [&] {
    if (*cmd_config)
      return run_config(default_caption_config(), caption_config_help(), config_markdown);
    if (*cmd_curves) return run_curves(curves);
    if (*cmd_train) return run_train(train, train_data);
    if (*cmd_eval)
      return run_eval(eval_args, eval_data, split, limit, heatmaps, heatmap_count, json);
    if (*cmd_predict) {
      auto inputs = image_paths;
      inputs.push_back(predict_args.checkpoint);
      refuse_overwriting_inputs(heatmap, "--heatmap", inputs);
      return run_predict(predict_args, image_paths, heatmap);
    }
    if (*cmd_scenes)
      return run_scenes(scenes_config, scenes_overrides, scenes_out, scenes_count, scenes_karpathy);
    if (*cmd_export) return run_export(export_flags);
    return 0;
  });
}
