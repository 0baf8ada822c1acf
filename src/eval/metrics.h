// Metrics of ../shared/docs/evaluation.md: the published protocol (event-level
// AD, weighted FT, AC@k / Avg@5) and the honest metrics beside it (point-wise
// P/R/F1, time in alarm, false alarms per day), plus bootstrap intervals.
// Plain C++ so the metrics compile and test in seconds.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/time.h"
#include "tasks/rootcause.h"  // rcl_match

namespace rslicer::eval {

struct Prf {
  double precision = 0, recall = 0, f1 = 0;
  std::int64_t tp = 0, fp = 0, fn = 0;
};
Prf make_prf(std::int64_t tp, std::int64_t fp, std::int64_t fn);  // 0 where a denominator is 0

// ---- anomaly detection ---------------------------------------------------

// One decision point on the timeline (one per slice): its time (the end of
// the slice's last stride, when the decision is final), the alarm and the
// ground truth (the slice overlaps a labelled fault).
struct AlarmPoint {
  TimeUs time = 0;
  bool alarm = false;
  bool truth = false;
};

struct Interval {
  TimeUs first = 0, last = 0;  // times of the first and last alarm point (inclusive)
  std::int64_t points = 0;
  bool hit = false;            // overlaps some case's hit window
};

struct EventOptions {
  double merge_gap_s = 600;       // alarm points closer than this join one interval (strictly less)
  bool drop_single_points = true; // intervals of one point are dropped
  double hit_before_s = 300;      // a case at t is hit by an interval overlapping [t - before, t + after]
  double hit_after_s = 300;
};

struct EventResult {
  Prf prf;                      // TP = cases hit, FN = cases missed, FP = intervals that hit no case
  std::vector<Interval> intervals;
  std::vector<bool> case_hit;   // per case
};

// Published event-level AD. `points` sorted by time; only points with alarm matter.
EventResult event_level(const std::vector<AlarmPoint>& points, const std::vector<TimeUs>& case_times,
                        const EventOptions& options = {});

struct PointResult {
  Prf prf;                          // per decision point
  double alarm_time_fraction = 0;   // alarms / points
  double false_alarms_per_day = 0;  // alarm runs (consecutive alarm points) overlapping no truth point, per day of timeline
  std::int64_t false_alarm_runs = 0;
  std::int64_t points = 0;
  double days = 0;
};
// Point-wise (honest) AD over a contiguous timeline of points with spacing `stride_s`.
PointResult point_wise(const std::vector<AlarmPoint>& points, double stride_s);

// Area under the ROC curve of `scores` against `truth` (tied scores count half): the chance that a random truth
// point scores above a random other one, whatever the threshold. Points whose score is NaN are left out; NaN unless
// both kinds of point remain. InvalidInput when the sizes differ.
double auroc(const std::vector<double>& scores, const std::vector<bool>& truth);

// ---- failure triage ------------------------------------------------------

struct ClassReport {
  double precision = 0, recall = 0, f1 = 0;
  std::int64_t support = 0;
};
struct TriageResult {
  double precision = 0, recall = 0, f1 = 0, accuracy = 0;  // weighted by support, as scikit-learn average='weighted'
  std::map<std::string, ClassReport> per_class;            // every label in truth or prediction
  std::vector<std::string> labels;                          // sorted labels of the confusion matrix
  std::vector<std::vector<std::int64_t>> confusion;         // [truth][predicted]
};
TriageResult weighted_prf(const std::vector<std::string>& truth, const std::vector<std::string>& predicted);

// ---- root cause localisation --------------------------------------------

// A ranking per case; `match(candidate, case)` decides whether a candidate
// names the case's root cause (exact entity matching, see rcl_match).
struct RclResult {
  double ac[6] = {0, 0, 0, 0, 0, 0};  // ac[k] = AC@k for k = 1..5 (ac[0] unused)
  double avg5 = 0;
  std::vector<int> rank;               // per case: 1-based rank of the first match, 0 = not ranked
};
RclResult rcl_metrics(const std::vector<int>& first_match_rank);

// 1-based rank of the first candidate matching the label, 0 when none.
int first_match(const std::vector<std::string>& ranked, const std::function<bool(const std::string&)>& match);

// ---- bootstrap -----------------------------------------------------------

struct Interval95 {
  double low = 0, high = 0;
};
// Percentile bootstrap over `units` resampled with replacement `samples`
// times (fixed seed); `stat` gets the resampled unit indices.
Interval95 bootstrap(std::int64_t units, const std::function<double(const std::vector<std::int64_t>&)>& stat,
                     int samples = 1000, std::uint64_t seed = 20240601);

}  // namespace rslicer::eval
