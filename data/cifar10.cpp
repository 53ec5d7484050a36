#include "data/cifar10.h"

#include <cstring>

#include "data/error.h"
#include "data/text_io.h"

namespace attnzoo {

FashionMnist read_cifar10_batch(const std::string& path) {
  if (!file_exists(path))
    throw UserError(
        "{}: no such file (CIFAR-10's binary version: data_batch_1.bin ... data_batch_5.bin and "
        "test_batch.bin)",
        path);
  const std::string bytes = read_bytes(path);
  const auto size = static_cast<int64_t>(bytes.size());
  if (size == 0) throw UserError("{}: empty, not a CIFAR-10 batch", path);
  if (size % kCifarRecordBytes != 0)
    throw UserError(
        "{}: truncated or not a CIFAR-10 batch: {} bytes is {} whole records of {} bytes and {} "
        "bytes of record {}",
        path, size, size / kCifarRecordBytes, kCifarRecordBytes, size % kCifarRecordBytes,
        size / kCifarRecordBytes + 1);
  const int64_t n = size / kCifarRecordBytes;
  auto records = torch::empty({n, kCifarRecordBytes}, torch::kUInt8);
  std::memcpy(records.data_ptr<uint8_t>(), bytes.data(), bytes.size());
  FashionMnist data;
  data.labels = records.select(1, 0).to(torch::kLong);
  const auto bad = data.labels.gt(9).nonzero();
  if (bad.size(0) > 0) {
    const int64_t record = bad[0][0].item<int64_t>();
    throw UserError(
        "{}: record {} has label {}, not 0-9 (CIFAR-100's records are 3,074 bytes: this reader "
        "is for CIFAR-10)",
        path, record + 1, data.labels[record].item<int64_t>());
  }
  data.images =
      records.slice(1, 1).view({n, 3, kCifarSide, kCifarSide}).permute({0, 2, 3, 1}).contiguous();
  return data;
}

FashionMnist load_cifar10(const std::string& dir, const std::string& split) {
  if (split != "train" && split != "test")
    throw UserError("CIFAR-10 split \"{}\" is not one of train, test", split);
  if (dir.empty())
    throw UserError(
        "config: data.cifar10 is empty: set it to the folder of CIFAR-10's binary batches "
        "(cifar-10-batches-bin)");
  std::string folder = dir;
  if (!file_exists(folder + "/test_batch.bin") &&
      file_exists(folder + "/cifar-10-batches-bin/test_batch.bin"))
    folder += "/cifar-10-batches-bin";
  std::vector<std::string> files;
  if (split == "test")
    files.push_back(folder + "/test_batch.bin");
  else
    for (int i = 1; i <= 5; ++i) files.push_back(fmt::format("{}/data_batch_{}.bin", folder, i));
  std::vector<torch::Tensor> images, labels;
  for (const auto& f : files) {
    auto part = read_cifar10_batch(f);
    images.push_back(part.images);
    labels.push_back(part.labels);
  }
  return {torch::cat(images), torch::cat(labels)};
}

const std::vector<std::string>& cifar10_classes() {
  static const std::vector<std::string> names = {
      "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};
  return names;
}

}  // namespace attnzoo
