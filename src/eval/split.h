// Case splits for evaluation (docs/evaluation.md). A split names which fault
// cases train the heads and which are tested, and which time ranges of the
// timeline belong to each side (slices straddling a boundary belong to
// neither). Leave-one-day-out has one fold per day; results are pooled.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/time.h"
#include "telemetry/record.h"

namespace rslicer::eval {

using TimeRange = std::pair<TimeUs, TimeUs>;  // [first, second)

struct SplitFold {
  std::string name;                       // "all" or "test day 2023-01-30"
  std::vector<size_t> train_cases;        // indices into the fault list
  std::vector<size_t> test_cases;
  std::vector<TimeRange> train_ranges;
  std::vector<TimeRange> test_ranges;
};

struct CaseSplit {
  std::string kind;                       // "time", "time-per-day", "leave-one-day-out"
  std::string description;                // what it can and cannot measure, for the report
  double train_fraction = 0.6;
  std::vector<SplitFold> folds;
};

// The UTC day ("YYYY-MM-DD") of a time.
std::string utc_day(TimeUs t);

// kind: "time" (published: cases sorted by time, the first train_fraction
// build, the rest test; the timeline is cut at the first test case's window
// start t - 59 s), "time-per-day" (the same inside each UTC day) or
// "leave-one-day-out" (one fold per day with cases). [data_first,
// data_last) is the whole timeline. Throws InvalidInput on an unknown kind or
// when a side would be empty.
CaseSplit make_split(const std::string& kind, const std::vector<FaultEvent>& faults, TimeUs data_first,
                     TimeUs data_last, double train_fraction = 0.6);

bool in_ranges(const std::vector<TimeRange>& ranges, TimeUs start, TimeUs end);  // [start, end) inside one range

}  // namespace rslicer::eval
