#pragma once
// What the kinds that take images share (captioner, classifier): an image as
// base64 in JSON ("image", "images") or as an uploaded file, read as the app
// that exported the file read its images, and preprocessed as one batch by
// the file's own preprocess().
#include <string>
#include <vector>

#include "runtime/kind.h"

namespace attnzoo::runtime {

class ImageKind : public ExportedKind {
 public:
  using ExportedKind::ExportedKind;

  std::string one_field() const override { return "image"; }
  std::string many_field() const override { return "images"; }
  bool takes_uploads() const override { return true; }
  void read(const nlohmann::json& value, const std::string& where, const Limits& limits,
            Input& into) const override;
  void read_upload(const std::string& bytes, const std::string& where, const Limits& limits,
                   Input& into) const override;
  std::optional<Input> warm_up_input() const override;

 protected:
  // The inputs' images, preprocessed as one batch: (B,C,H,W).
  torch::Tensor preprocess(const std::vector<Input>& inputs);
  // An image file given to zoo-run, as one input.
  Input read_file(const std::string& path) const;
  // The request schema of one input.
  static nlohmann::json input_schema();
};

}  // namespace attnzoo::runtime
