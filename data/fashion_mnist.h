#pragma once
// Fashion-MNIST from Debian's dataset-fashion-mnist package: the IDX files
// (gzip) read with zlib, no download.
#include <torch/torch.h>

#include <string>
#include <vector>

namespace attnzoo {

inline const char* const kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

struct FashionMnist {
  torch::Tensor images;  // (N,28,28) uint8, ink bright on black
  torch::Tensor labels;  // (N) int64, 0..9
};

// One IDX file (plain or .gz) as a uint8 tensor of its dimensions. Throws
// UserError naming the file when it is missing, truncated, or not unsigned-byte IDX.
torch::Tensor read_idx(const std::string& path);

// split: "train" (60,000 images) or "test" (10,000). Throws UserError naming the
// file (and the package to install) when the data is absent or malformed.
FashionMnist load_fashion_mnist(const std::string& dir, const std::string& split);

// The ten class names as single words, so that a caption's noun is one token:
// tshirt trouser pullover dress coat sandal shirt sneaker bag boot.
const std::vector<std::string>& fashion_mnist_classes();

}  // namespace attnzoo
