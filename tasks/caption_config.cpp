#include "tasks/caption_config.h"

#include "models/attention.h"
#include "tasks/hard_attention.h"
#include "train/config.h"
#include "train/loop.h"

namespace attnzoo {

nlohmann::json default_caption_config() {
  auto config = nlohmann::json::parse(R"({
    "data": {
      "source": "scenes",
      "fashion_mnist": "/usr/share/datasets/fashion-mnist",
      "captions": "", "images": "", "image_size": 224,
      "limit": {"train": 0, "valid": 0, "test": 0},
      "augment": {"flip": false, "shift": 0, "brightness": 0.0, "contrast": 0.0},
      "scenes": {"train_size": 6000, "valid_size": 300, "test_size": 500, "seed": 1, "canvas": 128,
                 "min_items": 1, "max_items": 3, "min_size": 32, "max_size": 48, "captions_per_image": 5}
    },
    "tokenizer": {"kind": "word", "lowercase": true},
    "vocab": {"min_freq": 1, "max_size": 0},
    "encoder": {"depth": 18, "width": 32, "last_stage": 2, "grid": 0, "weights": "", "trainable_stages": 3,
                "cache": false, "positions": 0,
                "pretrain": {"steps": 0, "batch_size": 64, "lr": 0.002, "canvas": 0, "target": "item"}},
    "model": {"embedding_size": 128, "hidden_size": 256, "attention_size": 128, "attention": "additive",
              "gate": true, "dropout": 0.3, "hard_eval": "argmax", "output": "context"},
    "train": {
      "batch_size": 32, "epochs": 5, "clip": 5.0,
      "doubly_stochastic": 0.01, "attention_entropy": 0.0, "all_captions": false,
      "select_metric": "bleu4", "valid_max_images": 0
    },
    "decode": {"beam": 3, "length_penalty": 0.0, "max_length": 24, "batch_size": 64}
  })");
  config["train"] = with_loop_defaults(config.at("train"));
  config["train"]["hard"] = default_hard_attention_config();
  return config;
}

nlohmann::json caption_config_help() {
  auto help = nlohmann::json::parse(R"json({
    "data": {
      "source": "scenes (generated Fashion-MNIST scenes) or karpathy (a Karpathy split file and its images)",
      "fashion_mnist": "scenes: the folder of Fashion-MNIST's IDX files (Debian's dataset-fashion-mnist)",
      "captions": "karpathy: the split file, plain or .gz (--captions)",
      "images": "karpathy: the folder its filepath/filename entries are relative to (--images)",
      "image_size": "karpathy: images are resized and centre-cropped to this side",
      "limit": {
        "train": "use at most this many training images; 0: all",
        "valid": "use at most this many validation images; 0: all",
        "test": "use at most this many test images; 0: all"
      },
      "augment": {
        "flip": "training images flipped left-right at random",
        "shift": "training images shifted by up to this many pixels each way (edges replicated)",
        "brightness": "training images' intensities scaled by a factor in [1-b, 1+b], b in [0, 1)",
        "contrast": "training images' difference from their mean scaled by [1-c, 1+c], c in [0, 1)"
      },
      "scenes": {
        "train_size": "scenes: training images generated",
        "valid_size": "scenes: validation images generated",
        "test_size": "scenes: test images generated",
        "seed": "scenes: the generator's seed",
        "canvas": "scenes: the canvas side in pixels",
        "min_items": "scenes: fewest items on a canvas",
        "max_items": "scenes: most items on a canvas",
        "min_size": "scenes: smallest item side in pixels",
        "max_size": "scenes: largest item side in pixels",
        "captions_per_image": "scenes: captions written per image"
      }
    },
    "tokenizer": {
      "kind": "caption tokenizer: word, char, bpe or unigram",
      "lowercase": "lowercase captions before tokenising"
    },
    "vocab": {
      "min_freq": "words seen fewer times in training become <unk>",
      "max_size": "keep at most this many words besides the 4 specials; 0: no limit"
    },
    "encoder": {
      "depth": "ResNet depth: 18, 34 or 50",
      "width": "channels of the ResNet's stem (torchvision's: 64)",
      "last_stage": "the last ResNet stage kept (1-4); its feature map is what the decoder attends over",
      "grid": "average-pool the feature map to grid x grid locations; 0: keep it as it is",
      "weights": "initial encoder weights: a file from tools/export_torchvision_resnet.py, or a caption checkpoint",
      "trainable_stages": "train only the top this many stages (0 freezes the encoder)",
      "cache": "with a frozen encoder: compute each image's feature map once (features.pt)",
      "positions": "append 4F sin/cos channels of each location's place (F frequencies); 0: none, the paper's",
      "pretrain": {
        "steps": "scenes: first train the encoder this many steps to classify single items; 0: off",
        "batch_size": "pretraining: images per batch",
        "lr": "pretraining: Adam's learning rate (cosine decay)",
        "canvas": "pretraining: the canvas side; 0: the scenes' canvas",
        "target": "pretraining: item (one class over the mean location) or locations (a class at every location)"
      }
    },
    "model": {
      "embedding_size": "word embedding size",
      "hidden_size": "the decoder LSTM's hidden size",
      "attention_size": "additive attention's hidden size",
      "attention": "",
      "gate": "the gating scalar beta = sigmoid(f(h)) on the context",
      "dropout": "dropout before the output layer",
      "hard_eval": "hard attention at evaluation: argmax or expectation",
      "output": "context (the paper's: predict from the attended context) or mixture (mix each location's prediction by the attention)"
    },
    "train": {
      "batch_size": "(image, caption) pairs per batch, or images with all_captions (--batch-size)",
      "doubly_stochastic": "weight lambda of the doubly stochastic penalty sum_i (1 - sum_t alpha_ti)^2",
      "attention_entropy": "weight of the attention maps' mean entropy added to the loss",
      "all_captions": "a batch is batch_size images with every one of their captions",
      "select_metric": "what picks best.pt: bleu4 or cider",
      "valid_max_images": "validate on at most this many images; 0: the whole split"
    },
    "decode": {
      "beam": "beam size of eval, predict and exported files (--beam); 1: greedy",
      "length_penalty": "GNMT length penalty alpha; 0: none",
      "max_length": "longest caption in words",
      "batch_size": "images decoded at once by eval"
    }
  })json");
  help["train"] = with_loop_help(help.at("train"));
  help["train"]["hard"] = hard_attention_config_help();
  help["model"]["attention"] = attention_help({AttentionKind::kNone});
  return help;
}

nlohmann::json load_caption_config(const std::string& path) {
  return merge_config(default_caption_config(), read_json_file(path), path);
}

}  // namespace attnzoo
