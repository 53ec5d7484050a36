#include "data/caption_data.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>

#include "data/error.h"
#include "data/fashion_mnist.h"
#include "data/karpathy.h"

namespace attnzoo {

namespace {

std::vector<CaptionImage> scene_images(const FashionMnist& source, uint64_t seed, int64_t first,
                                       int64_t count, const SceneOptions& options,
                                       const std::string& prefix) {
  std::vector<CaptionImage> out;
  out.reserve(static_cast<size_t>(count));
  for (int64_t i = first; i < first + count; ++i) {
    Scene s = make_scene(source, seed, i, options);
    out.push_back({prefix + std::to_string(i), std::move(s.image), std::move(s.captions),
                   std::move(s.items)});
  }
  return out;
}

// Loads the images of one split, ImageReadOptions-sized, on all threads, in
// chunks so that the progress bar moves; images that cannot be read are
// reported by name and left out, as are images without captions.
std::vector<CaptionImage> load_karpathy_split(const std::vector<KarpathyImage>& entries,
                                              const std::string& dir,
                                              const ImageReadOptions& options,
                                              const std::string& split,
                                              const LoadProgress& progress) {
  std::vector<torch::Tensor> pixels(entries.size());
  std::vector<std::string> errors(entries.size());
  const auto total = static_cast<int64_t>(entries.size());
  const int64_t chunk = 64;
  for (int64_t start = 0; start < static_cast<int64_t>(entries.size()); start += chunk) {
    const int64_t end = std::min<int64_t>(static_cast<int64_t>(entries.size()), start + chunk);
    at::parallel_for(start, end, 1, [&](int64_t begin, int64_t stop) {
      for (int64_t i = begin; i < stop; ++i) {
        try {
          pixels[i] = read_image(dir + "/" + entries[i].file, options);
        } catch (const std::exception& e) {
          errors[i] = e.what();
        }
      }
    });
    if (progress) progress(split, end, total);
  }
  std::vector<CaptionImage> out;
  int64_t unreadable = 0, uncaptioned = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (!errors[i].empty()) {
      if (++unreadable <= 20) std::fprintf(stderr, "skipped %s\n", errors[i].c_str());
      continue;
    }
    if (entries[i].captions.empty()) {
      ++uncaptioned;
      continue;
    }
    out.push_back({entries[i].file, std::move(pixels[i]), entries[i].captions, {}});
  }
  if (unreadable > 20)
    std::fprintf(stderr, "skipped %lld more unreadable images\n",
                 static_cast<long long>(unreadable - 20));
  if (unreadable + uncaptioned > 0)
    std::fprintf(stderr, "%s: %zu of %zu images kept (%lld unreadable, %lld without captions)\n",
                 split.c_str(), out.size(), entries.size(), static_cast<long long>(unreadable),
                 static_cast<long long>(uncaptioned));
  return out;
}

CaptionSplits load_karpathy_data(const nlohmann::json& d, const std::vector<std::string>& splits,
                                 const LoadProgress& progress) {
  const std::string captions = d.at("captions"), images = d.at("images");
  if (captions.empty())
    throw UserError("config: data.captions is empty (the Karpathy split JSON; --captions)");
  if (images.empty())
    throw UserError("config: data.images is empty (the folder of the images; --images)");
  std::error_code ec;
  if (!std::filesystem::is_directory(images, ec))
    throw UserError("{}: no such image folder", images);
  std::map<std::string, std::vector<KarpathyImage>> by_split;
  for (auto& image : read_karpathy(captions)) by_split[image.split].push_back(std::move(image));
  const auto options = caption_image_options(d);
  CaptionSplits s;
  for (auto [name, split] : s.named()) {
    if (std::find(splits.begin(), splits.end(), name) == splits.end()) continue;
    auto& entries = by_split[name];
    const int64_t limit = d.at("limit").at(name);
    if (limit > 0 && static_cast<int64_t>(entries.size()) > limit)
      entries.resize(static_cast<size_t>(limit));
    *split = load_karpathy_split(entries, images, options, name, progress);
    if (split->empty()) throw UserError("{}: no {} images could be used", captions, name);
  }
  return s;
}

}  // namespace

ImageReadOptions caption_image_options(const nlohmann::json& d) {
  ImageReadOptions o;
  if (d.at("source") == "scenes") {
    o.side = d.at("scenes").at("canvas");
    o.grey = true;
    o.centre_crop = false;
  } else {
    o.side = d.at("image_size");
    if (o.side < 32) throw UserError("config: data.image_size {} is below 32", o.side);
  }
  return o;
}

CaptionSplits load_caption_data(const nlohmann::json& d, const std::vector<std::string>& splits,
                                const LoadProgress& progress) {
  const std::string source = d.at("source");
  if (source == "karpathy") return load_karpathy_data(d, splits, progress);
  if (source != "scenes")
    throw UserError("config: data.source \"{}\" is not one of scenes, karpathy", source);
  const auto& sc = d.at("scenes");
  SceneOptions o;
  o.canvas = sc.at("canvas");
  o.min_items = sc.at("min_items");
  o.max_items = sc.at("max_items");
  o.min_size = sc.at("min_size");
  o.max_size = sc.at("max_size");
  o.captions_per_image = sc.at("captions_per_image");
  const uint64_t seed = sc.at("seed");
  const std::string dir = d.at("fashion_mnist");
  // Training scenes use Fashion-MNIST's training images; validation and test
  // scenes its test images, so no item image is seen in both.
  const auto train_items = load_fashion_mnist(dir, "train");
  const auto test_items = load_fashion_mnist(dir, "test");
  const int64_t n_valid = sc.at("valid_size");
  CaptionSplits s;
  s.train = scene_images(train_items, seed, 0, sc.at("train_size"), o, "train-");
  s.valid = scene_images(test_items, seed + 1, 0, n_valid, o, "valid-");
  s.test = scene_images(test_items, seed + 1, n_valid, sc.at("test_size"), o, "test-");
  for (auto [name, split] : s.named()) {
    const int64_t limit = d.at("limit").at(name);
    if (limit > 0 && static_cast<int64_t>(split->size()) > limit)
      split->resize(static_cast<size_t>(limit));
  }
  return s;
}

}  // namespace attnzoo
