// Pieces of the self-contained HTML pages (incidents.html, the eval report,
// the dashboard): escaping, numbers and the state timeline as inline SVG.
#pragma once

#include <string>
#include <vector>

#include "core/time.h"

namespace rslicer::html {

std::string esc(const std::string& s);             // &, <, >, " escaped
std::string num(double v, int digits = 3);         // fixed digits; "-" when not finite
const char* palette(size_t i);                     // 10 categorical colours

// One decision point of a timeline.
struct TimelineRow {
  TimeUs time = 0;        // decision time
  double score = 0, threshold = 0;
  bool alarm = false;
  bool truth = false;     // inside a labelled fault (shaded); false when unknown
  int state = 0;          // runtime state (colour band)
};

// A vertical marker (a labelled fault, an incident start).
struct TimelineMark {
  TimeUs time = 0;
  std::string label;      // tooltip
  std::string colour = "#e6550d";
};

// One SVG panel per UTC day: anomaly score (line), threshold (dashed), alarms
// (red ticks), labelled faults (shaded), markers, runtime state (bottom band).
// `stride_s` breaks the lines where the timeline has a gap.
std::string timeline_svg(const std::vector<TimelineRow>& rows, const std::vector<TimelineMark>& marks, double stride_s);

}  // namespace rslicer::html
