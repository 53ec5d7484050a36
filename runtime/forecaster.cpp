// A forecaster's file (`forecast export`): a window of input_len rows of the
// model's channels in, the next horizon values of its target out.
#include <fmt/format.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <ostream>
#include <sstream>

#include "data/error.h"
#include "data/text_io.h"
#include "runtime/inputs.h"
#include "runtime/kinds.h"

namespace attnzoo::runtime {
namespace {

using nlohmann::json;

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> cells;
  std::stringstream s(line);
  for (std::string cell; std::getline(s, cell, ',');) cells.push_back(cell);
  return cells;
}

class Forecaster : public ExportedKind {
 public:
  explicit Forecaster(ExportedFile file) : ExportedKind(std::move(file)) {
    for (const auto& c : module().attr("channels").toListRef())
      channels_.push_back(c.toStringRef());
    input_len_ = module().attr("input_len").toInt();
    horizon_ = module().attr("horizon").toInt();
    target_ = channels_.at(static_cast<size_t>(module().attr("target").toInt()));
    time_features_ = module().attr("time_features").toBool();
  }

  std::string one_field() const override { return "values"; }
  std::string many_field() const override { return "windows"; }
  std::vector<std::string> fields() const override { return {"values", "windows"}; }
  Input options(const json& /*request*/) const override { return {}; }

  void read(const json& rows, const std::string& where, const Limits& /*limits*/,
            Input& into) const override {
    if (time_features_)
      throw bad("this forecaster needs calendar features, which zoo-serve does not take");
    const auto width = static_cast<int64_t>(channels_.size());
    const std::string shape =
        fmt::format("{} rows of {} numbers ({})", input_len_, width, fmt::join(channels_, ", "));
    if (!rows.is_array() || static_cast<int64_t>(rows.size()) != input_len_)
      throw bad(fmt::format("{}: must be {}", where, shape));
    auto out = torch::empty({input_len_, width});
    auto a = out.accessor<float, 2>();
    for (int64_t i = 0; i < input_len_; ++i) {
      const auto& row = rows[static_cast<size_t>(i)];
      if (!row.is_array() || static_cast<int64_t>(row.size()) != width)
        throw bad(fmt::format("{}[{}]: must be {} numbers ({})", where, i, width,
                              fmt::join(channels_, ", ")));
      for (int64_t c = 0; c < width; ++c) {
        const auto& v = row[static_cast<size_t>(c)];
        // Within float range: a larger double passes isfinite and becomes inf.
        if (!v.is_number() || !std::isfinite(v.get<double>()) ||
            std::abs(v.get<double>()) > static_cast<double>(FLT_MAX))
          throw bad(fmt::format("{}[{}][{}]: must be a finite number within float range, not {}",
                                where, i, c, brief(v)));
        a[i][c] = v.get<float>();
      }
    }
    into.tensor = out;
  }

  std::optional<Input> warm_up_input() const override {
    if (time_features_) return std::nullopt;  // not served; nothing to warm
    Input input;
    input.tensor = torch::zeros({input_len_, static_cast<int64_t>(channels_.size())});
    return input;
  }

  std::vector<json> run(const std::vector<Input>& inputs) override {
    std::vector<torch::Tensor> windows;
    for (const auto& input : inputs) windows.push_back(input.tensor);
    const auto result = module().forward({torch::stack(windows)});
    const auto forecast =
        result.toTupleRef().elements()[0].toTensor().to(torch::kDouble).contiguous();
    std::vector<json> out(inputs.size());
    for (size_t i = 0; i < inputs.size(); ++i) {
      const auto row = forecast[static_cast<int64_t>(i)];
      out[i]["target"] = target_;
      out[i]["forecast"] =
          std::vector<double>(row.data_ptr<double>(), row.data_ptr<double>() + row.numel());
    }
    return out;
  }

  json info() const override {
    return {{"channels", channels_}, {"input_len", input_len_}, {"horizon", horizon_}};
  }

  KindSchema schema(const Limits& /*limits*/) const override {
    const json number = {{"type", "number"}};
    const auto width = static_cast<int64_t>(channels_.size());
    KindSchema s;
    s.input = array_of(array_of(number, width, width), input_len_, input_len_);
    s.result["target"] = {{"type", "string"}, {"enum", {target_}}};
    s.result["forecast"] = array_of(number, horizon_, horizon_);
    s.result_required = {"target", "forecast"};
    return s;
  }

  std::vector<std::string> cli_flags() const override { return {"--csv", "--at"}; }

  void run_cli(const CliInputs& given, std::istream& /*in*/, std::ostream& out) override {
    if (given.csv.empty())
      throw UserError(
          "a forecast model needs --csv FILE (and --at ROW; default: after the last row)");
    if (time_features_)
      throw UserError(
          "this forecaster needs calendar features: call forward(values, times) from code");
    Input input;
    input.tensor = read_window(given.csv, given.at);
    const auto forecast = run({input})[0].at("forecast").get<std::vector<double>>();
    out << "step," << target_ << "_forecast\n";
    for (size_t k = 0; k < forecast.size(); ++k) out << k + 1 << ',' << forecast[k] << '\n';
  }

 private:
  // The model's input channels over rows [at - L, at) of a CSV with a header
  // naming them (any other columns, the time column included, are ignored).
  torch::Tensor read_window(const std::string& path, int64_t at) const {
    const auto lines = read_lines(path);  // BOM and \r dropped, UTF-8 checked
    if (lines.empty()) throw UserError(path + ": empty file");
    const auto header = split(lines[0]);
    std::vector<size_t> cells;
    for (const auto& c : channels_) {
      const auto it = std::find(header.begin(), header.end(), c);
      if (it == header.end())
        throw UserError(path + ": no column \"" + c + "\" (the model reads it)");
      cells.push_back(static_cast<size_t>(it - header.begin()));
    }
    std::vector<std::vector<float>> rows;
    for (size_t n = 2; n <= lines.size(); ++n) {
      const auto& line = lines[n - 1];
      if (line.empty()) continue;
      const auto row = split(line);
      std::vector<float> values;
      for (size_t c : cells) {
        float v = 0;
        try {
          v = std::stof(row.at(c));
        } catch (const std::exception&) {
          throw UserError("{}:{}: column \"{}\" is not a number", path, n, header[c]);
        }
        if (!std::isfinite(v))
          throw UserError("{}:{}: column \"{}\" is {}, not a finite number", path, n, header[c], v);
        values.push_back(v);
      }
      rows.push_back(values);
    }
    const int64_t total = static_cast<int64_t>(rows.size());
    if (at < 0) at = total;
    if (at < input_len_ || at > total)
      throw UserError("{}: --at {} needs {} rows before it, and the file has {}", path, at,
                      input_len_, total);
    auto window = torch::empty({input_len_, static_cast<int64_t>(cells.size())});
    for (int64_t i = 0; i < input_len_; ++i)
      for (size_t c = 0; c < cells.size(); ++c)
        window[i][static_cast<int64_t>(c)] = rows[static_cast<size_t>(at - input_len_ + i)][c];
    return window;
  }

  std::vector<std::string> channels_;
  std::string target_;
  int64_t input_len_ = 0, horizon_ = 0;
  bool time_features_ = false;
};

}  // namespace

std::unique_ptr<ExportedKind> make_forecaster(ExportedFile file) {
  return std::make_unique<Forecaster>(std::move(file));
}

}  // namespace attnzoo::runtime
