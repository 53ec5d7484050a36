#include "data/fashion_mnist.h"

#include <fmt/ranges.h>

#include "data/error.h"
#include "data/text_io.h"

namespace attnzoo {
namespace {

uint32_t big_endian_u32(const std::string& bytes, size_t offset) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(bytes[offset + i]);
  return v;
}

}  // namespace

torch::Tensor read_idx(const std::string& path) {
  const std::string bytes = read_bytes(path);
  // Header: two zero bytes, a type code (0x08: unsigned byte), the number of
  // dimensions, then each dimension as a big-endian uint32.
  if (bytes.size() < 4 || bytes[0] != 0 || bytes[1] != 0)
    throw UserError("{}: not an IDX file (bad magic number)", path);
  if (static_cast<unsigned char>(bytes[2]) != 0x08)
    throw UserError("{}: IDX element type 0x{:02x} is not unsigned byte (0x08)", path,
                    static_cast<unsigned char>(bytes[2]));
  const size_t rank = static_cast<unsigned char>(bytes[3]);
  if (rank == 0 || bytes.size() < 4 + 4 * rank) throw UserError("{}: truncated IDX header", path);
  std::vector<int64_t> sizes;
  size_t count = 1;
  for (size_t d = 0; d < rank; ++d) {
    const size_t size = big_endian_u32(bytes, 4 + 4 * d);
    sizes.push_back(static_cast<int64_t>(size));
    // Checked before multiplying: sizes whose product wraps around must not
    // pass for the file's length (found by make fuzz, fuzz/corpus/idx/).
    if (size != 0 && count > bytes.size() / size)
      throw UserError("{}: its IDX header says {}, more data than the file's {} bytes", path,
                      fmt::join(sizes, " x "), bytes.size());
    count *= size;
  }
  const size_t header = 4 + 4 * rank;
  if (bytes.size() != header + count)
    throw UserError("{}: IDX data holds {} bytes, its header says {}", path, bytes.size() - header,
                    count);
  auto t = torch::empty(sizes, torch::kUInt8);
  if (count > 0)  // an empty tensor's data pointer is null
    std::memcpy(t.data_ptr<uint8_t>(), bytes.data() + header, count);
  return t;
}

FashionMnist load_fashion_mnist(const std::string& dir, const std::string& split) {
  if (split != "train" && split != "test")
    throw UserError("Fashion-MNIST split \"{}\" is not one of train, test", split);
  const std::string prefix = dir + "/" + (split == "train" ? "train" : "t10k");
  const std::string images_path = prefix + "-images-idx3-ubyte.gz";
  const std::string labels_path = prefix + "-labels-idx1-ubyte.gz";
  if (!file_exists(images_path))
    throw UserError(
        "{}: no such file (Fashion-MNIST comes from Debian's dataset-fashion-mnist: run "
        "scripts/setup)",
        images_path);
  FashionMnist data;
  data.images = read_idx(images_path);
  data.labels = read_idx(labels_path).to(torch::kLong);
  if (data.images.dim() != 3 || data.images.size(1) != 28 || data.images.size(2) != 28)
    throw UserError("{}: expected N x 28 x 28 images, got {}", images_path,
                    fmt::join(data.images.sizes(), "x"));
  if (data.labels.dim() != 1 || data.labels.size(0) != data.images.size(0))
    throw UserError("{}: {} labels for {} images", labels_path, data.labels.numel(),
                    data.images.size(0));
  if (data.labels.max().item<int64_t>() > 9) throw UserError("{}: a label above 9", labels_path);
  return data;
}

const std::vector<std::string>& fashion_mnist_classes() {
  static const std::vector<std::string> names = {"tshirt", "trouser", "pullover", "dress", "coat",
                                                 "sandal", "shirt",   "sneaker",  "bag",   "boot"};
  return names;
}

}  // namespace attnzoo
