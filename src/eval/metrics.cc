#include "eval/metrics.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <set>

namespace rslicer::eval {

Prf make_prf(std::int64_t tp, std::int64_t fp, std::int64_t fn) {
  Prf r;
  r.tp = tp;
  r.fp = fp;
  r.fn = fn;
  r.precision = tp + fp > 0 ? static_cast<double>(tp) / (tp + fp) : 0;
  r.recall = tp + fn > 0 ? static_cast<double>(tp) / (tp + fn) : 0;
  r.f1 = r.precision + r.recall > 0 ? 2 * r.precision * r.recall / (r.precision + r.recall) : 0;
  return r;
}

EventResult event_level(const std::vector<AlarmPoint>& points, const std::vector<TimeUs>& case_times,
                        const EventOptions& o) {
  EventResult res;
  const TimeUs gap = static_cast<TimeUs>(o.merge_gap_s * kUsPerSecond);
  for (const auto& p : points) {
    if (!p.alarm) continue;
    if (!res.intervals.empty() && p.time - res.intervals.back().last < gap) {
      res.intervals.back().last = p.time;
      res.intervals.back().points++;
    } else {
      res.intervals.push_back({p.time, p.time, 1, false});
    }
  }
  if (o.drop_single_points)
    res.intervals.erase(std::remove_if(res.intervals.begin(), res.intervals.end(),
                                       [](const Interval& iv) { return iv.points <= 1; }),
                        res.intervals.end());
  const TimeUs before = static_cast<TimeUs>(o.hit_before_s * kUsPerSecond);
  const TimeUs after = static_cast<TimeUs>(o.hit_after_s * kUsPerSecond);
  res.case_hit.assign(case_times.size(), false);
  for (size_t c = 0; c < case_times.size(); ++c)
    for (auto& iv : res.intervals)
      if (iv.first <= case_times[c] + after && iv.last >= case_times[c] - before) {
        res.case_hit[c] = true;
        iv.hit = true;
      }
  std::int64_t tp = std::count(res.case_hit.begin(), res.case_hit.end(), true);
  std::int64_t fn = static_cast<std::int64_t>(case_times.size()) - tp;
  std::int64_t fp = std::count_if(res.intervals.begin(), res.intervals.end(), [](const Interval& iv) { return !iv.hit; });
  res.prf = make_prf(tp, fp, fn);
  return res;
}

PointResult point_wise(const std::vector<AlarmPoint>& points, double stride_s) {
  PointResult r;
  std::int64_t tp = 0, fp = 0, fn = 0, alarms = 0;
  const TimeUs max_step = static_cast<TimeUs>(1.5 * stride_s * kUsPerSecond);
  bool in_run = false, run_true = false;
  TimeUs prev_time = 0;
  for (const auto& p : points) {
    if (p.alarm) ++alarms;
    if (p.alarm && p.truth) ++tp;
    if (p.alarm && !p.truth) ++fp;
    if (!p.alarm && p.truth) ++fn;
    bool continues = in_run && p.alarm && p.time - prev_time <= max_step;
    if (in_run && !continues) {
      if (!run_true) r.false_alarm_runs++;
      in_run = false;
    }
    if (p.alarm) {
      if (!in_run) {
        in_run = true;
        run_true = false;
      }
      run_true = run_true || p.truth;
    }
    prev_time = p.time;
  }
  if (in_run && !run_true) r.false_alarm_runs++;
  r.prf = make_prf(tp, fp, fn);
  r.points = static_cast<std::int64_t>(points.size());
  r.alarm_time_fraction = r.points > 0 ? static_cast<double>(alarms) / r.points : 0;
  r.days = r.points * stride_s / 86400.0;
  r.false_alarms_per_day = r.days > 0 ? r.false_alarm_runs / r.days : 0;
  return r;
}

double auroc(const std::vector<double>& scores, const std::vector<bool>& truth) {
  RSLICER_CHECK(scores.size() == truth.size(), InvalidInput, "auroc: ", scores.size(), " scores for ", truth.size(),
                " points");
  std::vector<size_t> order;  // the points with a score (NaN has no rank; infinity ranks above every number)
  for (size_t i = 0; i < scores.size(); ++i)
    if (!std::isnan(scores[i])) order.push_back(i);
  const size_t n = order.size();
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  // Mann-Whitney: the sum of the truth points' mid-ranks
  double rank_sum = 0, positives = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && scores[order[j]] == scores[order[i]]) ++j;
    const double mid = 0.5 * static_cast<double>(i + 1 + j);  // ranks i + 1 .. j
    for (size_t k = i; k < j; ++k)
      if (truth[order[k]]) {
        rank_sum += mid;
        positives += 1;
      }
    i = j;
  }
  const double negatives = static_cast<double>(n) - positives;
  if (positives == 0 || negatives == 0) return std::nan("");
  return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives);
}

TriageResult weighted_prf(const std::vector<std::string>& truth, const std::vector<std::string>& predicted) {
  TriageResult r;
  std::set<std::string> labels(truth.begin(), truth.end());
  labels.insert(predicted.begin(), predicted.end());
  r.labels.assign(labels.begin(), labels.end());
  std::map<std::string, size_t> idx;
  for (size_t i = 0; i < r.labels.size(); ++i) idx[r.labels[i]] = i;
  r.confusion.assign(r.labels.size(), std::vector<std::int64_t>(r.labels.size(), 0));
  std::int64_t correct = 0;
  for (size_t i = 0; i < truth.size() && i < predicted.size(); ++i) {
    r.confusion[idx[truth[i]]][idx[predicted[i]]]++;
    if (truth[i] == predicted[i]) ++correct;
  }
  std::int64_t total = static_cast<std::int64_t>(truth.size());
  for (size_t c = 0; c < r.labels.size(); ++c) {
    std::int64_t tp = r.confusion[c][c], support = 0, predicted_c = 0;
    for (size_t k = 0; k < r.labels.size(); ++k) {
      support += r.confusion[c][k];
      predicted_c += r.confusion[k][c];
    }
    Prf p = make_prf(tp, predicted_c - tp, support - tp);
    r.per_class[r.labels[c]] = {p.precision, p.recall, p.f1, support};
    if (total > 0) {
      double w = static_cast<double>(support) / total;
      r.precision += w * p.precision;
      r.recall += w * p.recall;
      r.f1 += w * p.f1;
    }
  }
  r.accuracy = total > 0 ? static_cast<double>(correct) / total : 0;
  return r;
}

RclResult rcl_metrics(const std::vector<int>& first_match_rank) {
  RclResult r;
  r.rank = first_match_rank;
  if (first_match_rank.empty()) return r;
  for (int k = 1; k <= 5; ++k) {
    std::int64_t hits = 0;
    for (int rank : first_match_rank)
      if (rank >= 1 && rank <= k) ++hits;
    r.ac[k] = static_cast<double>(hits) / first_match_rank.size();
    r.avg5 += r.ac[k] / 5;
  }
  return r;
}

int first_match(const std::vector<std::string>& ranked, const std::function<bool(const std::string&)>& match) {
  for (size_t i = 0; i < ranked.size(); ++i)
    if (match(ranked[i])) return static_cast<int>(i) + 1;
  return 0;
}

Interval95 bootstrap(std::int64_t units, const std::function<double(const std::vector<std::int64_t>&)>& stat,
                     int samples, std::uint64_t seed) {
  Interval95 r;
  if (units <= 0 || samples <= 0) return r;
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::int64_t> pick(0, units - 1);
  std::vector<double> values;
  values.reserve(samples);
  std::vector<std::int64_t> idx(units);
  for (int s = 0; s < samples; ++s) {
    for (auto& i : idx) i = pick(rng);
    double v = stat(idx);
    if (std::isfinite(v)) values.push_back(v);
  }
  if (values.empty()) return r;
  std::sort(values.begin(), values.end());
  auto at = [&](double q) {
    double pos = q * (values.size() - 1);
    size_t i = static_cast<size_t>(pos);
    double f = pos - i;
    return values[i] + (i + 1 < values.size() ? f * (values[i + 1] - values[i]) : 0);
  };
  r.low = at(0.025);
  r.high = at(0.975);
  return r;
}

}  // namespace rslicer::eval
