#pragma once
// The Karpathy split files (dataset_flickr8k.json, dataset_flickr30k.json,
// dataset_coco.json) that most captioning work uses:
//   {"images": [{"filename": "x.jpg", "filepath": "val2014" (COCO only),
//                "split": "train" | "restval" | "val" | "test",
//                "sentences": [{"tokens": ["a", "dog", ...], "raw": "A dog ..."}, ...]}, ...]}
// and its writer (used to export the scenes in this format).
#include <string>
#include <vector>

namespace attnzoo {

struct KarpathyImage {
  std::string file;                   // filepath/filename, relative to the image folder
  std::string split;                  // "train" (also restval), "valid" or "test"
  std::vector<std::string> captions;  // tokens joined by spaces (raw where tokens are absent)
};

// Reads `path` (plain or .gz). Throws UserError naming the file and the
// image index for malformed JSON, a missing filename, an unknown split, or
// a file without images.
std::vector<KarpathyImage> read_karpathy(const std::string& path);

// Writes images (split "valid" written as "val") as a Karpathy file; each
// caption becomes raw text and whitespace-split tokens.
void write_karpathy(const std::string& path, const std::string& dataset,
                    const std::vector<KarpathyImage>& images);

}  // namespace attnzoo
