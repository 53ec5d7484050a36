#pragma once
// Does the captioner look where it speaks? The pointing game (after Zhang et
// al. 2016's, for caption words) and the item counts behind item recall and
// precision, over scenes whose items have boxes and names.
#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "data/caption_data.h"

namespace attnzoo {

// Where a caption's words looked: one attention row per word over a grid of
// locations (a captioner's CaptionResult gives it: tasks/captioner.h's
// word_attention). Location (r, c) looks at ((c + 0.5 + shift_x) W / grid_w,
// (r + 0.5 + shift_y) H / grid_h) of a W x H image: the centre of its
// receptive field, shifted from its cell's centre by shift cells.
struct WordAttention {
  std::vector<std::string> words;  // without <eos>
  torch::Tensor attention;         // (words, grid_h * grid_w)
  int64_t grid_h = 0, grid_w = 0;
  double shift_x = 0.0, shift_y = 0.0;
};

// The pointing game for one caption: each word naming an item of the image
// counts; it hits when its attention's argmax location (the centre of its
// receptive field: WordAttention::shift_x, shift_y) lies in a box of an item
// of that name. A miss is `near` when that point lies within one location's
// step (the image's side over the grid's) of such a box, `on_other_item` when
// it lies in the box of an item of another name. Adds to *counts, and to
// hits_by_order[k] / total_by_order[k] for the caption's k-th such word.
struct PointingCounts {
  int64_t hits = 0, total = 0, near = 0, on_other_item = 0;
  std::vector<int64_t> hits_by_order, total_by_order;
};
void pointing_game(const WordAttention& looked, const CaptionImage& image, PointingCounts* counts);

// Counts for item_recall and item_precision over one caption's words: items named
// (each item counts once, matched by name with multiplicity), items in the
// image, item-name words in the caption, and those that matched an item.
struct ItemCounts {
  int64_t named = 0, items = 0, name_words = 0, correct_words = 0;
};
void count_items(const std::vector<std::string>& words, const CaptionImage& image,
                 const std::vector<std::string>& names, ItemCounts* counts);

}  // namespace attnzoo
