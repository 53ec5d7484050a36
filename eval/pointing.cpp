#include "eval/pointing.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace attnzoo {

void pointing_game(const WordAttention& r, const CaptionImage& image, PointingCounts* counts) {
  if (!r.attention.defined() || r.grid_h <= 0 || r.grid_w <= 0) return;
  const double height = static_cast<double>(image.pixels.size(0));
  const double width = static_cast<double>(image.pixels.size(1));
  const double step_x = width / static_cast<double>(r.grid_w),
               step_y = height / static_cast<double>(r.grid_h);
  const int64_t total_before = counts->total;
  for (size_t t = 0; t < r.words.size(); ++t) {
    bool named = false, hit = false, near = false, other = false;
    const int64_t where = r.attention[static_cast<int64_t>(t)].argmax().item<int64_t>();
    // Where the argmax location looks: its receptive field's centre, in image pixels.
    const double x = (static_cast<double>(where % r.grid_w) + 0.5 + r.shift_x) * step_x;
    const double y = (static_cast<double>(where / r.grid_w) + 0.5 + r.shift_y) * step_y;
    for (const auto& item : image.items) {
      if (item.name != r.words[t]) {
        other = other || item.box.contains(x, y);
        continue;
      }
      named = true;
      hit = hit || item.box.contains(x, y);
      near = near || (x >= item.box.x0 - step_x && x < item.box.x1 + step_x &&
                      y >= item.box.y0 - step_y && y < item.box.y1 + step_y);
    }
    if (!named) continue;
    const size_t order = static_cast<size_t>(counts->total - total_before);
    if (counts->total_by_order.size() <= order) {
      counts->total_by_order.resize(order + 1, 0);
      counts->hits_by_order.resize(order + 1, 0);
    }
    ++counts->total_by_order[order];
    if (hit) ++counts->hits_by_order[order];
    ++counts->total;
    if (hit) {
      ++counts->hits;
    } else {
      if (near) ++counts->near;
      if (other) ++counts->on_other_item;
    }
  }
}

void count_items(const std::vector<std::string>& words, const CaptionImage& image,
                 const std::vector<std::string>& names, ItemCounts* counts) {
  std::map<std::string, int64_t> in_image, in_caption;
  for (const auto& item : image.items) ++in_image[item.name];
  for (const auto& w : words)
    if (std::find(names.begin(), names.end(), w) != names.end()) ++in_caption[w];
  counts->items += static_cast<int64_t>(image.items.size());
  for (const auto& [name, n] : in_caption) {
    counts->name_words += n;
    const auto it = in_image.find(name);
    const int64_t matched = it == in_image.end() ? 0 : std::min(n, it->second);
    counts->correct_words += matched;
    counts->named += matched;
  }
}

}  // namespace attnzoo
