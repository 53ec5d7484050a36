#pragma once
// TorchScript export (ARCHITECTURE.md). LibTorch 1.13 has no C++ script(), so an
// exported model is a torch::jit::Module that holds copies of the trained
// tensors under the trained module's names (mirror()), with methods written in
// TorchScript source and compiled with define(). The file needs nothing else:
// Python loads it with torch.jit.load, C++ with torch::jit::load.
#include <torch/nn/module.h>
#include <torch/script.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace attnzoo {

class GlimpseClassifier;
class Translator;
class Captioner;
class Forecasting;

// A jit module with `module`'s parameters and buffers (copied, detached) and
// its children, recursively, under the same names (a name that starts with a
// digit, as in Sequential and ModuleList, gets a leading "_": "layer1._0"),
// each level with a bool `training` attribute (false). `type_name` names its
// TorchScript class.
torch::jit::Module mirror(const torch::nn::Module& module, const std::string& type_name);

// The glimpse classifier: forward(images: Tensor) -> Tuple[Tensor, Tensor]
// with images (B,1,S,S) floats in [0,1]; returns the logits (B,10) and where
// each glimpse looked, (B,G,2) as (x, y) in [-1,1] (G = 0 for the
// whole-image models). Deterministic: RAM looks at its policy's mean.
// preprocess(pixels: Tensor) -> Tensor turns uint8 (B,S,S) into those images;
// attributes image_side, image_grey, image_crop (as the captioner's) and
// classes: List[str], the label names.
torch::jit::Module export_glimpse(const GlimpseClassifier& classifier);

// The translator, its vocabularies and tokenizers inside:
//   forward(src: Tensor, src_lengths: Tensor) -> Tuple[Tensor, Tensor]
//       greedy decoding of a padded batch of source ids (B,S) (each row ends
//       with <eos>), giving output ids (B,T) (each row ends with <eos> unless
//       cut at the length limit, then 0-padded) and attention (B,T,S);
//   beam_search(src, src_lengths, beam: int, max_len: int)
//       -> (ids (B,T), scores (B), attention (B,T,S)), the C++ search with the
//       checkpoint's length penalty; max_len > 0 caps the length limit;
//   translate(text: str) -> str and attention(text: str) ->
//       (source tokens, output tokens, attention (T,S)), with the checkpoint's
//       beam, for word and character tokenizers, which also have
//   translate_batch(texts: List[str], beam: int, n_best: int) -> per text, up
//       to n_best (translation, score, source tokens, output tokens,
//       attention (T,S)), best first: the texts as one padded batch (beam < 1:
//       the checkpoint's; n_best 1 gives translate()'s translation). For SentencePiece models they
//       take and give ids of the vocabularies (attributes src_ids: Dict[str,int],
//       tgt_tokens: List[str]), and `files` receives the models as src.spm and tgt.spm.
torch::jit::Module export_translator(const Translator& translator,
                                     torch::jit::ExtraFilesMap* files = nullptr);

// The captioner, its ResNet and vocabulary inside:
//   forward(images: Tensor) -> Tuple[Tensor, Tensor]: greedy captions (ids
//       (B,T) as above) and attention (B,T,L) from normalised images (B,3,H,W);
//   beam_search(images, beam: int) -> (ids, scores, alphas);
//   caption(image: Tensor, beam: int) -> str for one normalised image (3,H,W) or (1,3,H,W);
//   preprocess(pixels: Tensor) -> Tensor: uint8 (B,H,W,3) RGB or (B,H,W) grey,
//       already image_side x image_side, to the network's input.
// Attributes image_side, image_grey and image_crop say how to read image files.
torch::jit::Module export_captioner(const Captioner& captioner);

// The forecaster, its scaler inside: forward(values: Tensor) -> (forecast,
// attention) from a window (B,L,F) of the input channels in the CSV's units
// (attribute `channels`, the target at index `target`), giving the next H
// values of the target in its units (B,H) and attention (B,H,L) (zeros for
// the linear model). Models with calendar features take forward(values,
// times) with times (B,L+H,4) as data/timeseries.h's time_features().
torch::jit::Module export_forecaster(const Forecasting& forecasting);

// What an exported file offers a user: the methods and attributes called
// besides forward (kept when the file is frozen), and the lines `APP export`
// prints about them. Each beside its export_* function.
struct ExportedMethods {
  std::vector<std::string> keep;
  std::string usage;
};
// `text`: the translator's tokenizers run inside the file (word, char);
// false: a SentencePiece translator, ids in and out.
ExportedMethods translator_methods(bool text);
ExportedMethods captioner_methods();
ExportedMethods glimpse_methods(const GlimpseClassifier& classifier);
ExportedMethods forecaster_methods(const Forecasting& forecasting);

// torch::jit::freeze (weights become constants, BatchNorm folds into the
// convolutions), then optimize_for_inference where its result can still be
// saved and loaded (*optimized says whether it was kept). `keep` names every
// method and attribute a user calls besides forward.
torch::jit::Module freeze_export(const torch::jit::Module& module,
                                 const std::vector<std::string>& keep, bool* optimized = nullptr);

// Saves `module` with the extra file "attnzoo.json": {"app", "version",
// "config", "frozen"}, and `files` beside it.
void save_export(const torch::jit::Module& module, const std::string& path, const std::string& app,
                 const nlohmann::json& config, bool frozen = false,
                 const torch::jit::ExtraFilesMap& files = {});

}  // namespace attnzoo
