#pragma once
// Training a captioner: encoder pretraining, the TrainTask (cross-entropy
// plus the doubly stochastic penalty, hard attention's REINFORCE term) and
// train_captioner. The Captioner itself: tasks/captioner.h; its config:
// tasks/caption_config.h.
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <array>
#include <string>
#include <utility>
#include <vector>

#include "data/caption_data.h"
#include "data/images.h"
#include "data/scenes.h"
#include "data/tokenizer.h"
#include "data/vocab.h"
#include "eval/pointing.h"
#include "models/captioner.h"
#include "models/resnet.h"
#include "models/search.h"
#include "tasks/captioner.h"
#include "train/checkpoint.h"
#include "train/loop.h"

namespace attnzoo {

// encoder.pretrain.steps > 0: trains the whole encoder to classify single
// Fashion-MNIST items (tasks/item_pretrain.h) before captioning, then applies
// encoder.trainable_stages again, and writes what it measured to
// `report_path` (JSON). Nothing when steps is 0 or when the encoder starts
// from encoder.weights (it says so); UserError for a Karpathy source.
void pretrain_caption_encoder(Captioner& captioner, const std::string& report_path);

// Captioning as a TrainTask for the shared loop: every (image, reference) is
// an example; loss = cross-entropy + the doubly stochastic penalty. With a
// cache path (encoder.cache; the encoder must be frozen) training reads the
// cached feature maps and releases the training images' pixels.
std::unique_ptr<TrainTask> make_caption_task(Captioner& captioner, CaptionSplits& data,
                                             const nlohmann::json& train_config,
                                             const std::string& cache_path);

// Trains in out_dir (fresh, resumed or started over: RunStart in train/loop.h);
// returns the checkpoint path.
std::string train_captioner(const nlohmann::json& config, const std::string& out_dir,
                            RunStart start);

}  // namespace attnzoo
