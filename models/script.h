#pragma once
// Each model's TorchScript (issue 40: a model owns its export). A module's
// computation is written again in TorchScript beside its C++ (models/x.ts
// beside models/x.cpp), embedded at build time; where its options decide the
// code (layers, cells, kinds), models/x_script.cpp fills the .ts template in
// from the module, declared in the model's own header (attention_source in
// models/attention.h, ...). export/ only mirrors the tensors, defines these
// sources on the mirrored module, and saves it.
//
// The sources here are what every model's source builds on. Inside define()
// source dtypes are their ScalarType numbers (torch.long is not a name
// there): 4 long, 6 float, 7 double, 11 bool.
#include <torch/script.h>
#include <torch/torch.h>

#include <string>

namespace attnzoo {

class DecoderImpl;

// def linear(self, x, w, b: Optional[Tensor]) -> Tensor: aten::linear, as the C++ modules.
extern const char* const kLinearSource;

// greedy(memory, state, limits: List[int]) and beam(memory, state, limits,
// beam: int, alpha: float), each -> (ids (B,T) padded with 0, scores (B),
// attention (B,T,S)), driving a model's step() exactly as models/search.cpp
// drives a StepModel; the module needs int attributes `pad`, `bos`, `eos`,
// `n_best` and float `alpha`.
//
// Every sequence model exports that decoding interface:
//   step(self, tokens: Tensor, memory: List[Tensor], state: List[Tensor])
//       -> Tuple[Tensor, Tensor, List[Tensor]]
// giving log-probabilities (N,V), attention weights (N,S) and the next state,
// with the rows of `memory` and `state` reordered by index_select(0, rows).
extern const char* const kSearchSource;

// torch.conv2d(x, <path>.weight, <path>.bias or None, stride, padding): a
// convolution as the module has it (its stride and padding read from it).
std::string conv2d_source(const torch::nn::Conv2dImpl& conv, const std::string& path,
                          const std::string& x);

// torch.batch_norm(x, ...) of a BatchNorm2d in eval mode at a mirrored path.
std::string bn_source(const torch::nn::BatchNorm2dImpl& bn, const std::string& path,
                      const std::string& x);

// The int8 packed weights of a quantised decoder, as attributes of `root`
// (the module the methods are defined on) named for `path`; the decoder's
// mirrored fp32 weights that int8 replaces become empty tensors, so the file
// holds the int8 copies only (models/decoder_script.cpp).
void register_int8_decoder(torch::jit::Module& root, const DecoderImpl& decoder,
                           const std::string& path);

}  // namespace attnzoo
