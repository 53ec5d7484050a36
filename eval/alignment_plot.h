#pragma once
// Attention alignment plots: the weight matrix as a heatmap with the source
// tokens along the top and the output tokens down the left side, as in
// Bahdanau et al. 2015, Figure 3. Rendered with OpenCV (FreeType for Unicode
// labels when a font is available).
#include <torch/torch.h>

#include <string>
#include <vector>

namespace attnzoo {

// weights (T, S): row t is the attention of output token t over the S source tokens.
// Throws UserError when the shapes and labels disagree or the file cannot be written.
void plot_alignment(const torch::Tensor& weights, const std::vector<std::string>& source_tokens,
                    const std::vector<std::string>& output_tokens, const std::string& png_path,
                    const std::string& title = "");

}  // namespace attnzoo
