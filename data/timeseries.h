#pragma once
// Time series for forecasting: a CSV reader, a seeded synthetic series, the
// standard ETT splits, z-scoring with training statistics, calendar features,
// and stride-1 windows (L input steps, H target steps).
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace attnzoo {

// A table of numeric columns over a time column.
struct TimeTable {
  std::string source;                // the file, or "synthetic"
  std::vector<std::string> times;    // the time column as written, one per row
  std::vector<std::string> columns;  // the numeric columns read, in the order asked for
  torch::Tensor values;              // (rows, columns) float64
  int64_t rows() const { return static_cast<int64_t>(times.size()); }
  // Index of `name` in columns; UserError naming the source and the columns there are.
  int64_t column(const std::string& name) const;
};

// Reads `path` (comma-separated, a header line; "#" lines and blank lines are
// skipped): the time column `time_column` and the numeric columns `columns`
// (empty: every other column). Clear UserErrors for a missing file, a missing
// column, a short row, and a cell that is not a number (file, line, column).
TimeTable read_csv_series(const std::string& path, const std::string& time_column,
                          const std::vector<std::string>& columns = {});

// The embedded default: hourly rows from 2020-01-01 00:00:00 of
//   value = trend + daily and weekly seasonality + AR(1) noise,
//   load  = a daily cycle that leads value by 3 hours, plus noise,
// drawn from `seed` (the same on every machine).
struct SyntheticSeriesOptions {
  int64_t length = 6000;
  uint64_t seed = 1;
  double noise = 0.3;
};
TimeTable synthetic_series(const SyntheticSeriesOptions& options);

// Row ranges [begin, end) of each split. The validation and test ranges start
// input_len rows early, so their first windows forecast the split's first row.
struct SplitRows {
  int64_t train_begin = 0, train_end = 0, valid_begin = 0, valid_end = 0, test_begin = 0,
          test_end = 0;
};
// protocol: "ett_hourly" (train/valid/test = the first 8640 / next 2880 /
// next 2880 rows: 12, 4 and 4 months), "ett_minute" (the same months at 15
// minutes: 4x), "ratio" (70% / 10% / 20%, Informer's split for other data),
// or "auto": ett_hourly for a file named ETTh*, ett_minute for ETTm*, else ratio.
// UserError when the table is too short for the protocol and the windows.
SplitRows split_rows(const std::string& protocol, const std::string& source, int64_t rows,
                     int64_t input_len, int64_t horizon);

// Calendar features of "YYYY-MM-DD[ HH:MM[:SS]]" times, each in [-0.5, 0.5]:
// hour of day, day of week, day of month, day of year. (rows, 4) float32.
// UserError naming the row of a time that does not parse.
torch::Tensor time_features(const std::vector<std::string>& times);
constexpr int64_t kTimeFeatures = 4;

// Sliding windows, stride 1, over rows [begin, end) of a normalised series.
class Windows {
 public:
  Windows() = default;
  // series (rows, C) float32; inputs read `input_columns`, targets `target_column`;
  // times (rows, kTimeFeatures) or undefined.
  Windows(torch::Tensor series, torch::Tensor times, std::vector<int64_t> input_columns,
          int64_t target_column, int64_t begin, int64_t end, int64_t input_len, int64_t horizon);
  int64_t size() const { return count_; }
  // Window i starts at row begin + i: inputs (B,L,F), targets (B,H), and the
  // calendar features of the L + H rows (B,L+H,4) when the series has them.
  struct Batch {
    torch::Tensor inputs, targets, times;
  };
  Batch batch(const std::vector<int64_t>& indices) const;
  int64_t first_row() const { return begin_; }

 private:
  torch::Tensor inputs_, target_, times_;  // (rows, F), (rows), (rows, 4) of the range
  int64_t begin_ = 0, count_ = 0, input_len_ = 0, horizon_ = 0;
};

// The table data.csv names (or the synthetic series when it is empty),
// holding the input channels: data.features, then data.target (default: the
// last column) when it is not among them.
TimeTable load_forecast_table(const nlohmann::json& data_config);

}  // namespace attnzoo
