#include "data/images.h"

#include <ATen/Parallel.h>
#include <unistd.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <mutex>

#include "data/error.h"
#include "data/files.h"

namespace attnzoo {
namespace {

// Runs `decode` with the process's stderr sent to a temporary file and
// returns what was written there on one line, so that a codec library's own
// messages ("libpng error: Read Error") become part of the app's one line
// instead of printing before it. Inside a parallel region (bulk loading)
// `decode` runs as is: redirecting stderr is process-wide.
std::string capture_stderr(const std::function<void()>& decode) {
  static std::mutex mutex;
  if (at::in_parallel_region()) {
    decode();
    return "";
  }
  const std::lock_guard<std::mutex> guard(mutex);
  std::fflush(stderr);
  FILE* sink = std::tmpfile();
  const int saved = sink != nullptr ? ::dup(2) : -1;
  if (saved < 0) {
    if (sink != nullptr) std::fclose(sink);
    decode();
    return "";
  }
  ::dup2(::fileno(sink), 2);
  auto restore = [&] {
    std::fflush(stderr);
    ::dup2(saved, 2);
    ::close(saved);
  };
  try {
    decode();
  } catch (...) {
    restore();
    std::fclose(sink);
    throw;
  }
  restore();
  std::string said;
  std::rewind(sink);
  for (int c = std::fgetc(sink); c != EOF && said.size() < 500; c = std::fgetc(sink))
    said.push_back(c == '\n' ? ' ' : static_cast<char>(c));
  std::fclose(sink);
  while (!said.empty() && said.back() == ' ') said.pop_back();
  return said;
}

}  // namespace

namespace {

// A decoded image (BGR or grey) to the tensor ImageReadOptions ask for.
torch::Tensor fit_image(cv::Mat img, const ImageReadOptions& o) {
  const int side = static_cast<int>(o.side);
  if (o.centre_crop) {
    const double scale = static_cast<double>(side) / std::min(img.cols, img.rows);
    const int w = std::max(side, static_cast<int>(std::lround(img.cols * scale)));
    const int h = std::max(side, static_cast<int>(std::lround(img.rows * scale)));
    cv::resize(img, img, cv::Size(w, h), 0, 0, scale < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
    img = img(cv::Rect((w - side) / 2, (h - side) / 2, side, side)).clone();
  } else {
    cv::resize(img, img, cv::Size(side, side), 0, 0, cv::INTER_AREA);
  }
  if (o.grey) return torch::from_blob(img.data, {o.side, o.side}, torch::kUInt8).clone();
  cv::cvtColor(img, img, cv::COLOR_BGR2RGB);
  return torch::from_blob(img.data, {o.side, o.side, 3}, torch::kUInt8).clone();
}

}  // namespace

namespace {

// Runs `decode` (cv::imread or cv::imdecode) with the codec's own messages
// captured; the image fitted to `o`, or UserError naming `where`.
torch::Tensor decode_checked(const std::function<cv::Mat()>& decode, const ImageReadOptions& o,
                             const std::string& where) {
  cv::Mat img;
  std::string said;
  try {
    if (o.capture_codec_messages) {
      said = capture_stderr([&] { img = decode(); });
    } else {
      img = decode();
    }
  } catch (const cv::Exception& e) {
    throw UserError("{}: cannot decode the image ({})", where, e.what());
  }
  if (img.empty())
    throw UserError("{}: not an image OpenCV can decode{}", where,
                    said.empty() ? "" : " (" + said + ")");
  return fit_image(img, o);
}

}  // namespace

torch::Tensor read_image(const std::string& path, const ImageReadOptions& o) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw UserError("{}: no such image file", path);
  const int flags = o.grey ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR;
  return decode_checked([&] { return cv::imread(path, flags); }, o, path);
}

torch::Tensor decode_image(const std::string& bytes, const ImageReadOptions& o,
                           const std::string& where) {
  if (bytes.empty()) throw UserError("{}: empty image", where);
  const cv::Mat buffer(1, static_cast<int>(bytes.size()), CV_8UC1, const_cast<char*>(bytes.data()));
  const int flags = o.grey ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR;
  return decode_checked([&] { return cv::imdecode(buffer, flags); }, o, where);
}

void write_image(const std::string& path, const torch::Tensor& pixels) {
  const auto px = pixels.to(torch::kUInt8).contiguous();
  const bool colour = px.dim() == 3;
  // A view of the caller's pixels: converted into a new Mat, never in place.
  const cv::Mat view(static_cast<int>(px.size(0)), static_cast<int>(px.size(1)),
                     colour ? CV_8UC3 : CV_8UC1, px.data_ptr());
  cv::Mat m;
  if (colour) {
    cv::cvtColor(view, m, cv::COLOR_RGB2BGR);
  } else {
    m = view;
  }
  write_image(path, m);
}

void write_image(const std::string& path, const cv::Mat& image) {
  const std::string ext = std::filesystem::path(path).extension().string();
  std::vector<uchar> bytes;
  bool ok = false;
  try {
    ok = !ext.empty() && cv::imencode(ext, image, bytes);
  } catch (const cv::Exception&) {
    ok = false;
  }
  if (!ok)
    throw UserError("{}: cannot write the image (no image format for the extension \"{}\")", path,
                    ext);
  write_file_atomically(path,
                        std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()),
                        "the image");
}

torch::Tensor augment(const torch::Tensor& images, const AugmentOptions& o) {
  if (!o.any()) return images;
  const int64_t b = images.size(0), h = images.size(2), w = images.size(3);
  auto x = images;
  if (o.flip) {
    const auto mirror = torch::rand({b}).lt(0.5).view({b, 1, 1, 1});
    x = torch::where(mirror, x.flip({3}), x);
  }
  if (o.shift > 0) {
    // Replicate-pad, then cut an h x w window at a random offset per image.
    const int64_t s = o.shift;
    const auto padded = torch::nn::functional::pad(
        x, torch::nn::functional::PadFuncOptions({s, s, s, s}).mode(torch::kReplicate));
    const auto offsets = torch::randint(0, 2 * s + 1, {b, 2}, torch::kLong);
    const auto off = offsets.accessor<int64_t, 2>();
    std::vector<torch::Tensor> windows;
    windows.reserve(static_cast<size_t>(b));
    for (int64_t i = 0; i < b; ++i)
      windows.push_back(
          padded[i].slice(1, off[i][0], off[i][0] + h).slice(2, off[i][1], off[i][1] + w));
    x = torch::stack(windows);
  }
  if (o.contrast > 0) {
    const auto factor = 1.0 + (torch::rand({b, 1, 1, 1}) * 2 - 1) * o.contrast;
    const auto mean = x.mean({1, 2, 3}, /*keepdim=*/true);
    x = (x - mean) * factor + mean;
  }
  if (o.brightness > 0) x = x * (1.0 + (torch::rand({b, 1, 1, 1}) * 2 - 1) * o.brightness);
  return x.clamp(0.0, 1.0);
}

}  // namespace attnzoo
