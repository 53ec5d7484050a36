#pragma once
// CIDEr-D (Vedantam et al. 2015) as the COCO caption evaluation code computes
// it: TF-IDF vectors of 1- to 4-grams, document frequencies over the
// references of the evaluated set, the candidate's n-gram counts clipped by
// the reference's, a Gaussian penalty on the length difference (sigma 6),
// averaged over orders and references and scaled by 10.
#include <string>
#include <vector>

namespace attnzoo {

struct CiderScore {
  double score = 0.0;  // corpus CIDEr-D: the mean of per_image
  std::vector<double> per_image;
};

// candidates[i] is the caption generated for image i, references[i] its
// reference captions. Sentences are split on whitespace as given (tokenise and
// lower-case them first, as the COCO code's PTB tokenizer does).
CiderScore cider_d(const std::vector<std::string>& candidates,
                   const std::vector<std::vector<std::string>>& references, double sigma = 6.0);

}  // namespace attnzoo
