#include "api/html.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

namespace rslicer::html {

std::string esc(const std::string& s) {
  std::string o;
  o.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      case '\'': o += "&#39;"; break;
      default: o += c;
    }
  }
  return o;
}

std::string num(double v, int digits) {
  if (!std::isfinite(v)) return "-";
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", digits, v);
  return b;
}

const char* palette(size_t i) {
  static const char* p[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7",
                            "#9c755f", "#bab0ac"};
  return p[i % 10];
}

std::string timeline_svg(const std::vector<TimelineRow>& rows, const std::vector<TimelineMark>& marks, double stride_s) {
  std::ostringstream h;
  // One panel per UTC day of the decision times (rows in time order); a day's short head that continues the
  // previous day's run (the last windows of a day decide just after midnight) stays in the previous panel.
  const TimeUs gap = static_cast<TimeUs>(3 * stride_s * kUsPerSecond);
  std::vector<std::pair<std::string, std::vector<size_t>>> days;
  for (size_t k = 0; k < rows.size(); ++k) {
    const std::string day = format_time(rows[k].time).substr(0, 10);
    const bool continues = !days.empty() && rows[k].time - rows[days.back().second.back()].time <= gap;
    const bool short_head = continues && days.back().first != day && [&] {
      size_t n = 0;
      for (size_t j = k; j < rows.size() && format_time(rows[j].time).substr(0, 10) == day && n < 60 &&
                         (j == k || rows[j].time - rows[j - 1].time <= gap);
           ++j)
        ++n;
      return n < 60;
    }();
    if (days.empty() || (days.back().first != day && !short_head)) days.push_back({day, {}});
    days.back().second.push_back(k);
  }
  // the legend names only what is drawn (a live stream has no labels)
  const bool any_truth = std::any_of(rows.begin(), rows.end(), [](const TimelineRow& r) { return r.truth; });
  for (auto& [day, idx] : days) {
    if (idx.size() < 2) continue;
    const double W = 1100, H = 190, left = 50, right = 10, top = 18, plot_h = 110;
    TimeUs t0 = rows[idx.front()].time, t1 = rows[idx.back()].time + 1;
    double smax = 1e-9;
    for (size_t k : idx)
      smax = std::max({smax, std::isfinite(rows[k].score) ? rows[k].score : 0.0,
                       std::isfinite(rows[k].threshold) ? rows[k].threshold : 0.0});
    smax *= 1.05;
    auto X = [&](TimeUs t) {
      return left + (W - left - right) * static_cast<double>(t - t0) / static_cast<double>(t1 - t0);
    };
    auto Y = [&](double s) { return top + plot_h - plot_h * std::min(1.0, std::max(0.0, s / smax)); };
    h << "<svg xmlns='http://www.w3.org/2000/svg' width='" << W << "' height='" << H << "' viewBox='0 0 " << W << " "
      << H << "' class='timeline'><rect x='0' y='0' width='" << W << "' height='" << H << "' fill='#fff'/>";
    h << "<text x='" << left << "' y='12' font-size='11' font-family='sans-serif'>" << esc(day)
      << " (UTC): anomaly score (line), threshold (dashed), alarms (red ticks), "
      << (any_truth ? "labelled faults (shaded), " : "") << (marks.empty() ? "" : "markers (vertical lines), ")
      << "runtime state (bottom band)</text>";
    const double bw =
        std::max(1.0, (W - left - right) * stride_s * kUsPerSecond / static_cast<double>(t1 - t0));  // one stride
    for (size_t k : idx) {
      const double x = X(rows[k].time);
      if (rows[k].truth)
        h << "<rect x='" << num(x, 1) << "' y='" << top << "' width='" << num(bw, 1) << "' height='" << plot_h
          << "' fill='#ffd8a8'/>";
      h << "<rect x='" << num(x, 1) << "' y='" << top + plot_h + 22 << "' width='" << num(bw + 0.5, 1)
        << "' height='12' fill='" << palette(static_cast<size_t>(std::max(0, rows[k].state))) << "'/>";
      if (rows[k].alarm)
        h << "<rect x='" << num(x, 1) << "' y='" << top + plot_h + 4 << "' width='" << num(bw, 1)
          << "' height='10' fill='#d62728'/>";
    }
    for (const auto& m : marks) {
      if (m.time < t0 || m.time > t1) continue;
      h << "<line x1='" << num(X(m.time), 1) << "' x2='" << num(X(m.time), 1) << "' y1='" << top << "' y2='"
        << top + plot_h << "' stroke='" << esc(m.colour) << "' stroke-width='1.5'><title>" << esc(m.label)
        << "</title></line>";
    }
    for (int which = 0; which < 2; ++which) {
      const char* style = which == 0 ? "fill='none' stroke='#1f77b4' stroke-width='1'"
                                     : "fill='none' stroke='#333' stroke-dasharray='4,3' stroke-width='1'";
      h << "<polyline " << style << " points='";
      for (size_t n = 0; n < idx.size(); ++n) {
        size_t k = idx[n];
        if (n > 0 && rows[k].time - rows[idx[n - 1]].time > gap)
          h << "'/><polyline " << style << " points='";
        double v = which == 0 ? (std::isfinite(rows[k].score) ? rows[k].score : smax) : rows[k].threshold;
        h << num(X(rows[k].time), 1) << "," << num(Y(v), 1) << " ";
      }
      h << "'/>";
    }
    for (TimeUs t = t0 - t0 % (3600 * kUsPerSecond) + 3600 * kUsPerSecond; t < t1; t += 3600 * kUsPerSecond)
      h << "<text x='" << num(X(t), 1) << "' y='" << H - 4 << "' font-size='10' font-family='sans-serif'>"
        << format_time(t).substr(11, 5) << "</text>";
    h << "<text x='2' y='" << top + 10 << "' font-size='10' font-family='sans-serif'>" << num(smax, 1) << "</text>";
    h << "<text x='2' y='" << top + plot_h + 33 << "' font-size='10' font-family='sans-serif'>state</text>";
    h << "</svg>";
  }
  return h.str();
}

}  // namespace rslicer::html
