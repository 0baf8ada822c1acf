#include "eval/metrics.h"

#include <algorithm>
#include <cmath>

#include <gtest/gtest.h>

#include "dataset/split.h"
#include "core/errors.h"

namespace rslicer::eval {
namespace {

const TimeUs kMin = 60 * kUsPerSecond;

TEST(EventLevel, MergesDropsSinglesAndCountsHits) {
  // Cases at minutes 100 and 200. Alarms: 98,99,100 (one interval, hits case 1);
  // 150 alone (single point, dropped); 300, 305 (gap 5 min < 10: one interval, FP);
  // nothing near 200 (FN).
  std::vector<AlarmPoint> pts;
  for (int m : {98, 99, 100, 150, 300, 305}) pts.push_back({m * kMin, true, false});
  pts.push_back({101 * kMin, false, true});
  auto r = event_level(pts, {100 * kMin, 200 * kMin});
  EXPECT_EQ(r.intervals.size(), 2u);
  EXPECT_EQ(r.prf.tp, 1);
  EXPECT_EQ(r.prf.fn, 1);
  EXPECT_EQ(r.prf.fp, 1);
  EXPECT_DOUBLE_EQ(r.prf.precision, 0.5);
  EXPECT_DOUBLE_EQ(r.prf.recall, 0.5);
  // A gap of exactly 600 s splits intervals.
  auto r2 = event_level({{0, true, false}, {kMin, true, false}, {11 * kMin, true, false}, {12 * kMin, true, false}},
                        {});
  EXPECT_EQ(r2.intervals.size(), 2u);
}

TEST(EventLevel, AlwaysAnomalousScoresOneButPointWiseDoesNot) {
  // The known weakness: one interval covering everything hits every case.
  std::vector<AlarmPoint> pts;
  for (int m = 0; m < 1000; ++m) pts.push_back({m * kMin, true, (m % 100) < 3});
  auto ev = event_level(pts, {50 * kMin, 250 * kMin, 650 * kMin});
  EXPECT_DOUBLE_EQ(ev.prf.f1, 1.0);
  auto pw = point_wise(pts, 60);
  EXPECT_NEAR(pw.prf.precision, 0.03, 1e-12);
  EXPECT_DOUBLE_EQ(pw.prf.recall, 1.0);
  EXPECT_DOUBLE_EQ(pw.alarm_time_fraction, 1.0);
}

TEST(PointWise, FalseAlarmRunsPerDay) {
  std::vector<AlarmPoint> pts;
  // 1440 points = 1 day; two false runs (10-12, 500), one true run (700-702 with truth at 701).
  for (int m = 0; m < 1440; ++m) {
    bool a = (m >= 10 && m <= 12) || m == 500 || (m >= 700 && m <= 702);
    pts.push_back({m * kMin, a, m == 701 || m == 703});
  }
  auto r = point_wise(pts, 60);
  EXPECT_EQ(r.false_alarm_runs, 2);
  EXPECT_NEAR(r.days, 1.0, 1e-12);
  EXPECT_NEAR(r.false_alarms_per_day, 2.0, 1e-12);
  EXPECT_EQ(r.prf.tp, 1);
  EXPECT_EQ(r.prf.fn, 1);
  EXPECT_EQ(r.prf.fp, 6);
}

TEST(Triage, WeightedMatchesScikitLearn) {
  // scikit-learn docs example: precision_recall_fscore_support(average='weighted')
  // = (0.2222..., 0.3333..., 0.2666...).
  std::vector<std::string> t = {"cat", "dog", "pig", "cat", "dog", "pig"};
  std::vector<std::string> p = {"cat", "pig", "dog", "cat", "cat", "dog"};
  auto r = weighted_prf(t, p);
  EXPECT_NEAR(r.precision, 2.0 / 9.0, 1e-12);
  EXPECT_NEAR(r.recall, 1.0 / 3.0, 1e-12);
  EXPECT_NEAR(r.f1, 4.0 / 15.0, 1e-12);
  EXPECT_EQ(r.confusion[0][0], 2);  // cat -> cat
  EXPECT_EQ(r.per_class.at("cat").support, 2);
  // A predicted label that never occurs gets weight 0 but still lowers the others' recall.
  auto r2 = weighted_prf({"a", "a"}, {"a", "b"});
  EXPECT_NEAR(r2.recall, 0.5, 1e-12);
  EXPECT_NEAR(r2.precision, 1.0, 1e-12);
}

TEST(Rcl, AcAtKAndExactMatching) {
  auto r = rcl_metrics({1, 2, 0, 5});
  EXPECT_DOUBLE_EQ(r.ac[1], 0.25);
  EXPECT_DOUBLE_EQ(r.ac[2], 0.5);
  EXPECT_DOUBLE_EQ(r.ac[5], 0.75);
  EXPECT_DOUBLE_EQ(r.avg5, (0.25 + 0.5 + 0.5 + 0.5 + 0.75) / 5);
  // Exact matching: no substring matches.
  EXPECT_FALSE(rcl_match("emailservice2-0", "emailservice2", "emailservice", "service"));
  EXPECT_TRUE(rcl_match("emailservice-0", "emailservice", "emailservice", "service"));
  EXPECT_FALSE(rcl_match("emailservice-1", "emailservice", "emailservice-0", "pod"));
  EXPECT_TRUE(rcl_match("emailservice-0", "emailservice", "emailservice-0", "pod"));
  EXPECT_EQ(first_match({"x", "y", "z"}, [](const std::string& s) { return s == "z"; }), 3);
  EXPECT_EQ(first_match({"x"}, [](const std::string& s) { return s == "z"; }), 0);
}

TEST(Bootstrap, IntervalCoversTheMeanAndIsDeterministic) {
  std::vector<double> v;
  for (int i = 0; i < 100; ++i) v.push_back(i % 10 == 0 ? 1.0 : 0.0);
  auto stat = [&](const std::vector<std::int64_t>& idx) {
    double s = 0;
    for (auto i : idx) s += v[i];
    return s / idx.size();
  };
  auto a = bootstrap(100, stat, 500, 7), b = bootstrap(100, stat, 500, 7);
  EXPECT_LT(a.low, 0.1);
  EXPECT_GT(a.high, 0.1);
  EXPECT_GT(a.low, 0.0);
  EXPECT_DOUBLE_EQ(a.low, b.low);
  EXPECT_DOUBLE_EQ(a.high, b.high);
}

TEST(PointWise, AurocCountsTiesHalfAndNeedsBothKinds) {
  // the values scikit-learn's roc_auc_score gives for the same inputs
  EXPECT_DOUBLE_EQ(auroc({0.1, 0.4, 0.35, 0.8}, {false, false, true, true}), 0.75);
  EXPECT_DOUBLE_EQ(auroc({1, 1, 2, 0}, {true, false, true, false}), 0.875);
  EXPECT_DOUBLE_EQ(auroc({3, 3, 3}, {true, false, false}), 0.5);
  EXPECT_TRUE(std::isnan(auroc({1, 2}, {true, true})));
  EXPECT_TRUE(std::isnan(auroc({}, {})));
  // a NaN score has no rank and is left out; infinity ranks above every number
  EXPECT_DOUBLE_EQ(auroc({0.6, std::nan(""), 0.5, INFINITY, 0.1}, {false, true, true, true, false}), 0.75);
  EXPECT_THROW(auroc({1, 2}, {true}), InvalidInput);
}

FaultEvent fault(const std::string& when, const std::string& type) {
  FaultEvent f;
  f.start = *parse_datetime(when);
  f.end = f.start + 180 * kUsPerSecond;
  f.fault_type = type;
  f.level = "pod";
  f.root_cause = "p";
  return f;
}

TEST(Split, TimePerDayAndLeaveOneDayOut) {
  std::vector<FaultEvent> f;
  for (int i = 0; i < 10; ++i) f.push_back(fault("2023-01-29 08:" + std::to_string(10 + i * 4) + ":00", "return"));
  for (int i = 0; i < 5; ++i) f.push_back(fault("2023-01-30 12:" + std::to_string(10 + i * 4) + ":00", "delay"));
  TimeUs first = *parse_datetime("2023-01-29 00:00:00"), last = *parse_datetime("2023-01-30 23:59:00");
  auto t = make_split("time", f, first, last);
  ASSERT_EQ(t.folds.size(), 1u);
  EXPECT_EQ(t.folds[0].train_cases.size(), 9u);  // floor(0.6 * 15)
  EXPECT_EQ(t.folds[0].test_cases.size(), 6u);
  EXPECT_EQ(t.folds[0].test_ranges[0].first, f[9].start - 59 * kUsPerSecond);
  auto d = make_split("time-per-day", f, first, last);
  EXPECT_EQ(d.folds[0].train_cases.size(), 6u + 3u);
  EXPECT_EQ(d.folds[0].train_ranges.size(), 2u);
  auto l = make_split("leave-one-day-out", f, first, last);
  ASSERT_EQ(l.folds.size(), 2u);
  EXPECT_EQ(l.folds[0].test_cases.size(), 10u);
  EXPECT_EQ(l.folds[1].test_cases.size(), 5u);
  EXPECT_TRUE(in_ranges(l.folds[0].test_ranges, f[0].start, f[0].end));
  EXPECT_FALSE(in_ranges(l.folds[0].train_ranges, f[0].start, f[0].end));
  // the descriptions name the test cases whose fault type their fold never trains on, from these labels
  EXPECT_NE(t.description.find("5 of 6 test cases have a fault type that no training case of their fold has "
                               "(delay 5)"),
            std::string::npos)
      << t.description;
  EXPECT_NE(d.description.find("every test case's fault type has training cases"), std::string::npos) << d.description;
  EXPECT_NE(l.description.find("15 of 15 test cases have a fault type that no training case of their fold has "
                               "(delay 5, return 10)"),
            std::string::npos)
      << l.description;
  EXPECT_THROW(make_split("random", f, first, last), InvalidInput);
}

TEST(Split, LeaveOneCaseOutHoldsOutEachCaseWindowAndTrainsOnTheRest) {
  std::vector<FaultEvent> f;
  for (int i = 0; i < 4; ++i) f.push_back(fault("2023-01-29 08:" + std::to_string(10 + i * 10) + ":00", "return"));
  TimeUs first = *parse_datetime("2023-01-29 00:00:00"), last = *parse_datetime("2023-01-29 23:59:00");
  auto s = make_split("leave-one-case-out", f, first, last);
  ASSERT_EQ(s.folds.size(), 4u);
  const TimeUs m = 60 * kUsPerSecond;
  for (size_t c = 0; c < 4; ++c) {
    const SplitFold& k = s.folds[c];
    ASSERT_EQ(k.test_cases, std::vector<size_t>{c});
    EXPECT_EQ(k.train_cases.size(), 3u);
    EXPECT_EQ(std::count(k.train_cases.begin(), k.train_cases.end(), c), 0);
    // the case window [t - 59 s, end + 300 s) is tested and in no training range
    EXPECT_TRUE(in_ranges(k.test_ranges, f[c].start - 59 * kUsPerSecond, f[c].end + 300 * kUsPerSecond));
    EXPECT_FALSE(in_ranges(k.train_ranges, f[c].start - m, f[c].start + m));
    EXPECT_FALSE(in_ranges(k.train_ranges, f[c].end + 4 * m, f[c].end + 5 * m));
    // the other cases' windows train
    for (size_t o = 0; o < 4; ++o) {
      if (o != c) {
        EXPECT_TRUE(in_ranges(k.train_ranges, f[o].start, f[o].end)) << c << " " << o;
      }
    }
  }
  std::vector<FaultEvent> one = {f[0]};
  EXPECT_THROW(make_split("leave-one-case-out", one, first, last), InvalidInput);
}

}  // namespace
}  // namespace rslicer::eval
