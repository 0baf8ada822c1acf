// Progress on long work, on stderr. On a terminal it redraws one line; when
// stderr is not a terminal (CI, pipes) it prints a line at most every
// `min_interval_s` seconds. Silent when disabled (--quiet).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace rslicer {

class Progress {
 public:
  // total <= 0 means unknown.
  Progress(std::string label, std::int64_t total, bool enabled = true, double min_interval_s = 5.0);
  ~Progress();

  // Sets the position and an optional status text ("loss 0.41 | 820 slices/s").
  void update(std::int64_t done, const std::string& status = "");
  void finish(const std::string& status = "");
  double elapsed_s() const;

  static void set_global_enabled(bool enabled);  // --quiet turns every bar off
  static bool global_enabled();                  // false under --quiet: status lines stay silent too

 private:
  void draw(bool final_line);

  std::string label_;
  std::int64_t total_;
  std::int64_t done_ = 0;
  std::string status_;
  bool enabled_;
  bool tty_;
  bool finished_ = false;
  double min_interval_s_;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace rslicer
