#include "dataset/split.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <set>

#include "core/errors.h"
#include "core/time.h"

namespace rslicer {

std::string utc_day(TimeUs t) { return format_time(t).substr(0, 10); }

bool in_ranges(const std::vector<TimeRange>& ranges, TimeUs start, TimeUs end) {
  for (const auto& r : ranges)
    if (start >= r.first && end <= r.second) return true;
  return false;
}

namespace {

constexpr TimeUs kCaseLead = 59 * kUsPerSecond;  // a case window starts at t - 59 s
constexpr TimeUs kCaseTail = 300 * kUsPerSecond;  // and ends 300 s after the fault
constexpr TimeUs kDay = 86400 * kUsPerSecond;

TimeUs day_start(TimeUs t) { return t >= 0 ? t - t % kDay : t - ((t % kDay) + kDay) % kDay; }

// Cases sorted by start; the first round-down(fraction * n) (at least 1, at most n - 1) train.
void split_sorted(const std::vector<FaultEvent>& faults, std::vector<size_t> cases, double fraction,
                  TimeUs first, TimeUs last, SplitFold& fold) {
  std::stable_sort(cases.begin(), cases.end(), [&](size_t a, size_t b) { return faults[a].start < faults[b].start; });
  RSLICER_CHECK(cases.size() >= 2, InvalidInput, "split: need at least 2 cases in [", format_time(first), ", ",
                format_time(last), "), got ", cases.size());
  size_t n_train = static_cast<size_t>(std::floor(fraction * cases.size() + 1e-9));
  n_train = std::clamp<size_t>(n_train, 1, cases.size() - 1);
  fold.train_cases.insert(fold.train_cases.end(), cases.begin(), cases.begin() + n_train);
  fold.test_cases.insert(fold.test_cases.end(), cases.begin() + n_train, cases.end());
  TimeUs boundary = faults[cases[n_train]].start - kCaseLead;
  fold.train_ranges.push_back({first, boundary});
  fold.test_ranges.push_back({boundary, last});
}

// What the folds leave triage on these labels: the test cases whose fault type no training case of their fold has
// (a classifier cannot name a type it never saw). Test cases without a fault type are left out of the count.
std::string unseen_types_note(const std::vector<FaultEvent>& faults, const std::vector<SplitFold>& folds) {
  std::map<std::string, int> unseen;
  int typed = 0, n = 0;
  for (const auto& f : folds) {
    std::set<std::string> seen;
    for (size_t c : f.train_cases) seen.insert(faults[c].fault_type);
    for (size_t c : f.test_cases) {
      const std::string& type = faults[c].fault_type;
      if (type.empty()) continue;
      ++typed;
      if (!seen.count(type)) {
        ++unseen[type];
        ++n;
      }
    }
  }
  if (typed == 0) return "";
  if (n == 0) return " On these labels every test case's fault type has training cases in its fold.";
  std::string list;
  for (const auto& [type, k] : unseen) list += (list.empty() ? "" : ", ") + type + " " + std::to_string(k);
  return " On these labels " + std::to_string(n) + " of " + std::to_string(typed) +
         " test cases have a fault type that no training case of their fold has (" + list +
         "): triage cannot name them.";
}

}  // namespace

CaseSplit make_split(const std::string& kind, const std::vector<FaultEvent>& faults, TimeUs data_first,
                     TimeUs data_last, double train_fraction) {
  RSLICER_CHECK(train_fraction > 0 && train_fraction < 1, InvalidInput, "split: train fraction must lie in (0, 1), got ",
                train_fraction);
  RSLICER_CHECK(!faults.empty(), InvalidInput, "split: the dataset has no labelled faults");
  CaseSplit s;
  s.kind = kind;
  s.train_fraction = train_fraction;
  std::vector<size_t> all(faults.size());
  std::iota(all.begin(), all.end(), 0);
  std::map<std::string, std::vector<size_t>> by_day;
  for (size_t i = 0; i < faults.size(); ++i) by_day[utc_day(faults[i].start)].push_back(i);

  if (kind == "time") {
    SplitFold f;
    f.name = "all";
    split_sorted(faults, all, train_fraction, data_first, data_last + 1, f);
    s.folds.push_back(std::move(f));
    s.description =
        "Published protocol (ART/DeST): all cases sorted by injection time, the first " +
        std::to_string(static_cast<int>(train_fraction * 100)) +
        " % train the heads (and the encoder), the rest are tested; the timeline is cut at the first test case's "
        "window start. Measures generalisation forward in time. Cannot measure fault types that occur only in the "
        "test part." +
        unseen_types_note(faults, s.folds);
  } else if (kind == "time-per-day") {
    SplitFold f;
    f.name = "per day";
    for (auto& [day, cases] : by_day) {
      TimeUs d0 = std::max(data_first, day_start(faults[cases[0]].start));
      TimeUs d1 = std::min(data_last + 1, day_start(faults[cases[0]].start) + kDay);
      split_sorted(faults, cases, train_fraction, d0, d1, f);
    }
    s.folds.push_back(std::move(f));
    s.description =
        "Time-ordered inside each day: on every day the first " +
        std::to_string(static_cast<int>(train_fraction * 100)) +
        " % of the cases train and the rest of that day is tested. The heads see earlier data of the same day (and "
        "the other days), so it measures forward-in-time generalisation within a deployment, not transfer to an "
        "unseen day." +
        unseen_types_note(faults, s.folds);
  } else if (kind == "zero-label") {
    SplitFold f;
    f.name = "all cases";
    f.test_cases = all;
    f.train_ranges.push_back({data_first, data_last + 1});
    f.test_ranges.push_back({data_first, data_last + 1});
    s.folds.push_back(std::move(f));
    s.train_fraction = 0;
    s.description =
        "Zero-label: every labelled case is a test case and no method sees a label (the encoder trains without "
        "weak labels, the heads are fitted label-free on the whole unlabelled timeline). Only methods that use no "
        "labels are scored (as Nezha and DeepHunt report); the normal profiles are built from the unlabelled data, "
        "leaving each slice's window out. AD numbers here are in-sample (the timeline is its own reference) and "
        "triage cannot be scored.";
  } else if (kind == "leave-one-case-out") {
    RSLICER_CHECK(faults.size() >= 2, InvalidInput, "leave-one-case-out needs at least 2 cases, got ", faults.size());
    for (size_t c : all) {
      SplitFold f;
      f.name = "case " + std::to_string(c) + " " + format_time(faults[c].start);
      f.test_cases = {c};
      const TimeUs a = std::max(data_first, faults[c].start - kCaseLead);
      const TimeUs b = std::min(data_last + 1, std::max(faults[c].end, faults[c].start) + kCaseTail);
      f.test_ranges.push_back({a, b});
      if (a > data_first) f.train_ranges.push_back({data_first, a});
      if (b < data_last + 1) f.train_ranges.push_back({b, data_last + 1});
      for (size_t o : all)
        if (o != c) f.train_cases.push_back(o);
      s.folds.push_back(std::move(f));
    }
    s.train_fraction = 0;
    s.description =
        "Leave one case out: one fold per case; the heads that use labels are fitted on the other cases, the "
        "held-out case's window [t - 59 s, end + 300 s) is tested and left out of their training slices. The "
        "encoder is trained once, without labels, on the whole timeline (it sees the held-out case's telemetry, "
        "never its label). Measures triage and the labelled root-cause heads without the day / fault-type "
        "confound of the time splits; AD numbers here cover only the case windows.";
    return s;
  } else if (kind == "leave-one-day-out") {
    RSLICER_CHECK(by_day.size() >= 2, InvalidInput, "leave-one-day-out needs cases on at least 2 days, got ",
                  by_day.size());
    for (auto& [day, cases] : by_day) {
      SplitFold f;
      f.name = "test day " + day;
      TimeUs d0 = day_start(faults[cases[0]].start);
      f.test_cases = cases;
      f.test_ranges.push_back({std::max(data_first, d0), std::min(data_last + 1, d0 + kDay)});
      for (auto& [other, oc] : by_day) {
        if (other == day) continue;
        f.train_cases.insert(f.train_cases.end(), oc.begin(), oc.end());
        TimeUs o0 = day_start(faults[oc[0]].start);
        f.train_ranges.push_back({std::max(data_first, o0), std::min(data_last + 1, o0 + kDay)});
      }
      s.folds.push_back(std::move(f));
    }
    s.description =
        "Leave one day out: train on the other day(s), test on a whole held-out day, results pooled over the folds. "
        "Measures transfer to a day (and pod instances) never seen. Where fault types cluster by day, triage "
        "cannot be measured here, as a held-out day's fault types then do not occur in training." +
        unseen_types_note(faults, s.folds);
    return s;
  } else {
    throw InvalidInput(
        cat("unknown split '", kind, "' (expected time, time-per-day, leave-one-day-out, leave-one-case-out or zero-label)"));
  }
  return s;
}

namespace {

// Slices whose window lies inside [a, b).
void windows_inside(const std::vector<TimeRange>& windows, TimeUs a, TimeUs b, std::vector<size_t>& out) {
  for (size_t i = 0; i < windows.size(); ++i)
    if (windows[i].first >= a && windows[i].second <= b) out.push_back(i);
}

}  // namespace

FoldSlices fold_slices(const std::vector<TimeRange>& windows, const SplitFold& fold, double validation_fraction) {
  RSLICER_CHECK(validation_fraction >= 0 && validation_fraction < 1, InvalidInput,
                "validation fraction must lie in [0, 1), got ", validation_fraction);
  FoldSlices out;
  std::vector<size_t> train;
  for (size_t i = 0; i < windows.size(); ++i) {
    if (in_ranges(fold.train_ranges, windows[i].first, windows[i].second)) train.push_back(i);
    else if (in_ranges(fold.test_ranges, windows[i].first, windows[i].second)) out.test.push_back(i);
  }
  if (train.empty() || validation_fraction <= 0) {
    out.train = std::move(train);
    return out;
  }
  size_t n_val = std::max<size_t>(1, static_cast<size_t>(train.size() * validation_fraction));
  n_val = std::min(n_val, train.size());
  const TimeUs validation_start = windows[train[train.size() - n_val]].first;
  for (size_t k = 0; k < train.size(); ++k) {
    const size_t i = train[k];
    if (k >= train.size() - n_val) out.validation.push_back(i);
    else if (windows[i].second <= validation_start) out.train.push_back(i);  // else overlaps validation: purged
  }
  return out;
}

const config::Schema<SplitSpec>& SplitSpec::schema() {
  static const auto s =
      config::Schema<SplitSpec>("split")
          .text("by", &SplitSpec::by, "boundaries by covered time or by fault cases", {"time", "cases"})
          .num("train_fraction", &SplitSpec::train_fraction,
               "share held for training (train + validation); the rest is a test part never used (1 = none)",
               config::Range::open_closed(0, 1))
          .num("validation_fraction", &SplitSpec::validation_fraction,
               "last share of the training part used for early stopping", config::Range::closed_open(0, 1));
  return s;
}

Split time_split(const std::vector<TimeRange>& windows, const SplitSpec& spec, const std::vector<FaultEvent>& faults) {
  SplitSpec::schema().validate(spec);
  RSLICER_CHECK(!windows.empty(), InvalidInput, "cannot split: no slices");
  Split split;
  TimeUs t0 = windows.front().first, t1 = windows.front().second;
  for (const auto& w : windows) {
    t0 = std::min(t0, w.first);
    t1 = std::max(t1, w.second);
  }
  if (spec.by == "time") {
    std::vector<TimeUs> starts;
    for (const auto& w : windows) starts.push_back(w.first);
    std::sort(starts.begin(), starts.end());
    const size_t n = starts.size();
    auto at = [&](double q) { return starts[std::min(n - 1, static_cast<size_t>(std::floor(q * n)))]; };
    split.test_start = spec.train_fraction >= 1 ? t1 + 1 : at(spec.train_fraction);
    split.validation_start = at(spec.train_fraction * (1.0 - spec.validation_fraction));
  } else {
    RSLICER_CHECK(faults.size() >= 2, InvalidInput, "split by cases needs at least 2 faults, got ", faults.size());
    std::vector<TimeUs> starts;
    for (const auto& f : faults) starts.push_back(f.start);
    std::sort(starts.begin(), starts.end());
    const size_t n = starts.size();
    const size_t n_first =
        spec.train_fraction >= 1 ? n
                                 : std::clamp<size_t>(static_cast<size_t>(std::llround(n * spec.train_fraction)), 1, n - 1);
    const size_t n_train = std::clamp<size_t>(
        static_cast<size_t>(std::llround(n_first * (1.0 - spec.validation_fraction))), 1, n_first);
    // each part starts a little before its first fault so the case's pre-fault windows belong to it
    split.test_start = n_first < n ? std::max(t0, starts[n_first] - 5 * kUsPerMinute) : t1 + 1;
    split.validation_start = n_train < n_first ? std::max(t0, starts[n_train] - 5 * kUsPerMinute) : split.test_start;
  }
  windows_inside(windows, INT64_MIN, split.validation_start, split.train);
  windows_inside(windows, split.validation_start, split.test_start, split.validation);
  windows_inside(windows, split.test_start, INT64_MAX, split.test);
  windows_inside(windows, INT64_MIN, split.test_start, split.first_part);
  return split;
}

}  // namespace rslicer
