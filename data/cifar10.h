#pragma once
// CIFAR-10's binary version (cifar-10-binary.tar.gz, extracted), read by path:
// data_batch_1.bin ... data_batch_5.bin (50,000 training images) and
// test_batch.bin (10,000). Each record is 1 label byte (0-9) and 3,072 pixel
// bytes: the 32x32 red plane, then green, then blue, each row by row.
#include <torch/torch.h>

#include <string>
#include <vector>

#include "data/fashion_mnist.h"

namespace attnzoo {

inline constexpr int64_t kCifarSide = 32;
inline constexpr int64_t kCifarRecordBytes = 1 + 3 * kCifarSide * kCifarSide;  // 3073

// One batch file as images (N,32,32,3) uint8 RGB (the layout read_image
// gives) and labels (N) int64. Throws UserError naming the file when it is
// missing, empty, cut inside a record or holds a label above 9.
FashionMnist read_cifar10_batch(const std::string& path);

// split: "train" (the five data batches, in order) or "test". `dir` is the
// extracted folder (cifar-10-batches-bin) or the folder holding it.
FashionMnist load_cifar10(const std::string& dir, const std::string& split);

// The names of CIFAR-10's classes, in label order.
const std::vector<std::string>& cifar10_classes();

}  // namespace attnzoo
