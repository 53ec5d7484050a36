#pragma once
// Image files in and out (OpenCV), and the training-time augmentation of a
// batch. Images are uint8 tensors: (H,W) grey or (H,W,3) RGB.
#include <torch/torch.h>
#include <opencv2/core.hpp>

#include <string>

namespace attnzoo {

struct ImageReadOptions {
  int64_t side = 224;  // output is side x side
  bool grey = false;   // (H,W) instead of (H,W,3)
  // true: scale the shorter side to `side` and cut the centre square (photos);
  // false: stretch the whole image to side x side (the scenes canvas).
  bool centre_crop = true;
  // true: a codec's own messages ("libpng error: ...") become part of the
  // error, caught by pointing the process's stderr at a file while it
  // decodes; false where other threads write to stderr meanwhile (a server).
  bool capture_codec_messages = true;
};

// Reads an image file (any format OpenCV decodes: JPEG, PNG, ...). Throws
// UserError naming the file when it is missing or cannot be decoded.
torch::Tensor read_image(const std::string& path, const ImageReadOptions& options);
// The same from the bytes of an image file (an upload); `where` names it in errors.
torch::Tensor decode_image(const std::string& bytes, const ImageReadOptions& options,
                           const std::string& where);

// Writes a uint8 (H,W) or (H,W,3) RGB tensor; the format follows the extension.
void write_image(const std::string& path, const torch::Tensor& pixels);
// Writes an OpenCV image (BGR or grey) atomically (data/files.h); the format
// follows the extension. UserError names the path on failure.
void write_image(const std::string& path, const cv::Mat& image);

// Random changes applied to a training batch, each image drawn separately
// from torch's default generator (so a resumed run draws the same ones).
struct AugmentOptions {
  bool flip =
      false;  // mirror left-right with probability 1/2 (not for captions that say "left of")
  int64_t shift = 0;        // translate by up to this many pixels each way (edges replicated)
  double brightness = 0.0;  // scale intensities by a factor in [1-b, 1+b]
  double contrast = 0.0;    // scale the difference from the image mean by [1-c, 1+c]
  bool any() const { return flip || shift > 0 || brightness > 0 || contrast > 0; }
};

// images: (B,C,H,W) floats in [0,1]; returns the augmented batch, clamped to [0,1].
torch::Tensor augment(const torch::Tensor& images, const AugmentOptions& options);

}  // namespace attnzoo
