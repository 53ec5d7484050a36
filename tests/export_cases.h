#pragma once
// Small seeded translators and captioners, and what the C++ modules output on
// fixed inputs, as JSON: the reference both the C++ export tests
// (test_export.cpp) and the Python ones (export_parity.py, fed by
// export_fixture) hold an exported file to.
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "data/batching.h"
#include "data/scenes.h"
#include "tasks/caption_config.h"
#include "tasks/captioner_training.h"
#include "tasks/forecasting.h"
#include "tasks/translate_config.h"
#include "tasks/translator_training.h"
#include "train/config.h"

namespace attnzoo::testing {

struct TranslatorCase {
  std::string name;
  std::vector<std::string> overrides;  // over tiny_translate_config()
  bool int8 = false;                   // Translator::quantize_int8
  int64_t shortlist = 0;               // Translator::build_shortlist: per word (2 frequent)
};

// Model shapes that take every branch of the exported code: GRU/LSTM, one and
// two layers, bi- and unidirectional, each attention kind, readout or not,
// word and character tokenizers.
inline std::vector<TranslatorCase> translator_cases() {
  return {
      {"gru-additive-char", {}},
      {"lstm-general-2layers",
       {"model.rnn=\"lstm\"", "model.attention=\"general\"", "model.encoder_layers=2",
        "model.decoder_layers=2", "model.readout_size=0", "decode.coverage_penalty=0.3"}},
      {"gru-dot-unidirectional",
       {"model.attention=\"dot\"", "model.bidirectional=false", "model.encoder_hidden_size=12"}},
      {"none", {"model.attention=\"none\""}},
      {"bpe-source",
       {"tokenizer.src.kind=\"bpe\"", "tokenizer.src.vocab_size=60",
        "tokenizer.src.lowercase=true"}},
      {"hard-word-lowercase",
       {"model.attention=\"hard\"", "tokenizer.src.kind=\"word\"", "tokenizer.src.lowercase=true",
        "tokenizer.tgt.kind=\"word\"", "decode.length_penalty=0.0"}},
      // Decoding speed-ups: int8 cells, readout and projection (GRU; LSTM of
      // two layers), a lexical shortlist, and both. Their results depend on
      // the batch (int8 scales each call's activations; the shortlist is the
      // batch's), so they are compared on the same batches only.
      {"gru-int8", {}, true},
      {"lstm-int8-2layers",
       {"model.rnn=\"lstm\"", "model.encoder_layers=2", "model.decoder_layers=2"},
       true},
      {"gru-shortlist", {"tokenizer.tgt.kind=\"word\"", "tokenizer.src.kind=\"word\""}, false, 1},
      {"gru-int8-shortlist",
       {"tokenizer.tgt.kind=\"word\"", "tokenizer.src.kind=\"word\""},
       true,
       1},
  };
}

inline nlohmann::json tiny_translate_config() {
  auto c = default_translate_config();
  c["data"]["source"] = "dates";
  c["data"]["dates"] = {{"train_size", 200}, {"valid_size", 10}, {"test_size", 10}, {"seed", 3}};
  c["tokenizer"]["src"]["kind"] = "char";
  c["tokenizer"]["tgt"]["kind"] = "char";
  c["vocab"]["min_freq"] = 1;
  c["model"] = {{"embedding_size", 8}, {"encoder_hidden_size", 6}, {"decoder_hidden_size", 12},
                {"encoder_layers", 1}, {"decoder_layers", 1},      {"bidirectional", true},
                {"rnn", "gru"},        {"dropout", 0.1},           {"attention", "additive"},
                {"attention_size", 0}, {"readout_size", 5}};
  c["decode"]["beam"] = 3;
  c["decode"]["length_penalty"] = 0.6;
  c["decode"]["max_len_ratio"] = 0.5;
  c["decode"]["max_len_offset"] = 6;
  return c;
}

inline Translator make_translator(const TranslatorCase& c) {
  auto config = tiny_translate_config();
  for (const auto& o : c.overrides) apply_override(config, o);
  const auto data = load_translation_data(config.at("data"));
  torch::manual_seed(11);
  Translator translator(config, data.train);
  // Large, varied weights: an untrained model's near-uniform outputs would
  // make greedy and beam search trivially agree.
  torch::NoGradGuard no_grad;
  for (auto& p : translator.model->parameters()) p.normal_(0.0, 0.8);
  translator.model->eval();
  if (c.shortlist > 0) translator.build_shortlist(data.train, {c.shortlist, 2});
  if (c.int8) translator.quantize_int8();
  return translator;
}

// Sentences with unknown characters, capitals and punctuation, of several lengths.
inline std::vector<std::string> translator_inputs() {
  return {"12 March 1990", "Tuesday, 3. Okt 2001!", "x", "ÄÖ 7/7/77 — ok", "the 1st of May, 1899"};
}

// Rows -> (ids without padding, attention (T,S)) of a hypothesis list.
inline nlohmann::json hypotheses_json(const std::vector<std::vector<Hypothesis>>& all) {
  nlohmann::json ids = nlohmann::json::array(), scores = nlohmann::json::array(),
                 attention = nlohmann::json::array();
  for (const auto& list : all) {
    const auto& best = list.front();
    ids.push_back(best.tokens);
    scores.push_back(best.score);
    const auto a = best.attention.to(torch::kDouble).contiguous();
    nlohmann::json rows = nlohmann::json::array();
    for (int64_t t = 0; t < a.size(0); ++t)
      rows.push_back(
          std::vector<double>(a[t].data_ptr<double>(), a[t].data_ptr<double>() + a.size(1)));
    attention.push_back(rows);
  }
  return {{"ids", ids}, {"scores", scores}, {"attention", attention}};
}

// What the C++ translator gives on translator_inputs(): the padded source
// batch, greedy and beam results, and translate() / attention() of each text.
inline nlohmann::json translator_expectation(Translator& translator) {
  const auto texts = translator_inputs();
  std::vector<Example> examples;
  for (const auto& t : texts) examples.push_back({translator.encode_source(t), {}});
  std::vector<size_t> all(examples.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  const Batch batch = collate(examples, all);
  torch::NoGradGuard no_grad;
  auto options = search_options(translator.config.at("decode"));
  nlohmann::json out;
  out["src"] = nlohmann::json::array();
  for (int64_t r = 0; r < batch.size(); ++r) {
    const auto row = batch.src[r].contiguous();
    out["src"].push_back(
        std::vector<int64_t>(row.data_ptr<int64_t>(), row.data_ptr<int64_t>() + row.numel()));
  }
  const auto lengths = batch.src_lengths.contiguous();
  out["lengths"] = std::vector<int64_t>(lengths.data_ptr<int64_t>(),
                                        lengths.data_ptr<int64_t>() + lengths.numel());
  {
    const auto stepper = translator.stepper(batch);
    auto greedy = options;
    greedy.beam = 1;
    out["greedy"] =
        hypotheses_json(greedy_search(*stepper, translator.max_lengths(batch.src_lengths), greedy));
  }
  {
    const auto stepper = translator.stepper(batch);
    out["beam"] =
        hypotheses_json(beam_search(*stepper, translator.max_lengths(batch.src_lengths), options));
    out["beam"]["beam"] = options.beam;
  }
  // int8 and shortlist results depend on the batch: translations one text at a time.
  const bool batch_dependent = translator.shortlist || translator.model->decoder->int8();
  out["batch_dependent"] = batch_dependent;
  out["texts"] = texts;
  out["spm"] = !translator.src_tokenizer->model_bytes().empty() ||
               !translator.tgt_tokenizer->model_bytes().empty();
  out["translations"] = nlohmann::json::array();
  out["alignments"] = nlohmann::json::array();
  for (const auto& t : translator.translate(texts, options, batch_dependent ? 1 : 2)) {
    out["translations"].push_back(t.text);
    out["alignments"].push_back({{"source", t.source_tokens}, {"target", t.output_tokens}});
  }
  return out;
}

inline nlohmann::json tiny_caption_config() {
  auto config = default_caption_config();
  for (const char* o :
       {"data.scenes.train_size=30", "data.scenes.valid_size=2", "data.scenes.test_size=4",
        "data.scenes.canvas=64", "data.scenes.min_size=24", "data.scenes.max_size=30",
        "encoder.depth=18", "encoder.width=8", "encoder.last_stage=3", "encoder.grid=0",
        "model.embedding_size=16", "model.hidden_size=24", "model.attention_size=10",
        "model.dropout=0", "decode.beam=3", "decode.max_length=9", "decode.length_penalty=0.4"})
    apply_override(config, o);
  return config;
}

struct CaptionFixture {
  Captioner captioner;
  CaptionSplits data;
};

inline CaptionFixture make_captioner(const std::vector<std::string>& overrides = {}) {
  auto config = tiny_caption_config();
  for (const auto& o : overrides) apply_override(config, o);
  auto data = load_caption_data(config.at("data"));
  torch::manual_seed(12);
  Captioner captioner(config, data.train);
  torch::NoGradGuard no_grad;
  for (auto& p : captioner.model->decoder->parameters()) p.normal_(0.0, 0.5);
  // BatchNorm statistics that are not the identity, so the export must use them.
  for (auto& b : captioner.model->encoder->named_buffers()) {
    if (b.key().find("running_mean") != std::string::npos) b.value().normal_(0.0, 0.1);
    if (b.key().find("running_var") != std::string::npos) b.value().uniform_(0.5, 1.5);
  }
  captioner.model->eval();
  return {std::move(captioner), std::move(data)};
}

// The C++ captioner on the test images: their network input, greedy and beam results, and captions.
inline nlohmann::json caption_expectation(Captioner& captioner, const CaptionSplits& data,
                                          torch::Tensor* images) {
  std::vector<const torch::Tensor*> pixels;
  std::vector<const CaptionImage*> items;
  for (const auto& image : data.test) {
    pixels.push_back(&image.pixels);
    items.push_back(&image);
  }
  torch::NoGradGuard no_grad;
  *images = captioner.prepare(pixels);
  const auto features = captioner.model->encode(*images);
  auto options = captioner.search_options();
  const std::vector<int64_t> limits(features.size(0),
                                    captioner.config.at("decode").at("max_length").get<int64_t>());
  nlohmann::json out;
  {
    CaptionStepper stepper(captioner.model->decoder, features);
    auto greedy = options;
    greedy.beam = 1;
    out["greedy"] = hypotheses_json(greedy_search(stepper, limits, greedy));
  }
  {
    CaptionStepper stepper(captioner.model->decoder, features);
    out["beam"] = hypotheses_json(beam_search(stepper, limits, options));
    out["beam"]["beam"] = options.beam;
  }
  out["captions"] = nlohmann::json::array();
  for (const auto& r : captioner.caption(items, options, 3)) out["captions"].push_back(r.text);
  return out;
}

struct ForecasterCase {
  std::string name;
  std::vector<std::string> overrides;  // over tiny_forecast_config()
};

// Every branch of the exported forecaster: direct and autoregressive decoders,
// GRU and two-layer LSTM, calendar features, each instance normalisation, linear.
inline std::vector<ForecasterCase> forecaster_cases() {
  // Every decoder x calendar features x instance normalisation, the cells,
  // depths and attention kinds taking turns; and the linear model under each
  // normalisation.
  std::vector<ForecasterCase> cases;
  const std::vector<std::string> rnns = {"gru", "lstm"}, kinds = {"additive", "general", "none"};
  int turn = 0;
  for (const std::string decoder : {"direct", "autoregressive"}) {
    for (const bool timed : {false, true}) {
      for (const std::string norm : {"last", "mean", "none"}) {
        const auto& rnn = rnns[turn % 2];
        const auto& kind = kinds[turn % 3];
        const int layers = 1 + (turn / 2) % 2;
        ++turn;
        cases.push_back(
            {decoder + (timed ? "-timed-" : "-") + norm + "-" + rnn + "-" + kind,
             {"model.decoder=\"" + decoder + "\"", "model.rnn=\"" + rnn + "\"",
              "model.attention=\"" + kind + "\"", "model.layers=" + std::to_string(layers),
              std::string("data.time_features=") + (timed ? "true" : "false"),
              "model.instance_norm=\"" + norm + "\""}});
      }
    }
  }
  for (const std::string norm : {"last", "mean", "none"})
    cases.push_back(
        {"linear-" + norm, {"model.kind=\"linear\"", "model.instance_norm=\"" + norm + "\""}});
  return cases;
}

inline nlohmann::json tiny_forecast_config() {
  auto c = default_forecast_config();
  c["data"]["synthetic"]["length"] = 300;
  c["data"]["features"] = {"load"};
  c["data"]["target"] = "value";
  c["data"]["split"] = "ratio";
  c["data"]["input_len"] = 16;
  c["data"]["horizon"] = 5;
  c["model"]["hidden_size"] = 10;
  c["model"]["embedding_size"] = 6;
  return c;
}

struct ForecastFixture {
  std::unique_ptr<Forecasting> f;
  TimeTable table;
};

inline ForecastFixture make_forecaster(const ForecasterCase& c) {
  auto config = tiny_forecast_config();
  for (const auto& o : c.overrides) apply_override(config, o);
  ForecastFixture x;
  x.table = load_forecast_table(config.at("data"));
  torch::manual_seed(13);
  x.f = std::make_unique<Forecasting>(config, x.table);
  torch::NoGradGuard no_grad;
  for (auto& p : x.f->model->parameters()) p.normal_(0.0, 0.4);
  x.f->model->eval();
  return x;
}

// Windows starting at rows 0, 40, 77 and 150 in the CSV's units, their
// calendar features, and the C++ forecaster's forecasts (units) and attention.
inline nlohmann::json forecast_expectation(ForecastFixture& x) {
  auto& f = *x.f;
  const int64_t l = f.input_len(), h = f.horizon();
  std::vector<torch::Tensor> values, times;
  const auto all_times = time_features(x.table.times);
  for (int64_t start : {0, 40, 77, 150}) {
    values.push_back(x.table.values.slice(0, start, start + l).to(torch::kFloat));
    times.push_back(all_times.slice(0, start, start + l + h));
  }
  const auto v = torch::stack(values), t = torch::stack(times);
  torch::NoGradGuard no_grad;
  const auto normalised = ((v.to(torch::kDouble) - f.mean) / f.std).to(torch::kFloat);
  const auto out = f.model->forward(normalised, f.timed() ? t : torch::Tensor());
  const double mu = f.mean[f.target_channel].item<double>(),
               sigma = f.std[f.target_channel].item<double>();
  const auto forecast = (out.forecast.to(torch::kDouble) * sigma + mu).contiguous();
  const auto attention = out.attention.to(torch::kDouble).contiguous();
  auto flat = [](const torch::Tensor& a) {
    const auto c = a.to(torch::kDouble).contiguous();
    return nlohmann::json{
        {"shape", c.sizes().vec()},
        {"data", std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel())}};
  };
  return {{"app", "forecast"}, {"timed", f.timed()},         {"values", flat(v)},
          {"times", flat(t)},  {"forecast", flat(forecast)}, {"attention", flat(attention)}};
}

inline torch::Tensor unflatten(const nlohmann::json& j) {
  return torch::tensor(j.at("data").get<std::vector<double>>(), torch::kDouble)
      .view(j.at("shape").get<std::vector<int64_t>>());
}

}  // namespace attnzoo::testing
