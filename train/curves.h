#pragma once
// Training curves from metrics.jsonl: one panel per figure (training loss,
// learning rate, each validation metric) against steps, several runs overlaid
// in the same axes, each run's best evaluation ringed. The loop draws a run's
// own figure (<run>/curves.png) at every validation; `APP curves` overlays runs.
#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace attnzoo {

struct RunLog {
  std::string label;                  // the legend's name for the run
  std::vector<nlohmann::json> lines;  // metrics.jsonl, one object per line
};

// A run folder (its metrics.jsonl) or a metrics file; lines that are not JSON
// objects with a step (a log cut short by a kill), longer than 1 MB or nested
// deeper than 16 are skipped. UserError names a missing file.
RunLog read_run_log(const std::string& run_or_file);
// The same from metrics.jsonl's text (the loop's copy in memory).
RunLog parse_run_log(std::string_view text, const std::string& label);

// The panels' names in the order drawn: "loss", "lr", then every "valid_*"
// key that holds a number, in the order the runs first log them (24 at most).
// Numbers beyond 1e15 in size are not plotted.
std::vector<std::string> curve_panels(const std::vector<RunLog>& runs);

// Writes the figure; UserError when no run has a step to plot or `png` cannot be written.
void plot_curves(const std::vector<RunLog>& runs, const std::string& title, const std::string& png);

}  // namespace attnzoo
