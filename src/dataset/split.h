// The one split module: which slices and fault cases train, validate (early
// stopping) and test. Evaluation protocols (docs/evaluation.md) are folds of
// cases with time ranges; `rslicer train` holds out a time-ordered part with
// the same rules. Everywhere a slice belongs to a side only when its window
// lies inside that side's range, so slices that straddle a boundary belong
// to neither (a purge gap of up to one window), and no training window
// overlaps a validation or test window.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/config.h"
#include "core/time.h"
#include "telemetry/record.h"

namespace rslicer {

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

// kind: "zero-label" (one fold: every case is tested, none trains, the
// whole timeline is both sides: for methods that use no labels), "time" (published: cases sorted by time, the first train_fraction
// build, the rest test; the timeline is cut at the first test case's window
// start t - 59 s), "time-per-day" (the same inside each UTC day) or
// "leave-one-day-out" (one fold per day with cases) or "leave-one-case-out"
// (one fold per case: the case window [t - 59 s, end + 300 s) tests, the rest
// of the timeline and the other cases train). [data_first,
// data_last) is the whole timeline. Throws InvalidInput on an unknown kind or
// when a side would be empty.
CaseSplit make_split(const std::string& kind, const std::vector<FaultEvent>& faults, TimeUs data_first,
                     TimeUs data_last, double train_fraction = 0.6);

bool in_ranges(const std::vector<TimeRange>& ranges, TimeUs start, TimeUs end);  // [start, end) inside one range

// Slices of one fold: the fold's training slices in time order, the last
// `validation_fraction` of them (by count, at least one) cut off for early
// stopping, with the training slices that overlap the first validation slice
// purged; the test slices lie inside the fold's test ranges.
struct FoldSlices {
  std::vector<size_t> train;        // indices into the slices, time order
  std::vector<size_t> validation;
  std::vector<size_t> test;
};
// `windows` are the slices' [start, end), in time order.
FoldSlices fold_slices(const std::vector<TimeRange>& windows, const SplitFold& fold, double validation_fraction);

// The hold-out rule of `rslicer train`. With by = "time" the boundaries are
// fractions of the covered time (quantiles of the slice start times, so gaps
// between recorded periods do not move a boundary into a gap); with
// by = "cases" the test part starts 5 minutes before the first fault of the
// last (1 - train_fraction) of the faults sorted by start (the ART/DeST
// protocol) and validation likewise within the first part. train_fraction
// = 1 holds nothing out for testing (the whole data trains, its last
// validation_fraction validates).
struct SplitSpec {
  std::string by = "time";            // "time" or "cases"
  double train_fraction = 1.0;        // the first part (train + validation); the rest is test, never used
  double validation_fraction = 0.15;  // the last part of the first part is validation (early stopping)
  static const config::Schema<SplitSpec>& schema();
};

struct Split {
  std::vector<size_t> train;        // indices into the slices, in time order
  std::vector<size_t> validation;
  std::vector<size_t> test;
  std::vector<size_t> first_part;   // every slice before the test part: train, validation and the slices
                                    // that straddle their boundary (purged from both for early stopping)
  TimeUs validation_start = 0;      // boundaries (UTC microseconds)
  TimeUs test_start = 0;
};
// `faults` are only needed for by = "cases". Throws InvalidInput when the
// fractions are out of range or there are no slices.
Split time_split(const std::vector<TimeRange>& windows, const SplitSpec& spec, const std::vector<FaultEvent>& faults = {});

// [start, end) of every slice, for the functions above.
template <typename SliceT>
std::vector<TimeRange> slice_windows(const std::vector<SliceT>& slices) {
  std::vector<TimeRange> w;
  w.reserve(slices.size());
  for (const auto& s : slices) w.emplace_back(s.start, s.end);
  return w;
}

}  // namespace rslicer
