#include "train/curves.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <utility>

#include <opencv2/imgproc.hpp>

#include "data/error.h"
#include "data/images.h"
#include "data/text_io.h"

namespace attnzoo {

namespace {

// The loop writes flat objects; a line nested deeper than this, or longer
// than a megabyte, is not one of its lines and is not parsed (a parser's
// recursion must not meet an adversary's million brackets).
constexpr int kMaxDepth = 16;
constexpr size_t kMaxLine = size_t{1} << 20;
// Steps and figures beyond this are not plotted (and cannot upset the axes).
constexpr double kLargest = 1e15;

bool shallow(std::string_view line) {
  int depth = 0;
  for (const char c : line) {
    if (c == '[' || c == '{') {
      if (++depth > kMaxDepth) return false;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return true;
}

bool plottable(const nlohmann::json& v) {
  if (!v.is_number()) return false;
  const double x = v.get<double>();
  return std::isfinite(x) && std::abs(x) <= kLargest;
}

// Keeps `line` when it is one the loop writes: a JSON object with a step.
void add_line(RunLog& log, std::string_view line) {
  if (line.size() > kMaxLine || !shallow(line)) return;
  try {
    auto j = nlohmann::json::parse(line);
    if (j.is_object() && j.contains("step") && plottable(j.at("step")) &&
        j.at("step").get<double>() >= 0)
      log.lines.push_back(std::move(j));
  } catch (const nlohmann::json::exception&) {
  }
}

}  // namespace

RunLog read_run_log(const std::string& run_or_file) {
  const std::string path =
      std::filesystem::is_directory(run_or_file) ? run_or_file + "/metrics.jsonl" : run_or_file;
  if (!file_exists(path))
    throw UserError("{}: no such file (a run folder holds metrics.jsonl)", path);
  RunLog log;
  log.label = run_or_file;
  while (log.label.size() > 1 && log.label.back() == '/') log.label.pop_back();
  const std::string file = "/metrics.jsonl";
  if (log.label.size() > file.size() &&
      log.label.compare(log.label.size() - file.size(), file.size(), file) == 0)
    log.label.resize(log.label.size() - file.size());  // the run's folder names it
  for (const auto& line : read_lines(path)) add_line(log, line);
  return log;
}

RunLog parse_run_log(std::string_view text, const std::string& label) {
  RunLog log;
  log.label = label;
  while (!text.empty()) {
    const auto end = text.find('\n');
    add_line(log, text.substr(0, end));
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
  }
  return log;
}

std::vector<std::string> curve_panels(const std::vector<RunLog>& runs) {
  constexpr size_t kMaxPanels = 24;  // a figure, not a wall: the first 22 validation figures
  std::vector<std::string> panels = {"loss", "lr"};
  for (const auto& run : runs)
    for (const auto& line : run.lines)
      for (const auto& [key, value] : line.items())
        if (panels.size() < kMaxPanels && key.rfind("valid_", 0) == 0 && plottable(value) &&
            std::find(panels.begin(), panels.end(), key) == panels.end())
          panels.push_back(key);
  return panels;
}

namespace {

// Round tick marks covering [lo, hi]: a step of 1, 2 or 5 times a power of ten.
std::vector<double> ticks(double lo, double hi, int at_most) {
  if (!(hi > lo)) {  // a constant: a band around it, not below 0 for a figure that is not
    const double pad = lo == 0 ? 1.0 : std::abs(lo) * 0.1;
    lo = lo >= 0 ? std::max(0.0, lo - pad) : lo - pad;
    hi += pad;
  }
  const double raw = (hi - lo) / at_most;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  double step = power * 10;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * power >= raw) {
      step = m * power;
      break;
    }
  std::vector<double> out;
  for (double v = std::floor(lo / step) * step; v <= hi + step * 0.5; v += step) out.push_back(v);
  if (out.back() < hi) out.push_back(out.back() + step);
  return out;
}

// Ticks of a log axis over [lo, hi] (values, not logs): 1, 2 and 5 times the
// powers of ten inside, fewer where the range spans many decades; the ends
// where fewer than two fall inside. Returned as log10 of the values.
std::vector<double> log_ticks(double lo, double hi) {
  std::vector<double> out;
  const int first = static_cast<int>(std::floor(std::log10(lo))) - 1;
  const int last = static_cast<int>(std::ceil(std::log10(hi))) + 1;
  const std::vector<double> mantissas =
      last - first > 5 ? std::vector<double>{1.0} : std::vector<double>{1.0, 2.0, 5.0};
  for (int e = first; e <= last; ++e)
    for (double m : mantissas) {
      const double v = m * std::pow(10.0, e);
      if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out.push_back(std::log10(v));
    }
  if (out.size() < 2) {
    out = {std::log10(lo)};
    if (hi > lo) out.push_back(std::log10(hi));
  }
  return out;
}

std::string tick_label(double v) {
  if (v == 0) return "0";
  if (std::abs(v) >= 1e5 || std::abs(v) < 1e-3) return fmt::format("{:.1g}", v);
  return fmt::format("{:.3g}", v);
}

struct Point {
  double step, value;
};

// The run's (step, value) pairs of one panel.
std::vector<Point> points_of(const RunLog& run, const std::string& panel) {
  std::vector<Point> out;
  for (const auto& line : run.lines)
    if (line.contains(panel) && plottable(line.at(panel)))
      out.push_back({line.at("step").get<double>(), line.at(panel).get<double>()});
  return out;
}

// The step of the run's best evaluation: the last line marked "best" (the
// loop marks each evaluation that improved on all before it); 0 if none.
double best_step(const RunLog& run) {
  double step = 0;
  for (const auto& line : run.lines)
    if (line.contains("best") && line.at("best").is_boolean() && line.at("best").get<bool>())
      step = line.at("step").get<double>();
  return step;
}

const cv::Scalar kColours[] = {{180, 119, 31},  {14, 127, 255}, {44, 160, 44},   {40, 39, 214},
                               {189, 103, 148}, {75, 86, 140},  {194, 119, 227}, {127, 127, 127},
                               {34, 189, 188},  {207, 190, 23}};

void draw_panel(cv::Mat& img, cv::Rect area, const std::string& panel,
                const std::vector<RunLog>& runs, double max_step) {
  constexpr int kLeft = 62, kRight = 14, kTop = 26, kBottom = 34;
  const cv::Rect plot(area.x + kLeft, area.y + kTop, area.width - kLeft - kRight,
                      area.height - kTop - kBottom);
  const auto font = cv::FONT_HERSHEY_SIMPLEX;
  const cv::Scalar black(0, 0, 0), grid(228, 228, 228), grey(110, 110, 110);
  const bool log_y = panel == "lr";
  auto tr = [&](double v) { return log_y ? std::log10(v) : v; };

  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const auto& run : runs)
    for (const auto& p : points_of(run, panel)) {
      if (log_y && p.value <= 0) continue;
      lo = std::min(lo, tr(p.value));
      hi = std::max(hi, tr(p.value));
    }
  cv::putText(img, panel, {plot.x, area.y + 18}, font, 0.5, black, 1, cv::LINE_AA);
  cv::rectangle(img, plot, black, 1);
  if (!std::isfinite(lo)) {
    cv::putText(img, "not logged", {plot.x + plot.width / 2 - 45, plot.y + plot.height / 2}, font,
                0.45, grey, 1, cv::LINE_AA);
    return;
  }
  const auto y_ticks = log_y ? log_ticks(std::pow(10.0, lo), std::pow(10.0, hi)) : ticks(lo, hi, 5);
  const auto x_ticks = ticks(0, max_step, 5);
  // A log axis spans the data (padded a little), its ticks inside it.
  const double pad = log_y ? std::max(0.05, 0.05 * (hi - lo)) : 0.0;
  const double y0 = log_y ? lo - pad : y_ticks.front();
  const double y1 = log_y ? hi + pad : y_ticks.back();
  const double x1 = x_ticks.back();
  auto px = [&](double step) { return plot.x + static_cast<int>(step / x1 * plot.width); };
  auto py = [&](double v) {
    return plot.y + plot.height - static_cast<int>((tr(v) - y0) / (y1 - y0) * plot.height);
  };
  for (double t : y_ticks) {
    const int y = plot.y + plot.height - static_cast<int>((t - y0) / (y1 - y0) * plot.height);
    cv::line(img, {plot.x, y}, {plot.x + plot.width, y}, grid, 1);
    const std::string label = tick_label(log_y ? std::pow(10.0, t) : t);
    cv::putText(img, label, {plot.x - 8 - 8 * static_cast<int>(label.size()), y + 4}, font, 0.38,
                black, 1, cv::LINE_AA);
  }
  for (double t : x_ticks) {
    const int x = px(t);
    cv::line(img, {x, plot.y}, {x, plot.y + plot.height}, grid, 1);
    const std::string label = tick_label(t);
    cv::putText(img, label, {x - 4 * static_cast<int>(label.size()), plot.y + plot.height + 16},
                font, 0.38, black, 1, cv::LINE_AA);
  }
  cv::rectangle(img, plot, black, 1);
  const bool validation = panel.rfind("valid_", 0) == 0;
  for (size_t r = 0; r < runs.size(); ++r) {
    const auto colour = kColours[r % std::size(kColours)];
    const auto points = points_of(runs[r], panel);
    for (size_t i = 0; i < points.size(); ++i) {
      if (log_y && points[i].value <= 0) continue;
      const cv::Point p(px(points[i].step), py(points[i].value));
      if (i > 0 && !(log_y && points[i - 1].value <= 0))
        cv::line(img, {px(points[i - 1].step), py(points[i - 1].value)}, p, colour, 2, cv::LINE_AA);
      if (validation || points.size() == 1) cv::circle(img, p, 3, colour, cv::FILLED, cv::LINE_AA);
    }
    const double best = best_step(runs[r]);
    if (!validation || best <= 0) continue;
    for (const auto& point : points)
      if (point.step == best)
        cv::circle(img, {px(point.step), py(point.value)}, 8, colour, 2, cv::LINE_AA);
  }
  cv::putText(img, "step", {plot.x + plot.width - 30, plot.y + plot.height + 30}, font, 0.38, grey,
              1, cv::LINE_AA);
}

}  // namespace

void plot_curves(const std::vector<RunLog>& runs, const std::string& title,
                 const std::string& png) {
  double max_step = 0;
  for (const auto& run : runs)
    for (const auto& line : run.lines) max_step = std::max(max_step, line.at("step").get<double>());
  if (max_step <= 0) throw UserError("curves: no logged step to plot (metrics.jsonl is empty)");
  const auto panels = curve_panels(runs);
  constexpr int kPanelW = 470, kPanelH = 270, kColumns = 2, kHeader = 40, kLegendRow = 22;
  const int rows = static_cast<int>((panels.size() + kColumns - 1) / kColumns);
  const int legend_h = kLegendRow * static_cast<int>(runs.size()) + 30;
  cv::Mat img(kHeader + rows * kPanelH + legend_h, kColumns * kPanelW, CV_8UC3,
              cv::Scalar(255, 255, 255));
  cv::putText(img, title, {14, 26}, cv::FONT_HERSHEY_SIMPLEX, 0.6, {0, 0, 0}, 1, cv::LINE_AA);
  for (size_t i = 0; i < panels.size(); ++i) {
    const int row = static_cast<int>(i) / kColumns, col = static_cast<int>(i) % kColumns;
    draw_panel(img, {col * kPanelW, kHeader + row * kPanelH, kPanelW, kPanelH}, panels[i], runs,
               max_step);
  }
  const int legend_y = kHeader + rows * kPanelH + 16;
  for (size_t r = 0; r < runs.size(); ++r) {
    const int y = legend_y + kLegendRow * static_cast<int>(r);
    const auto colour = kColours[r % std::size(kColours)];
    cv::line(img, {20, y - 4}, {50, y - 4}, colour, 2, cv::LINE_AA);
    const double best = best_step(runs[r]);
    const std::string text =
        best > 0 ? fmt::format("{} (best at step {:g}, ringed)", runs[r].label, best)
                 : runs[r].label;
    cv::putText(img, text, {58, y}, cv::FONT_HERSHEY_SIMPLEX, 0.42, {0, 0, 0}, 1, cv::LINE_AA);
  }
  write_image(png, img);
}

}  // namespace attnzoo
