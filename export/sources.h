#pragma once
// TorchScript source shared by the exported models (export/ only).
//
// Every sequence model exports the same decoding interface: a method
//   step(self, tokens: Tensor, memory: List[Tensor], state: List[Tensor])
//       -> Tuple[Tensor, Tensor, List[Tensor]]
// giving log-probabilities (N,V), attention weights (N,S) and the next state,
// with the rows of `memory` and `state` reordered by index_select(0, rows).
// greedy() and beam() drive it exactly as models/search.cpp drives a StepModel.
#include <torch/script.h>
#include <torch/torch.h>

#include <string>

namespace attnzoo {

class AttentionImpl;
class CaptionDecoderImpl;
class DecoderImpl;
class EncoderImpl;
class ResNetImpl;
class ResidualAttentionNetImpl;
class Vocab;
struct TokenizerOptions;

// Inside define() source dtypes are their ScalarType numbers (torch.long is
// not a name there): 4 long, 6 float, 7 double, 11 bool.

// def linear(self, x, w, b: Optional[Tensor]) -> Tensor: aten::linear, as the C++ modules.
extern const char* const kLinearSource;

// greedy(memory, state, limits: List[int]) and beam(memory, state, limits,
// beam: int, alpha: float), each -> (ids (B,T) padded with 0, scores (B),
// attention (B,T,S)); the module needs int attributes `pad`, `bos`, `eos`,
// `n_best` and float `alpha` (register_search_attributes).
extern const char* const kSearchSource;

// def attend(self, query, values, keys, mask, summary) -> (context, weights)
// for `attention`, whose mirrored parameters live under `path` (e.g.
// "self.decoder.attention"); and def keys(self, values) -> Tensor, the
// per-sequence key projection (AttentionImpl::prepare).
std::string attention_source(const AttentionImpl& attention, const std::string& path);

// The encoder of models/encoder.cpp mirrored under `path` (e.g.
// "self.encoder"), over embedded steps: def encode_steps(self, x (B,S,E),
// src_lengths (B)) -> (values (B,S,D), summary (B,D)), each direction of
// each layer a one-layer aten RNN (the call torch::nn::GRU/LSTM makes), the
// backward one over each row reversed within its length.
std::string encoder_source(const EncoderImpl& encoder, const std::string& path);

// The decoder of models/decoder.cpp mirrored under `path`:
// initial_state(summary) -> state, decode_step(e, memory, state) ->
// (features, weights, state) from an embedded input (B,E), and
// output_input(features) -> what the output layer reads, project(features) ->
// logits; state is h per layer, then c per layer (LSTM); memory [values,
// keys, mask, summary, ...]. Calls self.attend (attention_source). A decoder
// quantised to int8 (DecoderImpl::quantize_int8) runs its cells and output
// layers with torch.ops.quantized over the packed weights that
// register_int8_decoder puts on the root module.
std::string decoder_source(const DecoderImpl& decoder, const std::string& path);

// define()'s resolver for generated sources: torch.* as LibTorch's own, and
// quantized.* the quantised operators (torch.ops.quantized in Python), which
// int8 decoders call.
torch::jit::ResolverPtr export_resolver();

// The int8 packed weights of a quantised decoder, as attributes of `root`
// (the module the methods are defined on) named for `path`; the decoder's
// mirrored fp32 weights that int8 replaces become empty tensors, so the file
// holds the int8 copies only.
void register_int8_decoder(torch::jit::Module& root, const DecoderImpl& decoder,
                           const std::string& path);

// The Show-Attend-Tell decoder of models/captioner.cpp mirrored under `path`:
// caption_start(values (B,L,D)) -> (memory, state [h, c]) and
// step(tokens, memory, state) -> (log-probabilities (B,V), alpha (B,L),
// state), with the context output (eq. 7) or the mixture, as the module has.
// Calls self.attend (attention_source).
std::string caption_decoder_source(const CaptionDecoderImpl& decoder, const std::string& path);

// Text in TorchScript, whose strings are bytes: code_points(text),
// utf8_char(c), lower(c), is_space(c), is_punct(c) as data/utf8, and
// tokens_<name>(text) -> List[str], text_<name>(tokens) -> str for the word
// and character tokenizers of data/tokenizer.cpp, where <name> is "src", "tgt"
// or whatever side is named. Needs the str attributes `joiner` and `space_symbol`.
extern const char* const kTextSource;
std::string tokenizer_source(const TokenizerOptions& options, const std::string& name);

// Registers `vocab` as attributes <name>_ids: Dict[str, int] and <name>_tokens: List[str].
void register_vocab(torch::jit::Module& module, const Vocab& vocab, const std::string& name);
// def decode_<name>(self, ids: List[int]) -> List[str]: Vocab::decode.
std::string vocab_decode_source(const std::string& name);

// torch.conv2d(x, <path>.weight, <path>.bias or None, stride, padding): a
// convolution as the module has it (its stride and padding read from it).
std::string conv2d_source(const torch::nn::Conv2dImpl& conv, const std::string& path,
                          const std::string& x);

// def resnet(self, images) -> Tensor (B,L,D), ResNetImpl::locations, for the
// trunk mirrored under `path`.
std::string resnet_source(const ResNetImpl& resnet, const std::string& path);

// def residual_attention(self, images) -> Tuple[Tensor, List[Tensor]]: the
// logits and each module's mask, as ResidualAttentionNetImpl::forward, for the
// network mirrored under `path`; uses self.linear (kLinearSource).
std::string residual_attention_source(const ResidualAttentionNetImpl& net, const std::string& path);

}  // namespace attnzoo
