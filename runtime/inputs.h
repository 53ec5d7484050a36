#pragma once
// What every kind reads a request's values with (runtime/kind.h): bounded
// integers, base64, images checked by their header before they are decoded,
// and tensors and string lists back into JSON.
#include <torch/script.h>

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "data/images.h"
#include "runtime/kind.h"

namespace attnzoo::runtime {

// A 400 saying `what`.
RequestError bad(const std::string& what);

// A value as an error message may quote it: its JSON, cut at 60 characters.
std::string brief(const nlohmann::json& v);

// An integer field in [lo, hi]; `fallback` when absent. Form fields arrive as
// strings, and are read as integers too.
int64_t integer(const nlohmann::json& request, const std::string& key, int64_t lo, int64_t hi,
                int64_t fallback);

// Width and height from a PNG's or a JPEG's header, read before anything is
// decoded; {0, 0} for any other bytes.
std::pair<int64_t, int64_t> image_size(const std::string& bytes);

// Standard base64 (RFC 4648), padding optional, whitespace and a data URL's
// "data:...;base64," prefix ignored.
std::string decode_base64(const std::string& text, const std::string& where);
// Bytes as standard base64, padded (what a client sends an image as).
std::string encode_base64(const std::string& bytes);

// How the app that exported `module` read its images (its image_side,
// image_grey and image_crop attributes).
ImageReadOptions image_options(const torch::jit::Module& module);

// An image file's bytes as the model reads them: uint8 (S,S,3) RGB or (S,S)
// grey; 400 for bytes that are no PNG or JPEG, 413 past limits.max_image_pixels.
torch::Tensor request_image(const std::string& bytes, const std::string& where,
                            const torch::jit::Module& module, const Limits& limits);

// A 2-D tensor as rows of numbers.
nlohmann::json tensor_rows(const torch::Tensor& t);

// A TorchScript List[str].
std::vector<std::string> strings(const c10::IValue& v);

// The JSON Schemas kinds build theirs from.
nlohmann::json integer_schema(int64_t lo, int64_t hi);
nlohmann::json array_of(nlohmann::json items, int64_t min_items = 0, int64_t max_items = -1);
// An object with exactly these properties, `required` among them.
nlohmann::json closed_object(nlohmann::json properties, std::vector<std::string> required);

}  // namespace attnzoo::runtime
