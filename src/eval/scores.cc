#include "eval/scores.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace rslicer::eval {

namespace {

using Json = nlohmann::json;

TimeUs us(double s) { return static_cast<TimeUs>(s * kUsPerSecond); }

std::vector<AlarmPoint> in_case_windows(const std::vector<AlarmPoint>& pts, const std::vector<TimeUs>& cases,
                                        const EvalOptions& o) {
  std::vector<AlarmPoint> out;
  for (const auto& p : pts)
    for (TimeUs t : cases)
      if (p.time >= t - us(o.case_lead_s) && p.time < t + us(o.case_tail_s)) {
        out.push_back(p);
        break;
      }
  return out;
}

Json prf_json(const Prf& p) {
  return {{"precision", p.precision}, {"recall", p.recall}, {"f1", p.f1}, {"tp", p.tp}, {"fp", p.fp}, {"fn", p.fn}};
}

Json rcl_json(const RclResult& r) {
  Json j;
  for (int k = 1; k <= 5; ++k) j["ac@" + std::to_string(k)] = r.ac[k];
  j["avg@5"] = r.avg5;
  return j;
}

}  // namespace

MethodScores score(const MethodResult& run, const EvalData& data, const std::vector<size_t>& test_cases,
                   const EvalOptions& o, std::uint64_t seed) {
  MethodScores s;
  s.name = run.name;
  s.family = run.family;
  s.note = run.note;
  s.fold_info = run.fold_info;
  const int B = o.bootstrap_samples;
  std::vector<TimeUs> case_times;
  for (size_t f : test_cases) case_times.push_back(data.faults[f].start);
  if (run.ad) {
    const AdRun& ad = *run.ad;
    AdScores a;
    a.event = event_level(in_case_windows(ad.points, case_times, o), case_times);
    a.event_full = event_level(ad.points, case_times);
    a.point = point_wise(ad.points, data.stride_s);
    {
      // the score as the decision reads it, relative to its threshold where every threshold is positive (the
      // threshold moves with SPOT's updates and differs between folds); else (a threshold of 0 or less anywhere,
      // as always_anomalous has) the scores themselves, pooled as they are
      const bool relative = ad.thresholds.size() == ad.scores.size() &&
                            std::all_of(ad.thresholds.begin(), ad.thresholds.end(), [](double t) { return t > 0; });
      std::vector<double> x;
      std::vector<bool> truth;
      for (size_t k = 0; k < ad.points.size() && k < ad.scores.size(); ++k) {
        x.push_back(relative ? ad.scores[k] / ad.thresholds[k] : ad.scores[k]);
        truth.push_back(ad.points[k].truth);
      }
      a.auroc = auroc(x, truth);
      if (ad.part_scores.size() == ad.points.size())
        for (int p = 0; p < 4; ++p) {
          std::vector<double> xp;
          for (const auto& parts : ad.part_scores) xp.push_back(parts[p]);
          if (!xp.empty() && std::all_of(xp.begin(), xp.end(), [](double v) { return std::isfinite(v); }))
            a.part_auroc[kAdPartKeys[p]] = auroc(xp, truth);
        }
    }
    std::map<std::string, std::pair<int, int>> hit, prec;
    for (size_t c = 0; c < test_cases.size(); ++c) {
      auto& h = hit[data.faults[test_cases[c]].fault_type];
      h.second++;
      if (a.event.case_hit[c]) h.first++;
    }
    for (size_t k = 0; k < ad.points.size(); ++k)
      if (ad.points[k].truth) {
        auto& h = prec[data.faults[ad.point_faults[k][0]].fault_type];
        h.second++;
        if (ad.points[k].alarm) h.first++;
      }
    for (auto& [t, h] : hit) a.event_recall_by_type[t] = static_cast<double>(h.first) / h.second;
    for (auto& [t, h] : prec) a.point_recall_by_type[t] = static_cast<double>(h.first) / h.second;
    // Intervals: point F1 by hour blocks, event recall by cases.
    std::map<TimeUs, std::vector<size_t>> blocks;
    for (size_t k = 0; k < ad.points.size(); ++k) blocks[ad.points[k].time / (3600 * kUsPerSecond)].push_back(k);
    std::vector<std::vector<size_t>> bl;
    for (auto& [b, v] : blocks) bl.push_back(v);
    s.ci95["ad.point.f1"] = bootstrap(
        static_cast<std::int64_t>(bl.size()),
        [&](const std::vector<std::int64_t>& idx) {
          std::int64_t tp = 0, fp = 0, fn = 0;
          for (auto b : idx)
            for (size_t k : bl[b]) {
              const auto& p = ad.points[k];
              tp += p.alarm && p.truth;
              fp += p.alarm && !p.truth;
              fn += !p.alarm && p.truth;
            }
          return make_prf(tp, fp, fn).f1;
        },
        B, seed);
    const auto& case_hit = a.event.case_hit;
    s.ci95["ad.event.recall"] = bootstrap(
        static_cast<std::int64_t>(case_hit.size()),
        [&](const std::vector<std::int64_t>& idx) {
          double h = 0;
          for (auto i : idx) h += case_hit[i];
          return h / idx.size();
        },
        B, seed);
    s.ad = std::move(a);
  }
  if (run.ft) {
    const FtRun& ft = *run.ft;
    s.ft = weighted_prf(ft.truth, ft.pred);
    s.ci95["ft.f1"] = bootstrap(
        static_cast<std::int64_t>(ft.truth.size()),
        [&](const std::vector<std::int64_t>& idx) {
          std::vector<std::string> a, b;
          for (auto i : idx) {
            a.push_back(ft.truth[i]);
            b.push_back(ft.pred[i]);
          }
          return weighted_prf(a, b).f1;
        },
        B, seed);
  }
  if (run.rcl) {
    const RclRun& rc = *run.rcl;
    RclScores r;
    r.exact = rcl_metrics(rc.rank_exact);
    r.service = rcl_metrics(rc.rank_service);
    std::map<std::string, std::vector<int>> by_type;
    for (size_t c = 0; c < rc.cases.size(); ++c) by_type[data.faults[rc.cases[c]].fault_type].push_back(rc.rank_exact[c]);
    for (auto& [t, ranks] : by_type) r.by_type[t] = {rcl_metrics(ranks), ranks.size()};
    auto ac_ci = [&](int k) {
      return bootstrap(
          static_cast<std::int64_t>(rc.rank_exact.size()),
          [&](const std::vector<std::int64_t>& idx) {
            double h = 0;
            for (auto i : idx) h += rc.rank_exact[i] >= 1 && rc.rank_exact[i] <= k;
            return h / idx.size();
          },
          B, seed);
    };
    s.ci95["rcl.ac@1"] = ac_ci(1);
    s.ci95["rcl.ac@3"] = ac_ci(3);
    s.ci95["rcl.avg@5"] = bootstrap(
        static_cast<std::int64_t>(rc.rank_exact.size()),
        [&](const std::vector<std::int64_t>& idx) {
          std::vector<int> rr;
          for (auto i : idx) rr.push_back(rc.rank_exact[i]);
          return rcl_metrics(rr).avg5;
        },
        B, seed);
    s.rcl = std::move(r);
  }
  return s;
}

Json to_json(const MethodScores& s) {
  Json j;
  j["family"] = s.family;
  j["note"] = s.note;
  j["fold_info"] = s.fold_info;
  if (s.ad) {
    const AdScores& a = *s.ad;
    Json ad;
    ad["event"] = prf_json(a.event.prf);
    ad["event"]["intervals"] = a.event.intervals.size();
    ad["event_full_timeline"] = prf_json(a.event_full.prf);
    ad["event_full_timeline"]["intervals"] = a.event_full.intervals.size();
    ad["point"] = prf_json(a.point.prf);
    ad["alarm_time_fraction"] = a.point.alarm_time_fraction;
    ad["false_alarms_per_day"] = a.point.false_alarms_per_day;
    ad["auroc"] = std::isfinite(a.auroc) ? Json(a.auroc) : Json();
    if (!a.part_auroc.empty()) ad["part_auroc"] = a.part_auroc;
    ad["test_points"] = a.point.points;
    ad["test_days"] = a.point.days;
    Json pft;
    for (auto& [t, v] : a.event_recall_by_type) pft[t]["event_recall"] = v;
    for (auto& [t, v] : a.point_recall_by_type) pft[t]["point_recall"] = v;
    ad["per_fault_type"] = pft;
    j["ad"] = ad;
  }
  if (s.ft) {
    const TriageResult& t = *s.ft;
    Json ft = {{"precision", t.precision}, {"recall", t.recall}, {"f1", t.f1}, {"accuracy", t.accuracy}};
    Json pc;
    for (auto& [l, c] : t.per_class)
      pc[l] = {{"precision", c.precision}, {"recall", c.recall}, {"f1", c.f1}, {"support", c.support}};
    ft["per_class"] = pc;
    ft["labels"] = t.labels;
    ft["confusion"] = t.confusion;
    j["ft"] = ft;
  }
  if (s.rcl) {
    const RclScores& r = *s.rcl;
    Json rcl = rcl_json(r.exact);
    rcl["matching"] = "exact entity (a pod label matches that pod only; a service label matches its pods)";
    rcl["service_level"] = rcl_json(r.service);
    Json pft;
    for (auto& [t, v] : r.by_type) {
      pft[t] = rcl_json(v.first);
      pft[t]["cases"] = v.second;
    }
    rcl["per_fault_type"] = pft;
    j["rcl"] = rcl;
  }
  Json ci = Json::object();
  for (auto& [k, v] : s.ci95) ci[k] = Json::array({v.low, v.high});
  j["ci95"] = ci;
  return j;
}

}  // namespace rslicer::eval
