#include "core/progress.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>

namespace rslicer {

namespace {
std::atomic<bool> g_enabled{true};
}

void Progress::set_global_enabled(bool enabled) { g_enabled = enabled; }
bool Progress::global_enabled() { return g_enabled; }

Progress::Progress(std::string label, std::int64_t total, bool enabled, double min_interval_s)
    : label_(std::move(label)),
      total_(total),
      enabled_(enabled && g_enabled),
      tty_(isatty(STDERR_FILENO) != 0),
      min_interval_s_(tty_ ? 0.1 : min_interval_s),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

Progress::~Progress() {
  if (!finished_) finish();
}

double Progress::elapsed_s() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::update(std::int64_t done, const std::string& status) {
  done_ = done;
  status_ = status;
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (std::chrono::duration<double>(now - last_draw_).count() < min_interval_s_) return;
  last_draw_ = now;
  draw(false);
}

void Progress::finish(const std::string& status) {
  if (finished_) return;
  finished_ = true;
  if (!status.empty()) status_ = status;
  if (total_ > 0) done_ = std::max(done_, total_);
  if (enabled_) draw(true);
}

void Progress::draw(bool final_line) {
  char bar[64] = "";
  if (total_ > 0) {
    const double frac = std::min(1.0, static_cast<double>(done_) / static_cast<double>(total_));
    const int width = 24;
    const int filled = static_cast<int>(frac * width);
    std::string b(filled, '#');
    b.append(width - filled, '.');
    std::snprintf(bar, sizeof bar, "[%s] %3.0f%% ", b.c_str(), frac * 100.0);
  }
  const double el = elapsed_s();
  // with an unknown total the position means nothing on its own: the status says what was done
  std::string pos = total_ > 0 ? std::to_string(done_) + "/" + std::to_string(total_) + " " : "";
  if (tty_) {
    std::fprintf(stderr, "\r\033[K%s %s%s%.0fs %s", label_.c_str(), bar, pos.c_str(), el, status_.c_str());
    if (final_line) std::fputc('\n', stderr);
  } else {
    std::fprintf(stderr, "%s %s%s%.0fs %s\n", label_.c_str(), bar, pos.c_str(), el, status_.c_str());
  }
  std::fflush(stderr);
}

}  // namespace rslicer
