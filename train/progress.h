#pragma once
// One progress bar for every app. On a terminal it redraws one line on stderr
// (bar, counts, rate, ETA and a caller-supplied summary such as the loss); when
// stderr is not a terminal it prints a plain line at most every `line_every` seconds.
#include <chrono>
#include <functional>
#include <string>

namespace attnzoo {

class ProgressBar {
 public:
  ProgressBar(int64_t total, std::string label, double line_every_sec = 30.0);
  // `current` out of total; `summary` is shown after the counts.
  void update(int64_t current, const std::string& summary = "");
  // Leaves the last state on screen and moves to a new line.
  void finish(const std::string& summary = "");
  static bool stderr_is_terminal();

 private:
  void draw(int64_t current, const std::string& summary, bool final);
  int64_t total_;
  std::string label_;
  double line_every_;
  bool tty_;
  std::chrono::steady_clock::time_point start_, last_draw_;
  int64_t start_count_ = -1;
  int64_t last_current_ = 0;
  bool drawn_ = false;
};

// A callback (stage, done, total) for loaders that report progress, such as
// load_caption_data: one bar per stage, labelled "loading <stage> <what>",
// finished when done reaches total.
std::function<void(const std::string&, int64_t, int64_t)> stage_progress_bars(
    const std::string& what, double line_every_sec = 10.0);

// "1:02:03" or "2:03".
std::string format_duration(double seconds);

}  // namespace attnzoo
