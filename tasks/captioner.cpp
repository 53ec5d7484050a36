#include "tasks/captioner.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>

#include "data/error.h"
#include "data/images.h"
#include "data/text_io.h"
#include "eval/bleu.h"
#include "eval/cider.h"
#include "eval/heatmap.h"
#include "tasks/caption_config.h"
#include "train/config.h"
#include "train/device.h"
#include "train/distributed.h"
#include "train/progress.h"

namespace attnzoo {

// ----------------------------------------------------------------------------
// Model

void check_encoder_weights(const nlohmann::json& config) {
  const auto& e = config.at("encoder");
  const std::string weights = e.at("weights");
  if (!weights.empty() && !file_exists(weights))
    throw UserError(
        "encoder.weights {}: no such file (write it from torchvision's ImageNet weights with "
        "tools/export_torchvision_resnet.py --arch resnet{} --pth <torchvision .pth> --out {})",
        weights, e.at("depth").get<int64_t>(), weights);
}

void copy_encoder_from_checkpoint(ResNetImpl& encoder, const std::string& path) {
  const Checkpoint checkpoint(path, "caption");
  const Captioner donor(checkpoint);
  auto theirs = donor.model->encoder->named_parameters(true);
  for (const auto& b : donor.model->encoder->named_buffers(true)) theirs.insert(b.key(), b.value());
  torch::NoGradGuard no_grad;
  auto copy = [&](const std::string& name, torch::Tensor& target) {
    const auto* source = theirs.find(name);
    if (!source || source->sizes() != target.sizes())
      throw UserError(
          "{}: its encoder is not shaped like this config's (encoder.depth, width, last_stage): {}",
          path, name);
    target.copy_(*source);
  };
  for (auto& p : encoder.named_parameters(true)) copy(p.key(), p.value());
  for (auto& b : encoder.named_buffers(true)) copy(b.key(), b.value());
}

Captioner::Captioner(const nlohmann::json& config_in, const std::vector<CaptionImage>& train)
    : config(config_in) {
  tokenizer = make_tokenizer(TokenizerOptions::from_json(config.at("tokenizer")));
  std::vector<std::vector<std::string>> sentences;
  for (const auto& image : train)
    for (const auto& c : image.captions) sentences.push_back(tokenizer->tokenize(c));
  if (sentences.empty()) throw UserError("no training captions");
  vocab =
      Vocab::build(sentences, config.at("vocab").at("min_freq"), config.at("vocab").at("max_size"));
  model = CaptionNet(CaptionNetOptions::from_json(config, vocab.size()));
  const auto& e = config.at("encoder");
  const std::string weights = e.at("weights");
  if (!weights.empty() && checkpoint_app(weights) != "") {
    copy_encoder_from_checkpoint(*model->encoder, weights);
    std::fprintf(stderr, "encoder weights from the captioner %s\n", weights.c_str());
  } else if (!weights.empty()) {
    check_encoder_weights(config);
    const auto report = load_named_tensors(*model->encoder, weights);
    if (!report.missing.empty())
      throw UserError("{}: {} encoder tensors missing, e.g. {}", weights, report.missing.size(),
                      report.missing[0]);
    std::fprintf(stderr, "encoder weights from %s (%zu unused: %s)\n", weights.c_str(),
                 report.unexpected.size(),
                 report.unexpected.empty() ? "" : report.unexpected[0].c_str());
  }
  apply_freezing();
}

void Captioner::apply_freezing() {
  const auto& e = config.at("encoder");
  const int64_t trainable = e.at("trainable_stages");
  if (trainable < e.at("last_stage").get<int64_t>() + 1) model->encoder->freeze(trainable);
}

Captioner::Captioner(const Checkpoint& checkpoint) {
  const auto& meta = checkpoint.meta();
  // Defaults first, so that a checkpoint from before a config key existed still loads.
  config = merge_config(default_caption_config(), meta.at("config"), checkpoint.path());
  vocab = Vocab::from_json(meta.at("vocab"), checkpoint.path() + " (vocabulary)");
  tokenizer = make_tokenizer(TokenizerOptions::from_json(config.at("tokenizer")));
  model = CaptionNet(CaptionNetOptions::from_json(config, vocab.size()));
  checkpoint.load_model(*model);
  apply_freezing();
}

nlohmann::json Captioner::meta() const {
  return {{"app", "caption"}, {"config", config}, {"vocab", vocab.to_json()}};
}

std::vector<int64_t> Captioner::encode_caption(const std::string& caption) const {
  auto ids = vocab.encode(tokenizer->tokenize(caption));
  ids.push_back(Vocab::kEos);
  return ids;
}

AugmentOptions Captioner::augment_options() const {
  const auto& a = config.at("data").at("augment");
  AugmentOptions o;
  o.flip = a.at("flip");
  o.shift = a.at("shift");
  o.brightness = a.at("brightness");
  o.contrast = a.at("contrast");
  if (o.shift < 0 || o.brightness < 0 || o.brightness >= 1 || o.contrast < 0 || o.contrast >= 1)
    throw UserError("config: data.augment: shift must be >= 0, brightness and contrast in [0, 1)");
  return o;
}

torch::Tensor Captioner::prepare(const std::vector<const torch::Tensor*>& pixels,
                                 bool augment) const {
  std::vector<torch::Tensor> images;
  for (const auto* p : pixels) {
    auto x = p->to(torch::kFloat).div(255.0);
    x = x.dim() == 2 ? x.unsqueeze(0).expand({3, x.size(0), x.size(1)}) : x.permute({2, 0, 1});
    images.push_back(x);
  }
  auto batch = torch::stack(images);
  if (augment) batch = attnzoo::augment(batch, augment_options());
  const auto mean = torch::tensor(imagenet_mean(), torch::kFloat).view({1, 3, 1, 1});
  const auto std = torch::tensor(imagenet_std(), torch::kFloat).view({1, 3, 1, 1});
  return ((batch - mean) / std).to(module_device(*model));
}

SearchOptions Captioner::search_options() const {
  const auto& d = config.at("decode");
  SearchOptions o;
  o.beam = d.at("beam");
  o.length_penalty = d.at("length_penalty");
  o.bos = Vocab::kBos;
  o.eos = Vocab::kEos;
  if (o.beam < 1) throw UserError("decode.beam must be at least 1 (got {})", o.beam);
  if (d.at("max_length").get<int64_t>() < 1)
    throw UserError("decode.max_length must be at least 1 (got {})", d.at("max_length").dump());
  return o;
}

std::vector<CaptionResult> Captioner::caption(const std::vector<const CaptionImage*>& images,
                                              const SearchOptions& options, int64_t batch_size) {
  torch::NoGradGuard no_grad;
  const bool was_training = model->is_training();
  model->eval();
  std::vector<CaptionResult> out;
  const int64_t max_length = config.at("decode").at("max_length");
  for (size_t start = 0; start < images.size(); start += static_cast<size_t>(batch_size)) {
    const size_t end = std::min(images.size(), start + static_cast<size_t>(batch_size));
    std::vector<const torch::Tensor*> pixels;
    for (size_t i = start; i < end; ++i) pixels.push_back(&images[i]->pixels);
    int64_t gh = 0, gw = 0;
    const auto input = prepare(pixels);
    const auto features = model->encode(input, &gh, &gw);
    const double offset = model->encoder->location_offset();  // input pixels
    const double shift_x = offset * static_cast<double>(gw) / static_cast<double>(input.size(3));
    const double shift_y = offset * static_cast<double>(gh) / static_cast<double>(input.size(2));
    CaptionStepper stepper(model->decoder, features);
    const std::vector<int64_t> limits(features.size(0), max_length);
    for (const auto& hyps : search(stepper, limits, options)) {
      const Hypothesis& best = hyps.front();
      CaptionResult r;
      r.words = vocab.decode(best.tokens);
      r.text = tokenizer->detokenize(r.words);
      r.attention =
          best.attention.defined()
              ? best.attention.slice(0, 0, static_cast<int64_t>(r.words.size())).to(torch::kCPU)
              : torch::Tensor();
      r.grid_h = gh;
      r.grid_w = gw;
      r.shift_x = shift_x;
      r.shift_y = shift_y;
      r.score = best.score;
      out.push_back(std::move(r));
    }
  }
  model->train(was_training);
  return out;
}

// ----------------------------------------------------------------------------
// Evaluation

nlohmann::json CaptionEval::to_json() const {
  nlohmann::json j = {{"bleu1", bleu[0]}, {"bleu2", bleu[1]}, {"bleu3", bleu[2]},
                      {"bleu4", bleu[3]}, {"cider", cider},   {"images", images}};
  if (pointing_accuracy >= 0) {
    j["pointing_accuracy"] = pointing_accuracy;
    j["pointed_words"] = pointed_words;
    j["pointing_missed_near"] = missed_near;
    j["pointing_missed_on_other_item"] = missed_on_other_item;
    j["pointing_by_order"] = pointing_by_order;
    j["item_recall"] = item_recall;
    j["item_precision"] = item_precision;
  }
  return j;
}

void write_caption_heatmaps(const std::string& png_path, const CaptionImage& image,
                            const CaptionResult& r) {
  HeatmapOptions options;
  options.shift_x = r.shift_x;
  options.shift_y = r.shift_y;
  write_attention_heatmaps(png_path, image.pixels, r.words, r.attention, r.grid_h, r.grid_w,
                           options);
}

CaptionEval evaluate_captioner(Captioner& captioner, const std::vector<CaptionImage>& images,
                               const SearchOptions& options, int64_t batch_size) {
  std::vector<const CaptionImage*> pointers;
  for (const auto& image : images) pointers.push_back(&image);
  CaptionEval ev;
  ev.images = static_cast<int64_t>(images.size());
  ev.results = captioner.caption(pointers, options, batch_size);
  // References as columns for BLEU (missing ones empty), and as token lists for CIDEr-D.
  size_t max_refs = 0;
  for (const auto& image : images) max_refs = std::max(max_refs, image.captions.size());
  std::vector<std::vector<std::string>> bleu_refs(max_refs,
                                                  std::vector<std::string>(images.size()));
  std::vector<std::vector<std::string>> cider_refs(images.size());
  std::vector<std::string> hypotheses, cider_hyps;
  auto tokens_line = [&](const std::string& s) {
    std::string line;
    for (const auto& w : captioner.tokenizer->tokenize(s)) line += (line.empty() ? "" : " ") + w;
    return line;
  };
  PointingCounts pointing;
  bool any_boxes = false;
  ItemCounts items;
  for (size_t i = 0; i < images.size(); ++i) {
    hypotheses.push_back(ev.results[i].text);
    cider_hyps.push_back(tokens_line(ev.results[i].text));
    for (size_t r = 0; r < images[i].captions.size(); ++r) {
      bleu_refs[r][i] = images[i].captions[r];
      cider_refs[i].push_back(tokens_line(images[i].captions[r]));
    }
    any_boxes = any_boxes || !images[i].items.empty();
    pointing_game(word_attention(ev.results[i]), images[i], &pointing);
    count_items(ev.results[i].words, images[i], fashion_mnist_classes(), &items);
  }
  BleuOptions bleu_options;
  bleu_options.lowercase = true;
  const auto bleu = corpus_bleu(hypotheses, bleu_refs, bleu_options);
  for (int n = 1; n <= 4; ++n) ev.bleu[n - 1] = bleu_at_order(bleu, n);
  ev.cider = cider_d(cider_hyps, cider_refs).score;
  if (any_boxes) {
    const auto share = [](int64_t n, int64_t of) {
      return of > 0 ? static_cast<double>(n) / static_cast<double>(of) : 0.0;
    };
    ev.pointing_accuracy = share(pointing.hits, pointing.total);
    ev.pointed_words = pointing.total;
    ev.missed_near = share(pointing.near, pointing.total - pointing.hits);
    ev.missed_on_other_item = share(pointing.on_other_item, pointing.total - pointing.hits);
    for (size_t k = 0; k < pointing.total_by_order.size(); ++k)
      ev.pointing_by_order.push_back(share(pointing.hits_by_order[k], pointing.total_by_order[k]));
    ev.item_recall =
        items.items > 0 ? static_cast<double>(items.named) / static_cast<double>(items.items) : 0.0;
    ev.item_precision = items.name_words > 0 ? static_cast<double>(items.correct_words) /
                                                   static_cast<double>(items.name_words)
                                             : 0.0;
  }
  return ev;
}

// ----------------------------------------------------------------------------
// Feature cache

torch::Tensor encode_images(Captioner& c, const std::vector<CaptionImage>& images,
                            int64_t batch_size) {
  torch::NoGradGuard no_grad;
  const bool was_training = c.model->is_training();
  c.model->eval();
  std::vector<torch::Tensor> parts;
  ProgressBar bar(static_cast<int64_t>(images.size()), "encoding images", 10.0);
  for (size_t start = 0; start < images.size(); start += static_cast<size_t>(batch_size)) {
    const size_t end = std::min(images.size(), start + static_cast<size_t>(batch_size));
    std::vector<const torch::Tensor*> pixels;
    for (size_t i = start; i < end; ++i) pixels.push_back(&images[i].pixels);
    parts.push_back(c.model->encode(c.prepare(pixels)).to(torch::kCPU, torch::kHalf));
    bar.update(static_cast<int64_t>(end));
  }
  bar.finish();
  c.model->train(was_training);
  return torch::cat(parts);
}

namespace {

// What the cached features depend on: the encoder (config and weights file),
// the data config and the images.
std::string feature_cache_key(const Captioner& c, const std::vector<CaptionImage>& images) {
  nlohmann::json key = {{"encoder", c.config.at("encoder")}, {"data", c.config.at("data")}};
  key["encoder"].erase("cache");
  // The encoder's values themselves, so that other weights (a file, a donor
  // captioner, encoder pretraining) never reuse the features of old ones.
  // A 64-bit FNV-1a over names and bytes, tensor by tensor (no copy of the whole encoder).
  uint64_t hash = 14695981039346656037ULL;
  auto mix = [&](const char* bytes, size_t n) {
    for (size_t i = 0; i < n; ++i)
      hash = (hash ^ static_cast<unsigned char>(bytes[i])) * 1099511628211ULL;
  };
  auto add = [&](const std::string& name, const torch::Tensor& t) {
    const auto v = t.detach().to(torch::kCPU).contiguous();
    mix(name.data(), name.size());
    mix(static_cast<const char*>(v.data_ptr()), v.nbytes());
  };
  for (const auto& p : c.model->encoder->named_parameters(true)) add(p.key(), p.value());
  for (const auto& b : c.model->encoder->named_buffers(true)) add(b.key(), b.value());
  key["weights"] = hash;
  std::string names;
  for (const auto& image : images) names += image.name + "\n";
  key["images"] = images.size();
  key["names"] = std::hash<std::string>{}(names);
  return key.dump();
}

}  // namespace

void check_cache_config(const nlohmann::json& config) {
  const int64_t trainable = config.at("encoder").at("trainable_stages");
  if (trainable != 0)
    throw UserError(
        "config: encoder.cache needs a frozen encoder (encoder.trainable_stages 0, not {})",
        trainable);
  const auto& a = config.at("data").at("augment");
  if (a.at("flip").get<bool>() || a.at("shift").get<int64_t>() > 0 ||
      a.at("brightness").get<double>() > 0 || a.at("contrast").get<double>() > 0)
    throw UserError(
        "config: encoder.cache and data.augment exclude each other (features are cached once)");
}

torch::Tensor load_or_build_feature_cache(Captioner& c, const std::vector<CaptionImage>& images,
                                          const std::string& path, int64_t batch_size) {
  const std::string key = feature_cache_key(c, images);
  if (file_exists(path)) {
    try {
      torch::serialize::InputArchive archive;
      archive.load_from(path);
      c10::IValue stored;
      torch::Tensor features;
      if (archive.try_read("key", stored) && stored.isString() && stored.toStringRef() == key &&
          archive.try_read("features", features) &&
          features.size(0) == static_cast<int64_t>(images.size())) {
        std::fprintf(stderr, "feature cache: %s (%lld images)\n", path.c_str(),
                     static_cast<long long>(features.size(0)));
        return features;
      }
      std::fprintf(stderr,
                   "feature cache: %s is for other images or another encoder; rebuilding it\n",
                   path.c_str());
    } catch (const c10::Error&) {
      std::fprintf(stderr, "feature cache: %s is unreadable; rebuilding it\n", path.c_str());
    }
  }
  const auto features = encode_images(c, images, batch_size);
  if (!world().main()) return features;  // every rank encodes; rank 0 writes the file
  torch::serialize::OutputArchive archive;
  archive.write("key", c10::IValue(key));
  archive.write("features", features, /*is_buffer=*/true);
  save_archive_atomically(archive, path, "the feature cache");
  std::fprintf(stderr, "feature cache: %s (%lld images, %.0f MB)\n", path.c_str(),
               static_cast<long long>(features.size(0)),
               static_cast<double>(features.nbytes()) / 1e6);
  return features;
}

WordAttention word_attention(const CaptionResult& result) {
  return {result.words,  result.attention, result.grid_h,
          result.grid_w, result.shift_x,   result.shift_y};
}

}  // namespace attnzoo
