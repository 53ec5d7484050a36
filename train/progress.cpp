#include "train/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <memory>

namespace attnzoo {

std::function<void(const std::string&, int64_t, int64_t)> stage_progress_bars(
    const std::string& what, double line_every_sec) {
  auto bar = std::make_shared<std::unique_ptr<ProgressBar>>();
  auto stage = std::make_shared<std::string>();
  return [=](const std::string& name, int64_t done, int64_t total) {
    if (!*bar || *stage != name) {
      if (*bar) (*bar)->finish();
      *stage = name;
      *bar = std::make_unique<ProgressBar>(total, "loading " + name + " " + what, line_every_sec);
    }
    (*bar)->update(done);
    if (done >= total) {
      (*bar)->finish();
      bar->reset();
    }
  };
}

std::string format_duration(double seconds) {
  const auto s = static_cast<int64_t>(seconds < 0 ? 0 : seconds);
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

bool ProgressBar::stderr_is_terminal() { return isatty(fileno(stderr)) != 0; }

ProgressBar::ProgressBar(int64_t total, std::string label, double line_every_sec)
    : total_(total),
      label_(std::move(label)),
      line_every_(line_every_sec),
      tty_(stderr_is_terminal()) {
  start_ = last_draw_ = std::chrono::steady_clock::now();
}

void ProgressBar::update(int64_t current, const std::string& summary) {
  if (start_count_ < 0) start_count_ = current;
  last_current_ = current;
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_draw_).count();
  if (drawn_ && since < (tty_ ? 0.2 : line_every_)) return;
  draw(current, summary, false);
}

void ProgressBar::finish(const std::string& summary) {
  draw(last_current_, summary, true);
  if (tty_) std::fputc('\n', stderr);
  std::fflush(stderr);
}

void ProgressBar::draw(int64_t current, const std::string& summary, bool final) {
  const auto now = std::chrono::steady_clock::now();
  last_draw_ = now;
  drawn_ = true;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const int64_t done_here = current - std::max<int64_t>(start_count_, 0);
  const double rate = elapsed > 0 ? done_here / elapsed : 0.0;
  const double eta = rate > 0 && total_ > 0 ? (total_ - current) / rate : 0.0;
  std::string counts =
      total_ > 0 ? fmt::format("{}/{}", current, total_) : fmt::format("{}", current);
  std::string line;
  if (tty_) {
    constexpr int kWidth = 24;
    const double frac = total_ > 0 ? std::min(1.0, static_cast<double>(current) / total_) : 0.0;
    const int filled = static_cast<int>(frac * kWidth);
    line = fmt::format("\r{} [{}{}] {:3.0f}% {} {} {}<{}\x1b[K", label_, std::string(filled, '#'),
                       std::string(kWidth - filled, '.'), frac * 100, counts, summary,
                       format_duration(elapsed), final ? "done" : format_duration(eta));
  } else {
    line = fmt::format("{} {} {} elapsed {}{}\n", label_, counts, summary, format_duration(elapsed),
                       final ? "" : " eta " + format_duration(eta));
  }
  std::fputs(line.c_str(), stderr);
  std::fflush(stderr);
}

}  // namespace attnzoo
