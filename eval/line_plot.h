#pragma once
// Line charts (several named series over shared x labels) as PNG via OpenCV:
// BLEU by sentence length, training curves.
#include <string>
#include <vector>

namespace attnzoo {

struct Series {
  std::string name;
  std::vector<double> y;  // one value per x label
};

// Throws UserError when a series has the wrong length or the file cannot be written.
void plot_lines(const std::vector<std::string>& x_labels, const std::vector<Series>& series,
                const std::string& title, const std::string& x_title, const std::string& y_title,
                const std::string& png_path);

}  // namespace attnzoo
