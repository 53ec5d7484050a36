// Forecasting: the CSV reader and its errors, the ETT splits, the scaler,
// windows, calendar features, Repeat's metrics by hand, and the forecaster.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>

#include "data/error.h"
#include "data/timeseries.h"
#include "tasks/forecasting.h"
#include "tests/temp_dir.h"

using namespace attnzoo;

namespace {

std::string write_csv(const std::string& name, const std::string& text) {
  const auto path = (testing::scratch_dir() / name).string();
  std::ofstream(path) << text;
  return path;
}

// rows 0..n-1 with value = row, time hourly from 2016-07-01.
TimeTable ramp_table(int64_t n) {
  TimeTable t;
  t.source = "ramp";
  t.columns = {"value"};
  t.values = torch::arange(n, torch::kDouble).unsqueeze(1);
  for (int64_t i = 0; i < n; ++i)
    t.times.push_back(fmt::format("2016-07-{:02d} {:02d}:00:00", 1 + i / 24, i % 24));
  return t;
}

nlohmann::json small_config(int64_t input_len, int64_t horizon, const std::string& kind) {
  auto c = default_forecast_config();
  c["data"]["split"] = "ratio";
  c["data"]["input_len"] = input_len;
  c["data"]["horizon"] = horizon;
  c["model"]["kind"] = kind;
  c["model"]["hidden_size"] = 8;
  c["model"]["embedding_size"] = 6;
  c["model"]["dropout"] = 0.0;
  return c;
}

}  // namespace

TEST_CASE("read_csv_series: columns by name, values, times", "[forecast]") {
  const auto path = write_csv(
      "ok.csv",
      "date,a,b,c\n# a comment\n2020-01-01 00:00:00,1,2.5,x\n\n2020-01-01 01:00:00,-3,4e1,y\n");
  const auto t = read_csv_series(path, "date", {"b", "a"});
  REQUIRE(t.rows() == 2);
  CHECK(t.columns == std::vector<std::string>{"b", "a"});
  CHECK(t.times[1] == "2020-01-01 01:00:00");
  CHECK(t.values[0][0].item<double>() == 2.5);
  CHECK(t.values[1][0].item<double>() == 40.0);
  CHECK(t.values[1][1].item<double>() == -3.0);
  CHECK(t.column("a") == 1);
  CHECK_THROWS_WITH(t.column("zz"), Catch::Contains("no column \"zz\"") && Catch::Contains("b, a"));
}

TEST_CASE("read_csv_series: one clear error per mistake, naming the file, line and column",
          "[forecast]") {
  CHECK_THROWS_WITH(read_csv_series("/nonexistent/x.csv", "date"),
                    Catch::Contains("/nonexistent/x.csv: no such CSV file"));
  const auto missing = write_csv("missing.csv", "date,a\n2020-01-01,1\n");
  CHECK_THROWS_WITH(
      read_csv_series(missing, "date", {"OT"}),
      Catch::Contains("missing.csv: no column \"OT\" in the header (it has date, a)"));
  CHECK_THROWS_WITH(read_csv_series(missing, "time"), Catch::Contains("no column \"time\""));
  const auto text = write_csv("text.csv", "date,a\n2020-01-01,1\n2020-01-02,abc\n");
  CHECK_THROWS_WITH(read_csv_series(text, "date"),
                    Catch::Contains("text.csv:3: column \"a\": \"abc\" is not a number"));
  const auto blank = write_csv("blank.csv", "date,a\n2020-01-01,\n");
  CHECK_THROWS_WITH(read_csv_series(blank, "date"),
                    Catch::Contains("blank.csv:2: column \"a\": \"\" is not a number"));
  const auto short_row = write_csv("short.csv", "date,a,b\n2020-01-01,1\n");
  CHECK_THROWS_WITH(read_csv_series(short_row, "date"),
                    Catch::Contains("short.csv:2: 2 cells, the header has 3"));
  const auto header_only = write_csv("header.csv", "date,a\n");
  CHECK_THROWS_WITH(read_csv_series(header_only, "date"), Catch::Contains("a header but no rows"));
  const auto empty = write_csv("empty.csv", "");
  CHECK_THROWS_WITH(read_csv_series(empty, "date"), Catch::Contains("empty file"));
}

TEST_CASE("split_rows: the ETT protocol's borders, and the ratio split", "[forecast]") {
  const auto h = split_rows("auto", "../shared/data/ett/ETTh1.csv", 17420, 96, 24);
  CHECK(h.train_begin == 0);
  CHECK(h.train_end == 8640);
  CHECK(h.valid_begin == 8640 - 96);
  CHECK(h.valid_end == 8640 + 2880);
  CHECK(h.test_begin == 8640 + 2880 - 96);
  CHECK(h.test_end == 8640 + 2 * 2880);
  const auto m = split_rows("auto", "ETTm2.csv", 69680, 336, 720);
  CHECK(m.train_end == 4 * 8640);
  CHECK(m.valid_begin == 4 * 8640 - 336);
  CHECK(m.test_end == 4 * 14400);
  const auto r = split_rows("auto", "weather.csv", 1000, 10, 5);
  CHECK(r.train_end == 700);
  CHECK(r.valid_begin == 690);
  CHECK(r.valid_end == 800);
  CHECK(r.test_begin == 790);
  CHECK(r.test_end == 1000);
  CHECK_THROWS_WITH(split_rows("ett_hourly", "short.csv", 10000, 96, 24),
                    Catch::Contains("needs 14400"));
  CHECK_THROWS_WITH(split_rows("ratio", "tiny.csv", 30, 10, 5), Catch::Contains("too few"));
  CHECK_THROWS_WITH(split_rows("weekly", "x.csv", 1000, 10, 5), Catch::Contains("not one of auto"));
}

TEST_CASE("the scaler uses the training rows only, and windows read the rows they say",
          "[forecast]") {
  auto table = ramp_table(20);
  table.values[19][0] = 1000.0;  // a test row: must not move the statistics
  Forecasting f(small_config(2, 2, "linear"), table);
  // Training rows 0..13: mean 6.5, population std sqrt((14^2 - 1) / 12).
  CHECK(f.mean[0].item<double>() == Approx(6.5));
  CHECK(f.std[0].item<double>() == Approx(std::sqrt(195.0 / 12.0)));
  const auto data = make_forecast_splits(f, table);
  CHECK(data.train.size() == 14 - 4 + 1);
  CHECK(data.test.size() == 3);  // rows 14..19
  const auto b = data.test.batch({1});
  const double s = f.std[0].item<double>();
  CHECK(b.inputs[0][0][0].item<double>() == Approx((15 - 6.5) / s));
  CHECK(b.inputs[0][1][0].item<double>() == Approx((16 - 6.5) / s));
  CHECK(b.targets[0][0].item<double>() == Approx((17 - 6.5) / s));
  CHECK(b.targets[0][1].item<double>() == Approx((18 - 6.5) / s));
}

TEST_CASE("Repeat's MSE and MAE on a hand-made series", "[forecast]") {
  // value = row: Repeat is 1 behind at step 1 and 2 behind at step 2, in rows;
  // in normalised units 1/s and 2/s: MSE (1 + 4) / 2 / s^2, MAE 1.5 / s.
  const auto table = ramp_table(20);
  Forecasting f(small_config(2, 2, "linear"), table);
  const auto data = make_forecast_splits(f, table);
  const auto ev = evaluate_forecaster(f, data.test);
  const double s = f.std[0].item<double>();
  CHECK(ev.windows == 3);
  CHECK(ev.repeat_mse == Approx(2.5 / (s * s)));
  CHECK(ev.repeat_mae == Approx(1.5 / s));
  CHECK(repeat_forecast(torch::tensor({{{1.0}, {2.0}, {7.0}}}), 0, 3)
            .equal(torch::tensor({{7.0, 7.0, 7.0}})));
}

TEST_CASE("time_features: hour, weekday, day of month, day of year in [-0.5, 0.5]", "[forecast]") {
  const auto t = time_features({"2016-07-01 00:00:00", "2016-12-31 23:00", "2021-01-04"});
  // 2016-07-01 was a Friday (weekday 4 from Monday), day 182 of a leap year.
  CHECK(t[0][0].item<float>() == Approx(-0.5));
  CHECK(t[0][1].item<float>() == Approx(4.0 / 6.0 - 0.5));
  CHECK(t[0][2].item<float>() == Approx(-0.5));
  CHECK(t[0][3].item<float>() == Approx(182.0 / 365.0 - 0.5));
  CHECK(t[1][0].item<float>() == Approx(0.5));
  CHECK(t[1][2].item<float>() == Approx(0.5));
  CHECK(t[2][1].item<float>() == Approx(-0.5));  // a Monday
  CHECK_THROWS_WITH(time_features({"2020-01-01", "yesterday"}),
                    Catch::Contains("row 2: time \"yesterday\""));
}

TEST_CASE("forecaster: shapes, attention rows, and instance normalisation's shift invariance",
          "[forecast]") {
  torch::manual_seed(3);
  for (const auto& [decoder_name, decoder] : forecast_decoders()) {
    for (const auto& [kind_name, kind] : forecaster_kinds()) {
      CAPTURE(decoder_name, kind_name);
      auto o = ForecasterOptions(2, 12, 5)
                   .target_channel(1)
                   .time_size(kTimeFeatures)
                   .kind(kind)
                   .decoder(decoder)
                   .hidden_size(8)
                   .embedding_size(6)
                   .dropout(0.0);
      Forecaster model(o);
      model->eval();
      const auto x = torch::randn({3, 12, 2});
      const auto times = torch::rand({3, 17, kTimeFeatures}) - 0.5;
      const auto out = model->forward(x, times);
      CHECK(out.forecast.sizes() == torch::IntArrayRef{3, 5});
      CHECK(out.attention.sizes() == torch::IntArrayRef{3, 5, 12});
      if (kind == ForecasterKind::kSeq2Seq)
        CHECK(torch::allclose(out.attention.sum(2), torch::ones({3, 5}), 1e-5, 1e-5));
      // "last": a constant added to every channel moves the forecast by that constant.
      const auto shifted = model->forward(x + 10.0, times);
      CHECK(torch::allclose(shifted.forecast, out.forecast + 10.0, 1e-4, 1e-4));
    }
  }
  CHECK_THROWS_WITH(Forecaster(ForecasterOptions(1, 4, 2).attention(AttentionKind::kHard)),
                    Catch::Contains("\"hard\""));
  CHECK_THROWS_WITH(parse_choice(std::string("beam"), "model.decoder", forecast_decoders()),
                    Catch::Contains("direct, autoregressive"));
  Forecaster plain(ForecasterOptions(1, 4, 2).hidden_size(4).embedding_size(4));
  CHECK_THROWS_WITH(plain->forward(torch::zeros({2, 5, 1})),
                    Catch::Contains("expects inputs (B,4,1)"));
}

TEST_CASE("forecast checkpoints keep the channels and the scaler", "[forecast]") {
  auto config = small_config(24, 6, "seq2seq");
  config["data"]["synthetic"]["length"] = 400;
  config["data"]["features"] = {"load"};
  config["data"]["target"] = "value";
  config["train"]["epochs"] = 1;
  config["train"]["max_steps"] = 3;
  config["train"]["log_every"] = 1;
  const auto dir = (testing::scratch_dir() / "forecast-run").string();
  train_forecaster(config, dir, RunStart::fresh);
  const Forecasting loaded(Checkpoint(dir + "/best.pt", "forecast"));
  CHECK(loaded.channels == std::vector<std::string>{"load", "value"});
  CHECK(loaded.target_channel == 1);
  const auto table = load_forecast_table(config.at("data"));
  const Forecasting fresh(config, table);
  CHECK(torch::equal(loaded.mean, fresh.mean));
  CHECK(torch::equal(loaded.std, fresh.std));
  CHECK_THROWS_WITH(Checkpoint(dir + "/best.pt", "translate"), Catch::Contains("forecast"));
}
