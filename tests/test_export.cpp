// TorchScript export of the translator and the captioner: the file, loaded
// back with torch::jit::load, gives the C++ modules' outputs (ids exactly,
// attention to 1e-5), for batch sizes not seen at export, and frozen.
#include <catch2/catch.hpp>

#include <algorithm>

#include "export/export.h"
#include "tests/export_cases.h"
#include "tests/temp_dir.h"

using namespace attnzoo;
using namespace attnzoo::testing;

namespace {

torch::Tensor long_rows(const nlohmann::json& rows) {
  std::vector<torch::Tensor> out;
  for (const auto& r : rows)
    out.push_back(torch::tensor(r.get<std::vector<int64_t>>(), torch::kLong));
  return torch::stack(out);
}

// A jit result (ids (B,T), scores (B) or undefined, attention (B,T,S)) against
// hypotheses_json rows: ids exactly, each row 0-padded after its hypothesis
// and T the longest; attention to 1e-5.
void check_same(const nlohmann::json& expected, const torch::Tensor& ids,
                const torch::Tensor& scores, const torch::Tensor& attention,
                const std::string& what) {
  INFO(what);
  const auto rows = expected.at("ids").get<std::vector<std::vector<int64_t>>>();
  REQUIRE(ids.size(0) == static_cast<int64_t>(rows.size()));
  size_t longest = 0;
  for (const auto& r : rows) longest = std::max(longest, r.size());
  REQUIRE(ids.size(1) == static_cast<int64_t>(longest));
  const auto a = attention.to(torch::kDouble).contiguous();
  for (size_t b = 0; b < rows.size(); ++b) {
    const int64_t n = static_cast<int64_t>(rows[b].size());
    const auto row = ids[static_cast<int64_t>(b)].contiguous();
    CHECK(std::vector<int64_t>(row.data_ptr<int64_t>(), row.data_ptr<int64_t>() + n) == rows[b]);
    CHECK(row.slice(0, n).eq(0).all().item<bool>());
    const auto e = expected["attention"][b].get<std::vector<std::vector<double>>>();
    REQUIRE(a.size(2) == static_cast<int64_t>(e.front().size()));
    for (int64_t t = 0; t < n; ++t)
      for (int64_t s = 0; s < a.size(2); ++s)
        CHECK(a[b][t][s].item<double>() == Approx(e[t][s]).margin(1e-5));
    CHECK(a[b].slice(0, n).eq(0).all().item<bool>());
    if (scores.defined())
      CHECK(scores[b].item<double>() == Approx(expected["scores"][b].get<double>()).epsilon(1e-5));
  }
}

void check_same(const nlohmann::json& expected, const c10::IValue& result,
                const std::string& what) {
  const auto& e = result.toTuple()->elements();
  if (e.size() == 2) {
    check_same(expected, e[0].toTensor(), {}, e[1].toTensor(), what);
  } else {
    check_same(expected, e[0].toTensor(), e[1].toTensor(), e[2].toTensor(), what);
  }
}

// Rows `rows` of the expectation's batch, cut to their longest source.
std::pair<torch::Tensor, torch::Tensor> source_rows(const nlohmann::json& expected,
                                                    const std::vector<int64_t>& rows) {
  const auto src = long_rows(expected.at("src"));
  const auto lengths =
      torch::tensor(expected.at("lengths").get<std::vector<int64_t>>(), torch::kLong);
  const auto index = torch::tensor(rows, torch::kLong);
  return {src.index_select(0, index), lengths.index_select(0, index)};
}

nlohmann::json pick(const nlohmann::json& result, const std::vector<int64_t>& rows) {
  nlohmann::json out;
  for (const char* key : {"ids", "attention", "scores"}) {
    if (!result.contains(key)) continue;
    out[key] = nlohmann::json::array();
    for (int64_t r : rows) out[key].push_back(result[key][r]);
  }
  return out;
}

torch::jit::Module save_and_load(const torch::jit::Module& m, const std::string& name,
                                 const std::string& app, const nlohmann::json& config) {
  const auto path = (scratch_dir() / name).string();
  save_export(m, path, app, config);
  return torch::jit::load(path);
}

}  // namespace

TEST_CASE("translate export: greedy, beam, translate() and attention() as the C++ translator",
          "[export]") {
  for (const auto& c : translator_cases()) {
    CAPTURE(c.name);
    auto translator = make_translator(c);
    const auto expected = translator_expectation(translator);
    auto m = save_and_load(export_translator(translator), "translate-" + c.name + ".pt",
                           "translate", translator.config);

    // The whole batch, then sizes the export never saw (one row, three rows in
    // another order), where the results do not depend on the batch.
    const bool batch_dependent = expected["batch_dependent"];
    std::vector<std::vector<int64_t>> batches = {{0, 1, 2, 3, 4}, {2}, {4, 0, 3}};
    if (batch_dependent) batches.resize(1);
    for (const auto& rows : batches) {
      auto [src, lengths] = source_rows(expected, rows);
      check_same(pick(expected["greedy"], rows), m.forward({src, lengths}), "greedy");
      const int64_t beam = expected["beam"]["beam"];
      check_same(pick(expected["beam"], rows),
                 m.get_method("beam_search")({src, lengths, beam, int64_t{0}}), "beam");
    }
    if (expected["spm"].get<bool>()) {
      // SentencePiece: translate() and attention() take and give ids.
      for (size_t i = 0; i < expected["src"].size(); ++i) {
        auto ids = expected["src"][i].get<std::vector<int64_t>>();
        ids.resize(expected["lengths"][i].get<size_t>() - 1);  // without <eos>
        auto want = expected["beam"]["ids"][i].get<std::vector<int64_t>>();
        want.erase(std::find(want.begin(), want.end(), Vocab::kEos), want.end());
        CHECK(m.get_method("translate")({c10::List<int64_t>(ids)}).toIntVector() == want);
        const auto alignment = m.get_method("attention")({c10::List<int64_t>(ids)}).toTuple();
        CHECK(alignment->elements()[0].toListRef().size() == ids.size() + 1);
      }
      continue;
    }
    for (size_t i = 0; i < expected["texts"].size(); ++i) {
      const std::string text = expected["texts"][i];
      CHECK(m.get_method("translate")({text}).toStringRef() ==
            expected["translations"][i].get<std::string>());
      const auto alignment = m.get_method("attention")({text}).toTuple();
      CHECK(alignment->elements()[0].toList().vec().size() ==
            expected["alignments"][i]["source"].size());
      std::vector<std::string> source, target;
      for (const auto& s : alignment->elements()[0].toListRef()) source.push_back(s.toStringRef());
      for (const auto& s : alignment->elements()[1].toListRef()) target.push_back(s.toStringRef());
      CHECK(source == expected["alignments"][i]["source"].get<std::vector<std::string>>());
      CHECK(target == expected["alignments"][i]["target"].get<std::vector<std::string>>());
    }

    // max_len caps the length limit.
    auto [src, lengths] = source_rows(expected, {0, 1});
    const auto capped =
        m.get_method("beam_search")({src, lengths, int64_t{2}, int64_t{2}}).toTuple();
    CHECK(capped->elements()[0].toTensor().size(1) <= 2);

    // Frozen: the same ids.
    auto frozen = freeze_export(m, {"beam_search", "translate", "attention"});
    if (batch_dependent) std::tie(src, lengths) = source_rows(expected, {0, 1, 2, 3, 4});
    check_same(pick(expected["greedy"], batch_dependent ? std::vector<int64_t>{0, 1, 2, 3, 4}
                                                        : std::vector<int64_t>{0, 1}),
               frozen.forward({src, lengths}), "frozen greedy");
    CHECK(frozen.get_method("translate")({expected["texts"][1].get<std::string>()}).toStringRef() ==
          expected["translations"][1].get<std::string>());
  }
}

TEST_CASE("translate export: the file records the app, the version and the config", "[export]") {
  auto translator = make_translator(translator_cases().front());
  const auto path = (scratch_dir() / "translate-record.pt").string();
  save_export(export_translator(translator), path, "translate", translator.config, /*frozen=*/true);
  torch::jit::ExtraFilesMap extra = {{"attnzoo.json", ""}};
  torch::jit::load(path, torch::kCPU, extra);
  const auto record = nlohmann::json::parse(extra.at("attnzoo.json"));
  CHECK(record.at("app") == "translate");
  CHECK(record.at("config") == translator.config);
  CHECK(record.at("frozen") == true);
  CHECK(!record.at("version").get<std::string>().empty());
}

TEST_CASE("caption export: ResNet, greedy and beam captions as the C++ captioner", "[export]") {
  // The additive captioner reads position channels too (encoder.positions).
  // Output "mixture" mixes every location's own word distribution.
  for (const std::string kind : {"additive", "hard", "mixture"}) {
    CAPTURE(kind);
    const bool hard = kind == "hard";
    auto fixture = make_captioner(
        {hard ? "model.attention=\"hard\"" : "model.attention=\"additive\"",
         hard ? "model.gate=false" : "model.gate=true",
         hard ? "encoder.positions=0" : "encoder.positions=3",
         kind == "mixture" ? "model.output=\"mixture\"" : "model.output=\"context\""});
    torch::Tensor images;
    const auto expected = caption_expectation(fixture.captioner, fixture.data, &images);
    auto m = save_and_load(export_captioner(fixture.captioner), "caption-" + kind + ".pt",
                           "caption", fixture.captioner.config);
    for (const auto& rows : std::vector<std::vector<int64_t>>{{0, 1, 2, 3}, {3}, {2, 0}}) {
      const auto batch = images.index_select(0, torch::tensor(rows, torch::kLong));
      check_same(pick(expected["greedy"], rows), m.forward({batch}), "greedy");
      const int64_t beam = expected["beam"]["beam"];
      check_same(pick(expected["beam"], rows), m.get_method("beam_search")({batch, beam}), "beam");
    }
    for (size_t i = 0; i < fixture.data.test.size(); ++i) {
      const auto caption = m.get_method("caption")(
          {images[static_cast<int64_t>(i)], expected["beam"]["beam"].get<int64_t>()});
      CHECK(caption.toStringRef() == expected["captions"][i].get<std::string>());
    }
    // caption_batch() decodes the images as one batch: each caption as caption() gives it.
    const auto captions =
        m.get_method("caption_batch")({images, expected["beam"]["beam"].get<int64_t>()}).toList();
    REQUIRE(captions.size() == fixture.data.test.size());
    for (size_t i = 0; i < captions.size(); ++i)
      CHECK(captions.get(i).toStringRef() == expected["captions"][i].get<std::string>());
    // preprocess() is Captioner::prepare.
    const auto pixels = torch::stack({fixture.data.test[0].pixels, fixture.data.test[1].pixels});
    CHECK(torch::allclose(m.get_method("preprocess")({pixels}).toTensor(), images.slice(0, 0, 2),
                          1e-6, 1e-6));

    auto frozen = freeze_export(m, {"beam_search", "caption", "caption_batch", "preprocess"});
    check_same(expected["greedy"], frozen.forward({images}), "frozen greedy");
  }
}

TEST_CASE(
    "forecast export: the forecast in the CSV's units and the attention of the C++ forecaster",
    "[export]") {
  for (const auto& c : forecaster_cases()) {
    CAPTURE(c.name);
    auto x = make_forecaster(c);
    const auto expected = forecast_expectation(x);
    auto m = save_and_load(export_forecaster(*x.f), "forecast-" + c.name + ".pt", "forecast",
                           x.f->config);
    const auto values = unflatten(expected["values"]).to(torch::kFloat);
    const auto times = unflatten(expected["times"]).to(torch::kFloat);
    const auto want = unflatten(expected["forecast"]);
    const auto want_attention = unflatten(expected["attention"]);
    for (const auto& rows : std::vector<std::vector<int64_t>>{{0, 1, 2, 3}, {2}, {3, 0}}) {
      const auto index = torch::tensor(rows, torch::kLong);
      std::vector<c10::IValue> inputs = {values.index_select(0, index)};
      if (x.f->timed()) inputs.push_back(times.index_select(0, index));
      const auto out = m.forward(inputs).toTuple();
      const auto forecast = out->elements()[0].toTensor().to(torch::kDouble);
      CHECK(torch::allclose(forecast, want.index_select(0, index), 1e-4, 1e-4));
      CHECK(torch::allclose(out->elements()[1].toTensor().to(torch::kDouble),
                            want_attention.index_select(0, index), 1e-5, 1e-5));
    }
    std::vector<c10::IValue> inputs = {values};
    if (x.f->timed()) inputs.push_back(times);
    auto frozen = freeze_export(m, {"channels", "target", "input_len", "horizon", "time_features"});
    CHECK(torch::allclose(
        frozen.forward(inputs).toTuple()->elements()[0].toTensor().to(torch::kDouble), want, 1e-4,
        1e-4));
  }
}
