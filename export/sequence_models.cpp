// TorchScript export of the translator and the captioner: the encoder, the
// decoder's step and the searches of models/search.cpp, compiled with define()
// over mirrored tensors (export/export.h).
#include <attnzoo/torchscript/models/forecaster.h>
#include <attnzoo/torchscript/models/forecaster_linear.h>
#include <attnzoo/torchscript/models/forecaster_seq2seq.h>
#include <fmt/format.h>

#include "data/error.h"
#include "data/tokenizer.h"
#include "export/export.h"
#include "export/sources.h"
#include "tasks/captioning.h"
#include "tasks/forecasting.h"
#include "tasks/translation.h"

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
}

void register_text_attributes(torch::jit::Module& m) {
  m.register_attribute("joiner", c10::StringType::get(), kJoiner);
  m.register_attribute("space_symbol", c10::StringType::get(), kSpaceSymbol);
}

const char* const kTranslatorStepSource = R"JIT(
def encode(self, src: Tensor, src_lengths: Tensor) -> Tuple[List[Tensor], List[Tensor]]:
    values, summary = self.encode_steps(torch.embedding(self.encoder.embedding.weight, src, self.pad), src_lengths)
    memory = [values, self.keys(values), src.ne(self.pad), summary]
    return memory, self.initial_state(summary)

def step(self, tokens: Tensor, memory: List[Tensor], state: List[Tensor]) -> Tuple[Tensor, Tensor, List[Tensor]]:
    features, weights, state = self.decode_step(torch.embedding(self.decoder.embedding.weight, tokens, self.pad), memory, state)
    return torch.log_softmax(self.project(features), -1), weights, state
)JIT";

const char* const kTranslatorSearchSource = R"JIT(
def limits(self, src_lengths: Tensor, max_len: int) -> List[int]:
    lengths: List[int] = src_lengths.to(device=torch.device("cpu"), dtype=4).tolist()
    out: List[int] = []
    for n in lengths:
        limit = max(1, int(self.max_len_ratio * float(n)) + self.max_len_offset)
        if max_len > 0:
            limit = min(limit, max_len)
        out.append(limit)
    return out

def forward(self, src: Tensor, src_lengths: Tensor) -> Tuple[Tensor, Tensor]:
    memory, state = self.encode(src, src_lengths)
    ids, scores, weights = self.greedy(memory, state, self.limits(src_lengths, 0))
    return ids, weights

def beam_search(self, src: Tensor, src_lengths: Tensor, beam: int, max_len: int) -> Tuple[Tensor, Tensor, Tensor]:
    memory, state = self.encode(src, src_lengths)
    limits = self.limits(src_lengths, max_len)
    if beam > 1:
        return self.beam(memory, state, limits, beam, self.alpha)
    return self.greedy(memory, state, limits)

def run_ids(self, ids: List[int]) -> Tuple[List[int], Tensor]:
    device = self.decoder.out.weight.device
    src = torch.tensor([ids], dtype=4, device=device)
    lengths = torch.tensor([len(ids)], dtype=4)
    out, scores, weights = self.beam_search(src, lengths, self.default_beam, 0)
    out_ids: List[int] = out[0].tolist()
    return out_ids, weights[0]
)JIT";

// translate() and attention() on text (word and character tokenizers).
const char* const kTranslatorTextSource = R"JIT(
def source_ids(self, text: str) -> Tuple[List[str], List[int]]:
    tokens = self.tokens_src(text)
    ids: List[int] = []
    for t in tokens:
        ids.append(self.src_ids.get(t, self.unk))
    ids.append(self.eos)
    return tokens, ids

def translate(self, text: str) -> str:
    tokens, ids = self.source_ids(text)
    out, weights = self.run_ids(ids)
    return self.text_tgt(self.decode_tgt(out))

def attention(self, text: str) -> Tuple[List[str], List[str], Tensor]:
    tokens, ids = self.source_ids(text)
    out, weights = self.run_ids(ids)
    target: List[str] = []
    for i in out:
        target.append(self.tgt_tokens[i])
    return tokens + ["<eos>"], target, weights
)JIT";

// SentencePiece models: the pieces are made outside (with the .spm models
// saved beside the code); translate() and attention() take and give ids.
const char* const kTranslatorIdsSource = R"JIT(
def translate(self, ids: List[int]) -> List[int]:
    out, weights = self.run_ids(ids + [self.eos])
    result: List[int] = []
    for i in out:
        if i == self.eos:
            break
        result.append(i)
    return result

def attention(self, ids: List[int]) -> Tuple[List[str], List[str], Tensor]:
    source = ids + [self.eos]
    out, weights = self.run_ids(source)
    source_tokens: List[str] = []
    for i in source:
        source_tokens.append(self.src_tokens[i])
    target: List[str] = []
    for i in out:
        target.append(self.tgt_tokens[i])
    return source_tokens, target, weights
)JIT";

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
  register_text_attributes(m);
  register_vocab(m, translator.src_vocab, "src");
  register_vocab(m, translator.tgt_vocab, "tgt");
  // define() compiles at once, so callees come first.
  m.define(kLinearSource);
  m.define(attention_source(*model.decoder->attention, "self.decoder.attention"));
  m.define(encoder_source(*model.encoder, "self.encoder"));
  m.define(decoder_source(*model.decoder, "self.decoder"));
  m.define(kTranslatorStepSource);
  m.define(kSearchSource);
  m.define(kTranslatorSearchSource);
  m.define(vocab_decode_source("tgt"));
  const bool text = runs_in_torchscript(*translator.src_tokenizer) &&
                    runs_in_torchscript(*translator.tgt_tokenizer);
  if (text) {
    m.define(kTextSource);
    m.define(tokenizer_source(translator.src_tokenizer->options(), "src"));
    m.define(tokenizer_source(translator.tgt_tokenizer->options(), "tgt"));
    m.define(kTranslatorTextSource);
  } else {
    m.define(kTranslatorIdsSource);
    if (files != nullptr) {
      (*files)["src.spm"] = translator.src_tokenizer->model_bytes();
      (*files)["tgt.spm"] = translator.tgt_tokenizer->model_bytes();
    }
  }
  m.eval();
  return m;
}

namespace {

// The captioner's annotation vectors: the ResNet's locations, then the
// position channels (encoder.positions), as CaptionNet::encode.
const char* const kCaptionEncodeSource = R"JIT(
def encode(self, images: Tensor) -> Tuple[List[Tensor], List[Tensor]]:
    values = self.resnet(images)
    if self.positions.size(1) > 0:
        assert values.size(1) == self.positions.size(0), "the image is not image_side x image_side"
        values = torch.cat([values, self.positions.unsqueeze(0).expand([values.size(0), -1, -1])], 2)
    return self.caption_start(values)
)JIT";

const char* const kCaptionSource = R"JIT(
def limits(self, batch: int) -> List[int]:
    out: List[int] = []
    for b in range(batch):
        out.append(max(1, self.max_length))
    return out

def forward(self, images: Tensor) -> Tuple[Tensor, Tensor]:
    memory, state = self.encode(images)
    ids, scores, alphas = self.greedy(memory, state, self.limits(images.size(0)))
    return ids, alphas

def beam_search(self, images: Tensor, beam: int) -> Tuple[Tensor, Tensor, Tensor]:
    memory, state = self.encode(images)
    if beam > 1:
        return self.beam(memory, state, self.limits(images.size(0)), beam, self.alpha)
    return self.greedy(memory, state, self.limits(images.size(0)))

def caption(self, image: Tensor, beam: int) -> str:
    if image.dim() == 3:
        image = image.unsqueeze(0)
    ids, scores, alphas = self.beam_search(image, beam)
    out: List[int] = ids[0].tolist()
    return self.text_caption(self.decode_caption(out))

def preprocess(self, pixels: Tensor) -> Tensor:
    x = pixels.to(self.pixel_mean.dtype).div(255.0)
    if x.dim() == 3:
        x = x.unsqueeze(1).expand([x.size(0), 3, x.size(1), x.size(2)])
    else:
        x = x.permute([0, 3, 1, 2])
    return (x - self.pixel_mean) / self.pixel_std
)JIT";

}  // namespace

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
  m.define(kCaptionEncodeSource);
  m.define(kSearchSource);
  m.define(kTextSource);
  m.define(tokenizer_source(captioner.tokenizer->options(), "caption"));
  m.define(vocab_decode_source("caption"));
  m.define(kCaptionSource);
  m.eval();
  return m;
}

namespace {

// models/forecaster_seq2seq.ts filled with what the model's options decide.
std::string forecaster_seq2seq_source(const ForecasterImpl& f) {
  const auto& o = f.options;
  const bool timed = o.time_size() > 0;
  const bool direct = o.decoder() == "direct";
  std::string input = direct ? "self.horizon_embedding.weight[h].unsqueeze(0).expand([batch, -1])"
                             : "self.linear(PREV, self.step_proj.weight, self.step_proj.bias)";
  if (direct && timed)
    input +=
        " + self.linear(times.select(1, steps + h), self.step_proj.weight, self.step_proj.bias)";
  const std::string prev = timed
                               ? "torch.cat([previous.unsqueeze(1), times.select(1, steps + h)], 1)"
                               : "previous.unsqueeze(1)";
  if (!direct) input.replace(input.find("PREV"), 4, prev);
  return fmt::format(fmt::runtime(torchscript::models_forecaster_seq2seq),
                     fmt::arg("timed", timed ? "True" : "False"), fmt::arg("input", input),
                     fmt::arg("direct", direct ? "True" : "False"));
}

}  // namespace

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
  if (!model.linear) {
    m.define(attention_source(*model.decoder->attention, "self.decoder.attention"));
    m.define(encoder_source(*model.encoder, "self.encoder"));
    m.define(decoder_source(*model.decoder, "self.decoder"));
  }
  m.define(model.linear ? std::string(torchscript::models_forecaster_linear)
                        : forecaster_seq2seq_source(model));
  const bool timed = o.time_size() > 0;
  m.define(fmt::format(
      fmt::runtime(torchscript::models_forecaster),
      fmt::arg("offset", o.instance_norm() == "last"   ? "x.slice(1, steps - 1, steps)"
                         : o.instance_norm() == "mean" ? "x.mean(1, keepdim=True)"
                                                       : "torch.zeros_like(x.slice(1, 0, 1))"),
      fmt::arg("model", model.linear ? "linear" : "seq2seq"),
      fmt::arg("inputs", timed ? "values: Tensor, times: Tensor" : "values: Tensor"),
      fmt::arg("times", timed ? "times" : "values")));
  m.eval();
  return m;
}

}  // namespace attnzoo
