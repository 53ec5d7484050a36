#pragma once
// A forecast as one figure: above, the input window, the truth after it and
// the forecast, on one time axis; below, the attention matrix (one row per
// output step, one column per input step), its columns under the input steps
// they weigh, so a row's bright cells point at the part of the curve above
// that the step looked at.
#include <opencv2/core.hpp>

#include <string>
#include <vector>

namespace attnzoo {

struct ForecastFigure {
  std::vector<double> history;   // the L input values of the target
  std::vector<double> truth;     // the H true values (fewer, or none, past the data's end)
  std::vector<double> forecast;  // the H forecast values
  std::vector<std::vector<double>> attention;  // H rows of L weights; empty: no matrix
  std::string title;
};

cv::Mat forecast_figure(const ForecastFigure& figure);
void write_forecast_figure(const std::string& png_path, const ForecastFigure& figure);

}  // namespace attnzoo
