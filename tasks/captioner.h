#pragma once
// The captioner as a checkpoint holds it (config, tokenizer, vocabulary and
// CaptionNet), captioning with the searches, its evaluation (BLEU-1..4,
// CIDEr-D, the pointing game, item recall) and heatmaps, and the cache of the
// encoder's feature maps.
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <array>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "data/caption_data.h"
#include "data/images.h"
#include "data/tokenizer.h"
#include "data/vocab.h"
#include "eval/pointing.h"
#include "models/captioner.h"
#include "models/resnet.h"
#include "models/search.h"
#include "train/checkpoint.h"

namespace attnzoo {

// Sets `encoder` to the encoder of the captioner checkpoint at `path`
// (encoder.weights may name one: the paper's setting of hard attention over a
// trained, frozen encoder). UserError when the shapes differ.
void copy_encoder_from_checkpoint(ResNetImpl& encoder, const std::string& path);

// Throws UserError, saying how to make it, when encoder.weights names no file.
void check_encoder_weights(const nlohmann::json& config);

// Everything needed to caption: a checkpoint holds exactly this.
class Captioner {
 public:
  Captioner(const nlohmann::json& config, const std::vector<CaptionImage>& train);
  explicit Captioner(const Checkpoint& checkpoint);

  std::vector<int64_t> encode_caption(const std::string& caption) const;  // ids with <eos>
  // uint8 images -> normalised network input (B,3,H,W); `augment` applies
  // data.augment (training batches only).
  torch::Tensor prepare(const std::vector<const torch::Tensor*>& pixels,
                        bool augment = false) const;
  AugmentOptions augment_options() const;
  std::vector<CaptionResult> caption(const std::vector<const CaptionImage*>& images,
                                     const SearchOptions& options, int64_t batch_size);
  SearchOptions search_options() const;

  nlohmann::json meta() const;
  std::map<std::string, torch::Tensor> tensors() const { return {}; }

  nlohmann::json config;
  std::shared_ptr<Tokenizer> tokenizer;
  Vocab vocab;
  CaptionNet model{nullptr};

  // encoder.trainable_stages below the encoder's stages + 1 freezes the rest
  // (the constructors do it; encoder pretraining undoes it while it runs).
  void apply_freezing();
};

struct CaptionEval {
  std::array<double, 4> bleu{};  // BLEU-1..4, 0-100
  double cider = 0.0;
  double pointing_accuracy = -1.0;  // 0-1; -1 where the images have no boxes
  int64_t pointed_words = 0;
  // Of the pointed words that missed: the share whose argmax lay within one
  // location's step of the named item's box, and the share on another item.
  double missed_near = -1.0, missed_on_other_item = -1.0;
  // Pointing of the first, second, ... word of a caption that names an item of the image.
  std::vector<double> pointing_by_order;
  // Scenes: the share of items whose name the caption has (recall), and of
  // item names in captions that name an item there (precision); -1 without items.
  double item_recall = -1.0, item_precision = -1.0;
  int64_t images = 0;
  std::vector<CaptionResult> results;
  nlohmann::json to_json() const;
};

// Where a caption's words looked, as the pointing game reads it (eval/pointing.h).
WordAttention word_attention(const CaptionResult& result);

// The figure of where `result` looked for each word over `image`
// (eval/heatmap.h), with the maps placed where their locations look.
void write_caption_heatmaps(const std::string& png_path, const CaptionImage& image,
                            const CaptionResult& result);

CaptionEval evaluate_captioner(Captioner& captioner, const std::vector<CaptionImage>& images,
                               const SearchOptions& options, int64_t batch_size);

// The encoder's feature maps of `images`, (N,L,D) in fp16 (eval mode, no grad).
torch::Tensor encode_images(Captioner& captioner, const std::vector<CaptionImage>& images,
                            int64_t batch_size);
// Throws UserError unless encoder.cache can be used: a frozen encoder, no augmentation.
void check_cache_config(const nlohmann::json& config);
// encode_images, stored at `path` and read back while the encoder, its
// weights file, the data config and the images stay the same.
torch::Tensor load_or_build_feature_cache(Captioner& captioner,
                                          const std::vector<CaptionImage>& images,
                                          const std::string& path, int64_t batch_size);

}  // namespace attnzoo
