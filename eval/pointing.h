#pragma once
// Does the captioner look where it speaks? The pointing game (after Zhang et
// al. 2016's, for caption words) and the item counts behind item recall and
// precision, over scenes whose items have boxes and names.
#include <cstdint>
#include <string>
#include <vector>

#include "data/caption_data.h"
#include "models/captioner.h"

namespace attnzoo {

// The pointing game for one caption: each word naming an item of the image
// counts; it hits when its attention's argmax location (the centre of its
// receptive field: CaptionResult::shift_x, shift_y) lies in a box of an item
// of that name. A miss is `near` when that point lies within one location's
// step (the image's side over the grid's) of such a box, `on_other_item` when
// it lies in the box of an item of another name. Adds to *counts, and to
// hits_by_order[k] / total_by_order[k] for the caption's k-th such word.
struct PointingCounts {
  int64_t hits = 0, total = 0, near = 0, on_other_item = 0;
  std::vector<int64_t> hits_by_order, total_by_order;
};
void pointing_game(const CaptionResult& result, const CaptionImage& image, PointingCounts* counts);

// Counts for item_recall and item_precision over one caption: items named
// (each item counts once, matched by name with multiplicity), items in the
// image, item-name words in the caption, and those that matched an item.
struct ItemCounts {
  int64_t named = 0, items = 0, name_words = 0, correct_words = 0;
};
void count_items(const CaptionResult& result, const CaptionImage& image,
                 const std::vector<std::string>& names, ItemCounts* counts);

}  // namespace attnzoo
