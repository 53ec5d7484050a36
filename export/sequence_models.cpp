// TorchScript export of the translator, the captioner and the forecaster:
// each module's TorchScript (models/*.ts, filled in by models/*_script.cpp) and
// the bundle's own methods (export/*.ts), compiled with define() over
// mirrored tensors (export/export.h).
#include <attnzoo/torchscript/export/captioner.h>
#include <attnzoo/torchscript/export/translator.h>
#include <attnzoo/torchscript/export/translator_ids.h>
#include <attnzoo/torchscript/export/translator_text.h>
#include <attnzoo/torchscript/models/seq2seq.h>
#include <fmt/format.h>

#include "data/error.h"
#include "data/tokenizer.h"
#include "export/export.h"
#include "export/sources.h"
#include "models/script.h"
#include "tasks/caption_config.h"
#include "tasks/captioner_training.h"
#include "tasks/forecasting.h"
#include "tasks/translate_config.h"
#include "tasks/translator_training.h"

namespace attnzoo {
namespace {

// The ids and the settings the search uses, as the C++ search has them, and
// the vocabulary's padding and unknown ids.
void register_search_attributes(torch::jit::Module& m, const SearchOptions& search) {
  m.register_attribute("pad", c10::IntType::get(), Vocab::kPad);
  m.register_attribute("unk", c10::IntType::get(), Vocab::kUnk);
  m.register_attribute("bos", c10::IntType::get(), search.bos);
  m.register_attribute("eos", c10::IntType::get(), search.eos);
  m.register_attribute("n_best", c10::IntType::get(), search.n_best);
  m.register_attribute("alpha", c10::FloatType::get(), search.length_penalty);
  m.register_attribute("coverage_penalty", c10::FloatType::get(), search.coverage_penalty);
  m.register_attribute("shared_memory", c10::IntType::get(), 0);
}

void register_text_attributes(torch::jit::Module& m) {
  m.register_attribute("joiner", c10::StringType::get(), kJoiner);
  m.register_attribute("space_symbol", c10::StringType::get(), kSpaceSymbol);
}

bool runs_in_torchscript(const Tokenizer& tokenizer) {
  return tokenizer.options().kind == "word" || tokenizer.options().kind == "char";
}

}  // namespace

torch::jit::Module export_translator(const Translator& translator,
                                     torch::jit::ExtraFilesMap* files) {
  const auto& model = *translator.model;
  const auto& decode = translator.config.at("decode");
  auto m = mirror(model, "attnzoo_translator");
  register_search_attributes(m, search_options(decode));
  m.register_attribute("max_len_ratio", c10::FloatType::get(),
                       decode.at("max_len_ratio").get<double>());
  m.register_attribute("max_len_offset", c10::IntType::get(),
                       decode.at("max_len_offset").get<int64_t>());
  m.register_attribute("default_beam", c10::IntType::get(), decode.at("beam").get<int64_t>());
  m.register_attribute("max_source_tokens", c10::IntType::get(),
                       decode.at("max_source_tokens").get<int64_t>());
  register_text_attributes(m);
  register_vocab(m, translator.src_vocab, "src");
  register_vocab(m, translator.tgt_vocab, "tgt");
  // The lexical shortlist (models/seq2seq.ts), empty when there is none; its
  // fp32 rows are the vocabulary projection's own tensors, stored once.
  const auto& out = m.attr("decoder").toModule().attr("out").toModule();
  const auto& sl = translator.shortlist;
  m.register_attribute("shared_memory", c10::IntType::get(), sl ? 3 : 0);
  m.register_attribute("shortlist_vocab", c10::IntType::get(), translator.tgt_vocab.size());
  m.register_buffer("shortlist_table", sl ? sl->table() : torch::zeros({1, 0}, torch::kLong));
  m.register_buffer("shortlist_always", sl ? sl->always() : torch::zeros({0}, torch::kLong));
  m.register_buffer("shortlist_weight", sl ? out.attr("weight").toTensor() : torch::zeros({0, 0}));
  m.register_buffer("shortlist_bias", sl ? out.attr("bias").toTensor() : torch::zeros({0}));
  register_int8_decoder(m, *model.decoder, "self.decoder");
  // define() compiles at once, so callees come first.
  m.define(kLinearSource);
  m.define(attention_source(*model.decoder->attention, "self.decoder.attention"));
  m.define(encoder_source(*model.encoder, "self.encoder"));
  m.define(decoder_source(*model.decoder, "self.decoder"), export_resolver());
  m.define(torchscript::models_seq2seq);
  m.define(kSearchSource);
  m.define(torchscript::export_translator);
  m.define(vocab_decode_source("tgt"));
  const bool text = runs_in_torchscript(*translator.src_tokenizer) &&
                    runs_in_torchscript(*translator.tgt_tokenizer);
  if (!text && translator.unk.replace)
    throw UserError(
        "--replace-unk: a SentencePiece translator's file takes and gives ids; replace <unk> "
        "outside it");
  if (text) {
    // translate() and translate_batch() replace <unk> as Translator::output_words does.
    c10::Dict<std::string, std::string> table;
    for (const auto& [source, target] : translator.unk.phrase_table) table.insert(source, target);
    m.register_attribute("replace_unk", c10::BoolType::get(), translator.unk.replace);
    m.register_attribute("phrase_table",
                         c10::DictType::create(c10::StringType::get(), c10::StringType::get()),
                         table);
    m.define(kTextSource);
    m.define(tokenizer_source(translator.src_tokenizer->options(), "src"));
    m.define(tokenizer_source(translator.tgt_tokenizer->options(), "tgt"));
    m.define(torchscript::export_translator_text);
  } else {
    m.define(torchscript::export_translator_ids);
    if (files != nullptr) {
      (*files)["src.spm"] = translator.src_tokenizer->model_bytes();
      (*files)["tgt.spm"] = translator.tgt_tokenizer->model_bytes();
    }
  }
  m.eval();
  return m;
}

ExportedMethods translator_methods(bool text) {
  const std::string input = text ? "text: str" : "ids: List[int]";
  const std::string output = text ? "str" : "List[int]";
  ExportedMethods m;
  m.keep = {"beam_search", "translate", "attention",  "src_ids",
            "src_tokens",  "tgt_ids",   "tgt_tokens", "default_beam"};
  m.usage = fmt::format(
      "  forward(src: Tensor (B,S) ids ending in <eos>, src_lengths: Tensor (B)) -> (ids (B,T), "
      "attention (B,T,S))\n"
      "  beam_search(src, src_lengths, beam: int, max_len: int) -> (ids, scores (B), attention)\n"
      "  translate({0}) -> {1}\n"
      "  attention({0}) -> (source tokens, output tokens, attention (T,S))",
      input, output);
  if (text) {
    m.keep.push_back("translate_batch");
    m.usage +=
        "\n  translate_batch(texts: List[str], beam: int, n_best: int) -> per text, up to n_best "
        "(translation, score, source tokens, output tokens, attention (T,S)), best first";
  } else {
    m.usage +=
        "\n  SentencePiece models: extra files src.spm and tgt.spm; vocabularies: src_ids, "
        "tgt_tokens";
  }
  return m;
}

torch::jit::Module export_captioner(const Captioner& captioner) {
  const auto& net = *captioner.model;
  const auto& decode = captioner.config.at("decode");
  auto m = mirror(net, "attnzoo_captioner");
  register_search_attributes(m, captioner.search_options());
  m.register_attribute("max_length", c10::IntType::get(), decode.at("max_length").get<int64_t>());
  m.register_attribute("default_beam", c10::IntType::get(), decode.at("beam").get<int64_t>());
  const auto read = caption_image_options(captioner.config.at("data"));
  m.register_attribute("image_side", c10::IntType::get(), read.side);
  m.register_attribute("image_grey", c10::BoolType::get(), read.grey);
  m.register_attribute("image_crop", c10::BoolType::get(), read.centre_crop);
  m.register_buffer("pixel_mean", torch::tensor(imagenet_mean(), torch::kFloat).view({1, 3, 1, 1}));
  m.register_buffer("pixel_std", torch::tensor(imagenet_std(), torch::kFloat).view({1, 3, 1, 1}));
  register_text_attributes(m);
  register_vocab(m, captioner.vocab, "caption");
  m.define(kLinearSource);
  m.define(resnet_source(*net.encoder, "self.encoder"));
  // encoder.positions: the position channels of the image_side grid (its size
  // read off the exported ResNet), as the C++ encode() appends them.
  torch::Tensor positions = torch::zeros({0, 0});
  if (net.position_frequencies() > 0) {
    torch::NoGradGuard no_grad;
    const auto map =
        m.run_method("resnet_map", torch::zeros({1, 3, read.side, read.side})).toTensor();
    positions = grid_positions(map.size(2), map.size(3), net.position_frequencies());
  }
  m.register_buffer("positions", positions);
  m.define(attention_source(*net.decoder->attention, "self.decoder.attention"));
  m.define(caption_decoder_source(*net.decoder, "self.decoder"));
  m.define(kSearchSource);
  m.define(kTextSource);
  m.define(tokenizer_source(captioner.tokenizer->options(), "caption"));
  m.define(vocab_decode_source("caption"));
  m.define(torchscript::export_captioner);
  m.eval();
  return m;
}

ExportedMethods captioner_methods() {
  return {{"beam_search", "caption", "caption_batch", "preprocess", "image_side", "image_grey",
           "image_crop", "default_beam"},
          "  forward(images: Tensor (B,3,H,W) normalised) -> (ids (B,T), attention (B,T,L))\n"
          "  beam_search(images, beam: int) -> (ids, scores (B), attention)\n"
          "  caption(image: Tensor (3,H,W), beam: int) -> str\n"
          "  caption_batch(images: Tensor (B,3,H,W), beam: int) -> List[str]\n"
          "  preprocess(pixels: Tensor uint8 (B,H,W,3) RGB or (B,H,W) grey) -> images"};
}

torch::jit::Module export_forecaster(const Forecasting& forecasting) {
  const auto& model = *forecasting.model;
  const auto& o = model.options;
  // The linear model's map goes under "linear_map": "linear" would hide the linear() helper.
  auto m =
      model.linear ? torch::jit::Module("attnzoo_forecaster") : mirror(model, "attnzoo_forecaster");
  if (model.linear) {
    m.register_attribute("training", c10::BoolType::get(), false);
    m.register_module("linear_map", mirror(*model.linear, "attnzoo_forecaster_linear_map"));
  }
  m.register_buffer("value_mean", forecasting.mean.to(torch::kFloat));
  m.register_buffer("value_std", forecasting.std.to(torch::kFloat));
  c10::List<std::string> channels;
  for (const auto& c : forecasting.channels) channels.push_back(c);
  m.register_attribute("channels", c10::ListType::ofStrings(), channels);
  m.register_attribute("target", c10::IntType::get(), forecasting.target_channel);
  m.register_attribute("input_len", c10::IntType::get(), o.input_len());
  m.register_attribute("horizon", c10::IntType::get(), o.horizon());
  m.register_attribute("time_features", c10::BoolType::get(), o.time_size() > 0);
  m.define(kLinearSource);
  for (const auto& source : forecaster_sources(model)) m.define(source);
  m.eval();
  return m;
}

ExportedMethods forecaster_methods(const Forecasting& f) {
  const std::string args =
      f.timed() ? fmt::format("values: Tensor (B,{},{}), times: Tensor (B,{},4)", f.input_len(),
                              f.channels.size(), f.input_len() + f.horizon())
                : fmt::format("values: Tensor (B,{},{})", f.input_len(), f.channels.size());
  return {
      {"channels", "target", "input_len", "horizon", "time_features"},
      fmt::format("  forward({}) -> (forecast (B,{}) of {}, attention (B,{},{}))\n  channels: {}",
                  args, f.horizon(), f.channels[static_cast<size_t>(f.target_channel)], f.horizon(),
                  f.input_len(), fmt::join(f.channels, ", "))};
}

}  // namespace attnzoo
