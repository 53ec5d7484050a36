#include "data/timeseries.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <random>

#include "data/error.h"
#include "data/text_io.h"

namespace attnzoo {

int64_t TimeTable::column(const std::string& name) const {
  for (size_t i = 0; i < columns.size(); ++i)
    if (columns[i] == name) return static_cast<int64_t>(i);
  throw UserError("{}: no column \"{}\" (it has {})", source, name, fmt::join(columns, ", "));
}

namespace {

std::vector<std::string> split_commas(const std::string& line) {
  std::vector<std::string> cells;
  size_t start = 0;
  while (true) {
    const size_t comma = line.find(',', start);
    cells.push_back(
        trim(line.substr(start, comma == std::string::npos ? std::string::npos : comma - start)));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return cells;
}

}  // namespace

TimeTable read_csv_series(const std::string& path, const std::string& time_column,
                          const std::vector<std::string>& wanted) {
  if (!file_exists(path)) throw UserError("{}: no such CSV file", path);
  const auto lines = read_lines(path);
  TimeTable t;
  t.source = path;
  std::vector<std::string> header;
  size_t line_no = 0;
  std::vector<size_t> source_of;  // cell index of each column read
  size_t time_cell = 0;
  std::vector<double> values;
  for (const auto& raw : lines) {
    ++line_no;
    const std::string line = trim(raw);
    if (line.empty() || line[0] == '#') continue;
    const auto cells = split_commas(line);
    if (header.empty()) {
      header = cells;
      auto find = [&](const std::string& name) -> size_t {
        for (size_t i = 0; i < header.size(); ++i)
          if (header[i] == name) return i;
        throw UserError("{}: no column \"{}\" in the header (it has {})", path, name,
                        fmt::join(header, ", "));
      };
      time_cell = find(time_column);
      if (wanted.empty()) {
        for (size_t i = 0; i < header.size(); ++i)
          if (i != time_cell) {
            source_of.push_back(i);
            t.columns.push_back(header[i]);
          }
      } else {
        for (const auto& name : wanted) {
          source_of.push_back(find(name));
          t.columns.push_back(name);
        }
      }
      if (t.columns.empty())
        throw UserError("{}: no numeric columns beside the time column \"{}\"", path, time_column);
      continue;
    }
    if (cells.size() != header.size())
      throw UserError("{}:{}: {} cells, the header has {}", path, line_no, cells.size(),
                      header.size());
    t.times.push_back(cells[time_cell]);
    for (size_t c = 0; c < source_of.size(); ++c) {
      const std::string& cell = cells[source_of[c]];
      char* end = nullptr;
      const double v = cell.empty() ? NAN : std::strtod(cell.c_str(), &end);
      if (cell.empty() || end != cell.c_str() + cell.size() || !std::isfinite(v))
        throw UserError("{}:{}: column \"{}\": \"{}\" is not a number", path, line_no, t.columns[c],
                        cell);
      values.push_back(v);
    }
  }
  if (header.empty()) throw UserError("{}: empty file (no header line)", path);
  if (t.times.empty()) throw UserError("{}: a header but no rows", path);
  t.values = torch::tensor(values, torch::kDouble)
                 .view({t.rows(), static_cast<int64_t>(t.columns.size())});
  return t;
}

namespace {

// Days since 1970-01-01 -> civil date, and back (the proleptic Gregorian calendar).
void civil_from_days(int64_t z, int64_t* y, int64_t* m, int64_t* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = yoe + era * 400 + (*m <= 2 ? 1 : 0);
}

int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

}  // namespace

TimeTable synthetic_series(const SyntheticSeriesOptions& o) {
  if (o.length < 2) throw UserError("synthetic series: length {} is below 2", o.length);
  std::mt19937_64 rng(o.seed);
  std::normal_distribution<double> gauss(0.0, 1.0);
  TimeTable t;
  t.source = "synthetic";
  t.columns = {"load", "value"};
  t.values = torch::empty({o.length, 2}, torch::kDouble);
  auto v = t.values.accessor<double, 2>();
  const double two_pi = 2.0 * M_PI;
  const int64_t start = days_from_civil(2020, 1, 1);
  double ar = 0.0;
  for (int64_t i = 0; i < o.length; ++i) {
    const double h = static_cast<double>(i);
    ar = 0.8 * ar + o.noise * gauss(rng);
    const double daily = std::sin(two_pi * h / 24.0), weekly = std::sin(two_pi * h / 168.0 + 1.0);
    v[i][1] = 0.0004 * h + 1.5 * daily + 0.8 * weekly + 0.3 * std::sin(two_pi * h / 12.0) + ar;
    v[i][0] = 2.0 + std::sin(two_pi * (h + 3.0) / 24.0) + 0.2 * o.noise * gauss(rng);
    int64_t y = 0, m = 0, d = 0;
    civil_from_days(start + i / 24, &y, &m, &d);
    t.times.push_back(fmt::format("{:04d}-{:02d}-{:02d} {:02d}:00:00", y, m, d, i % 24));
  }
  return t;
}

SplitRows split_rows(const std::string& protocol_in, const std::string& source, int64_t rows,
                     int64_t input_len, int64_t horizon) {
  if (input_len < 1 || horizon < 1)
    throw UserError("input length ({}) and horizon ({}) must be at least 1", input_len, horizon);
  std::string protocol = protocol_in;
  if (protocol == "auto") {
    const std::string name = std::filesystem::path(source).filename().string();
    protocol = name.rfind("ETTh", 0) == 0   ? "ett_hourly"
               : name.rfind("ETTm", 0) == 0 ? "ett_minute"
                                            : "ratio";
  }
  SplitRows s;
  if (protocol == "ett_hourly" || protocol == "ett_minute") {
    const int64_t unit = protocol == "ett_hourly" ? 24 : 96;  // rows per day
    s.train_end = 12 * 30 * unit;
    s.valid_end = s.train_end + 4 * 30 * unit;
    s.test_end = s.valid_end + 4 * 30 * unit;
    if (rows < s.test_end)
      throw UserError(
          "{}: {} rows, but the {} split (data.split) needs {}; --set data.split=ratio splits "
          "any length 70/10/20%",
          source, rows, protocol, s.test_end);
  } else if (protocol == "ratio") {
    const int64_t train = rows * 7 / 10, test = rows * 2 / 10;
    s.train_end = train;
    s.valid_end = rows - test;
    s.test_end = rows;
  } else {
    throw UserError("data.split \"{}\" is not one of auto, ett_hourly, ett_minute, ratio",
                    protocol_in);
  }
  s.valid_begin = s.train_end - input_len;
  s.test_begin = s.valid_end - input_len;
  const int64_t window = input_len + horizon;
  if (s.valid_begin < 0 || s.train_end - s.train_begin < window ||
      s.valid_end - s.valid_begin < window || s.test_end - s.test_begin < window)
    throw UserError(
        "{}: {} rows are too few for windows of {} + {} steps in every split ({} split)", source,
        rows, input_len, horizon, protocol);
  return s;
}

torch::Tensor time_features(const std::vector<std::string>& times) {
  auto out = torch::empty({static_cast<int64_t>(times.size()), kTimeFeatures}, torch::kFloat);
  auto a = out.accessor<float, 2>();
  for (size_t r = 0; r < times.size(); ++r) {
    int y = 0, m = 0, d = 0, hh = 0, mm = 0, ss = 0;
    const int n =
        std::sscanf(times[r].c_str(), "%d-%d-%d%*[ T]%d:%d:%d", &y, &m, &d, &hh, &mm, &ss);
    if (n < 3 || m < 1 || m > 12 || d < 1 || d > 31 || hh < 0 || hh > 23)
      throw UserError("row {}: time \"{}\" is not YYYY-MM-DD[ HH:MM[:SS]]", r + 1, times[r]);
    const int64_t days = days_from_civil(y, m, d);
    const int64_t weekday = ((days % 7) + 7 + 3) % 7;  // 1970-01-01 was a Thursday; 0 = Monday
    const int64_t yearday = days - days_from_civil(y, 1, 1);
    a[r][0] = static_cast<float>(hh / 23.0 - 0.5);
    a[r][1] = static_cast<float>(weekday / 6.0 - 0.5);
    a[r][2] = static_cast<float>((d - 1) / 30.0 - 0.5);
    a[r][3] = static_cast<float>(yearday / 365.0 - 0.5);
  }
  return out;
}

Windows::Windows(torch::Tensor series, torch::Tensor times, std::vector<int64_t> input_columns,
                 int64_t target_column, int64_t begin, int64_t end, int64_t input_len,
                 int64_t horizon)
    : begin_(begin), input_len_(input_len), horizon_(horizon) {
  const auto rows = series.slice(0, begin, end);
  inputs_ = rows.index_select(1, torch::tensor(input_columns, torch::kLong)).contiguous();
  target_ = rows.select(1, target_column).contiguous();
  if (times.defined()) times_ = times.slice(0, begin, end).contiguous();
  count_ = std::max<int64_t>(0, (end - begin) - input_len - horizon + 1);
}

Windows::Batch Windows::batch(const std::vector<int64_t>& indices) const {
  const auto starts = torch::tensor(indices, torch::kLong).unsqueeze(1);               // (B,1)
  const auto in_rows = starts + torch::arange(input_len_, torch::kLong).unsqueeze(0);  // (B,L)
  const auto out_rows =
      starts + input_len_ + torch::arange(horizon_, torch::kLong).unsqueeze(0);  // (B,H)
  Batch b;
  b.inputs = inputs_.index_select(0, in_rows.flatten())
                 .view({in_rows.size(0), input_len_, inputs_.size(1)});
  b.targets = target_.index_select(0, out_rows.flatten()).view({out_rows.size(0), horizon_});
  if (times_.defined()) {
    const auto all = torch::cat({in_rows, out_rows}, 1);
    b.times = times_.index_select(0, all.flatten()).view({all.size(0), all.size(1), kTimeFeatures});
  }
  return b;
}

TimeTable load_forecast_table(const nlohmann::json& d) {
  const std::string csv = d.at("csv");
  auto features = d.at("features").get<std::vector<std::string>>();
  std::string target = d.at("target");
  TimeTable table;
  if (csv.empty()) {
    const auto& s = d.at("synthetic");
    SyntheticSeriesOptions o;
    o.length = s.at("length");
    o.seed = s.at("seed");
    o.noise = s.at("noise");
    table = synthetic_series(o);
  } else {
    // Only the columns used must be numeric; the target defaults to the file's last column.
    std::vector<std::string> wanted = features;
    if (!target.empty()) wanted.push_back(target);
    table = read_csv_series(csv, d.at("time_column"),
                            target.empty() ? std::vector<std::string>{} : wanted);
  }
  if (target.empty()) target = table.columns.back();
  std::vector<std::string> channels = features;
  if (std::find(channels.begin(), channels.end(), target) == channels.end())
    channels.push_back(target);
  std::vector<int64_t> index;
  for (const auto& c : channels) index.push_back(table.column(c));
  table.values = table.values.index_select(1, torch::tensor(index, torch::kLong));
  table.columns = channels;
  return table;
}

}  // namespace attnzoo
