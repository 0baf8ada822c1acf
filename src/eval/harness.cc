#include "eval/harness.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <random>
#include <set>

#include "core/errors.h"

namespace rslicer::eval {
namespace {

using Json = nlohmann::json;

TimeUs us(double s) { return static_cast<TimeUs>(s * kUsPerSecond); }

struct FoldView {
  const std::vector<SliceEmbedding>* slices = nullptr;
  std::vector<size_t> train, test;                 // slice positions, time order
  std::map<size_t, std::vector<size_t>> case_slices;  // fault -> slice positions overlapping it
};

FoldView make_view(const std::vector<SliceEmbedding>& slices, const SplitFold& fold) {
  FoldView v;
  v.slices = &slices;
  for (size_t i = 0; i < slices.size(); ++i) {
    if (in_ranges(fold.train_ranges, slices[i].start, slices[i].end)) v.train.push_back(i);
    else if (in_ranges(fold.test_ranges, slices[i].start, slices[i].end)) v.test.push_back(i);
    for (std::uint32_t f : slices[i].faults) v.case_slices[f].push_back(i);
  }
  return v;
}

// Slice positions with [start, end) inside [a, b).
std::vector<size_t> slices_within(const std::vector<SliceEmbedding>& s, TimeUs a, TimeUs b) {
  std::vector<size_t> out;
  auto it = std::lower_bound(s.begin(), s.end(), a, [](const SliceEmbedding& e, TimeUs t) { return e.start < t; });
  for (; it != s.end() && it->start < b; ++it)
    if (it->end <= b) out.push_back(static_cast<size_t>(it - s.begin()));
  return out;
}

std::vector<float> mean_state(const std::vector<SliceEmbedding>& s, const std::vector<size_t>& idx, size_t dim) {
  std::vector<float> m(dim, 0.f);
  if (idx.empty()) return m;
  for (size_t i : idx)
    for (size_t j = 0; j < dim && j < s[i].state.size(); ++j) m[j] += s[i].state[j];
  for (float& v : m) v /= idx.size();
  return m;
}

StatePartition fit_partition(const std::vector<SliceEmbedding>& s, const std::vector<size_t>& idx,
                             const PartitionOptions& o, bool state_aware) {
  std::vector<float> flat;
  int dim = static_cast<int>(s[idx.at(0)].state.size());
  for (size_t i : idx) flat.insert(flat.end(), s[i].state.begin(), s[i].state.end());
  PartitionOptions p = o;
  if (!state_aware) p.k = 1;
  return StatePartition::fit(flat.data(), static_cast<std::int64_t>(idx.size()), dim, p);
}

int majority_state(const std::vector<int>& states, const std::vector<size_t>& idx) {
  std::map<int, int> c;
  for (size_t i : idx) c[states[i]]++;
  int best = 0, n = -1;
  for (auto& [s, k] : c)
    if (k > n) {
      n = k;
      best = s;
    }
  return best;
}

// A case's triage vector from a representation.
std::vector<float> case_vector(const std::vector<SliceEmbedding>& s, const std::vector<size_t>& case_idx,
                               const FaultEvent& f, double ref_s, const std::string& kind) {
  size_t dim = s.empty() ? 0 : s[0].state.size();
  std::vector<float> m = mean_state(s, case_idx, dim);
  if (kind == "mean") return m;
  std::vector<float> r = mean_state(s, slices_within(s, f.start - us(ref_s), f.start - us(60)), dim);
  std::vector<float> d(dim);
  for (size_t j = 0; j < dim; ++j) d[j] = m[j] - r[j];
  if (kind == "delta") return d;
  d.insert(d.end(), m.begin(), m.end());
  return d;
}

double loo_accuracy(const std::vector<std::vector<float>>& x, const std::vector<std::string>& y,
                    const std::vector<int>& st, const TriageOptions& o) {
  if (x.size() < 2) return 0;
  int correct = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    std::vector<std::vector<float>> xx;
    std::vector<std::string> yy;
    std::vector<int> ss;
    for (size_t j = 0; j < x.size(); ++j)
      if (j != i) {
        xx.push_back(x[j]);
        yy.push_back(y[j]);
        ss.push_back(st[j]);
      }
    KnnTriageHead h(o);
    h.fit(xx, yy, ss);
    if (h.predict(x[i], st[i]) == y[i]) ++correct;
  }
  return static_cast<double>(correct) / x.size();
}

struct Names {
  std::map<std::string, std::string> service_of;
  std::string service(const std::string& e) const {
    auto it = service_of.find(e);
    return it == service_of.end() || it->second.empty() ? e : it->second;
  }
};

void rank_case(const Names& names, const FaultEvent& f, const std::vector<EntityScore>& ranking, MethodRun& run) {
  std::vector<std::string> ranked;
  for (auto& e : ranking) ranked.push_back(e.entity);
  run.rank_exact.push_back(first_match(ranked, [&](const std::string& c) {
    return rcl_match(c, names.service(c), f.root_cause, f.level);
  }));
  std::vector<std::string> services;
  std::set<std::string> seen;
  for (auto& c : ranked)
    if (seen.insert(names.service(c)).second) services.push_back(names.service(c));
  std::string label_service = names.service(f.root_cause);
  run.rank_service.push_back(first_match(services, [&](const std::string& c) { return c == label_service; }));
  std::vector<EntityScore> top(ranking.begin(), ranking.begin() + std::min<size_t>(10, ranking.size()));
  run.rankings.push_back(top);
}

void add_points(const std::vector<SliceEmbedding>& s, const FoldView& v, const std::vector<bool>& alarms,
                const std::vector<double>& scores, const std::vector<double>& thr, const std::vector<int>& states,
                double stride_s, MethodRun& run) {
  for (size_t k = 0; k < v.test.size(); ++k) {
    const auto& e = s[v.test[k]];
    run.points.push_back({e.end - us(stride_s), alarms[k], !e.faults.empty()});
    run.scores.push_back(scores[k]);
    run.thresholds.push_back(thr.empty() ? 0 : thr[k]);
    run.states.push_back(states.empty() ? 0 : states[v.test[k]]);
    run.point_faults.push_back(e.faults);
  }
}

// Our heads (state-aware or one global head) on one representation.
void run_embedding(const EvalContext& ctx, const SplitFold& fold, const Representation& rep, bool state_aware,
                   const HarnessOptions& o, const Names& names, MethodRun& run, Json& fold_info,
                   HarnessResult* projection_out) {
  const auto& main = rep.slices;
  const auto& adv = rep.ad_view.empty() ? rep.slices : rep.ad_view;
  FoldView v = make_view(main, fold);
  RSLICER_CHECK(!v.train.empty() && !v.test.empty(), InvalidInput, "fold '", fold.name, "': ", v.train.size(),
                " training and ", v.test.size(), " test slices; both sides need slices");
  // ---- AD
  StatePartition pad = fit_partition(adv, v.train, o.partition, state_aware);
  std::vector<int> st_ad(adv.size());
  for (size_t i = 0; i < adv.size(); ++i) st_ad[i] = pad.assign(adv[i].state);
  std::vector<float> refs;
  std::vector<TimeUs> times;
  std::vector<int> rstates;
  for (size_t i : v.train)
    if (adv[i].faults.empty()) {
      refs.insert(refs.end(), adv[i].state.begin(), adv[i].state.end());
      times.push_back(adv[i].start);
      rstates.push_back(st_ad[i]);
    }
  AnomalyOptions ao = o.ad;
  ao.state_aware = state_aware;
  KnnAnomalyHead head(ao);
  head.fit(refs, static_cast<int>(adv[0].state.size()), times, rstates);
  std::vector<double> calib, test_scores;
  for (size_t i : v.train) calib.push_back(head.score(adv[i].state.data(), st_ad[i], adv[i].start));
  for (size_t i : v.test) test_scores.push_back(head.score(adv[i].state.data(), st_ad[i], adv[i].start));
  for (double& x : calib)
    if (!std::isfinite(x)) x = 0;
  Spot spot(o.spot);
  spot.fit(calib);
  std::vector<double> thr;
  double initial = spot.threshold();
  std::vector<bool> alarms = spot.run(test_scores, &thr);
  add_points(main, v, alarms, test_scores, thr, st_ad, ctx.stride_s, run);
  run.has_ad = true;

  // ---- FT
  StatePartition pm = fit_partition(main, v.train, o.partition, state_aware);
  std::vector<int> st(main.size());
  for (size_t i = 0; i < main.size(); ++i) st[i] = pm.assign(main[i].state);
  auto case_idx = [&](size_t f) {
    auto it = v.case_slices.find(f);
    return it == v.case_slices.end() ? std::vector<size_t>{} : it->second;
  };
  std::vector<size_t> train_cases;
  for (size_t f : fold.train_cases)
    if (!case_idx(f).empty()) train_cases.push_back(f);
  std::string best_kind = "delta";
  TriageOptions best_ft = o.ft;
  best_ft.state_aware = state_aware;
  double best_acc = -1;
  for (const char* kind : {"delta", "mean", "both"})
    for (int k : {1, 3, 5}) {
      TriageOptions to = o.ft;
      to.state_aware = state_aware;
      to.neighbors = k;
      std::vector<std::vector<float>> x;
      std::vector<std::string> y;
      std::vector<int> cs;
      for (size_t f : train_cases) {
        x.push_back(case_vector(main, case_idx(f), ctx.faults[f], o.ft_reference_s, kind));
        y.push_back(ctx.faults[f].fault_type);
        cs.push_back(majority_state(st, case_idx(f)));
      }
      double acc = loo_accuracy(x, y, cs, to);
      if (acc > best_acc + 1e-12) {
        best_acc = acc;
        best_kind = kind;
        best_ft = to;
      }
    }
  if (!train_cases.empty()) {
    std::vector<std::vector<float>> x;
    std::vector<std::string> y;
    std::vector<int> cs;
    for (size_t f : train_cases) {
      x.push_back(case_vector(main, case_idx(f), ctx.faults[f], o.ft_reference_s, best_kind));
      y.push_back(ctx.faults[f].fault_type);
      cs.push_back(majority_state(st, case_idx(f)));
    }
    KnnTriageHead ft(best_ft);
    ft.fit(x, y, cs);
    for (size_t f : fold.test_cases) {
      auto ci = case_idx(f);
      run.ft_cases.push_back(f);
      run.ft_truth.push_back(ctx.faults[f].fault_type);
      run.ft_pred.push_back(ci.empty() ? std::string("(no slice)")
                                       : ft.predict(case_vector(main, ci, ctx.faults[f], o.ft_reference_s, best_kind),
                                                    majority_state(st, ci)));
    }
    run.has_ft = true;
  }

  // ---- RCL: unsupervised deviation ranking or the learned listwise head,
  // chosen by leave-one-case-out AC@1 on the training cases (never the test cases).
  EmbeddingRcaOptions ro = o.rcl;
  ro.state_aware = state_aware;
  ro.kind = o.root_cause_kind;
  auto features_of = [&](size_t f) {
    const FaultEvent& fe = ctx.faults[f];
    auto ci = case_idx(f);
    auto ri = slices_within(main, fe.start - us(o.rcl_reference_s), fe.start - us(60));
    std::vector<const SliceEmbedding*> cp, rp;
    std::vector<int> cst, rst;
    for (size_t i : ci) {
      cp.push_back(&main[i]);
      cst.push_back(st[i]);
    }
    for (size_t i : ri) {
      rp.push_back(&main[i]);
      rst.push_back(st[i]);
    }
    return entity_features(RcaInputs{cp, cst, rp, rst, &ctx.entity_names, &ctx.entity_kinds}, ro);
  };
  auto unsup_rank = [](const std::vector<EntityFeatures>& fs) {
    std::vector<EntityScore> out;
    for (auto& f : fs) out.push_back({f.entity, f.x[0], ""});
    std::stable_sort(out.begin(), out.end(), [](const EntityScore& a, const EntityScore& b) {
      return a.score != b.score ? a.score > b.score : a.entity < b.entity;
    });
    return out;
  };
  std::vector<std::vector<EntityFeatures>> tr_feats;
  std::vector<int> tr_target;
  for (size_t f : fold.train_cases) {
    tr_feats.push_back(features_of(f));
    int t = -1;
    for (size_t k = 0; k < tr_feats.back().size(); ++k)
      if (rcl_match(tr_feats.back()[k].entity, names.service(tr_feats.back()[k].entity), ctx.faults[f].root_cause,
                    ctx.faults[f].level))
        t = static_cast<int>(k);
    tr_target.push_back(t);
  }
  // Per-entity evidence from the case's own data, appended after the embedding features:
  // [log1p BARO score over resource KPIs, log1p BARO score over latency KPIs] (IQR floor, degenerate KPIs
  // skipped; the head learns how much each family counts) and the trace / log evidence
  // (tasks/trace_evidence.h). Unlabelled data of the case window and of the entity's own normal profile.
  const bool with_metric = ctx.raw && o.rcl_metric_evidence;
  const bool with_trace = ctx.traces && !ctx.traces->empty() && o.rcl_trace_evidence;
  const size_t n_metric = with_metric ? 2 : 0, n_trace = with_trace ? kTraceFeatureCount : 0;
  auto add_evidence = [&](size_t f, std::vector<EntityFeatures>& fs) {
    const FaultEvent& fe = ctx.faults[f];
    if (with_metric) {
      RawScoreOptions mo = o.raw;
      mo.robust = true;
      mo.reference_s = o.rcl_reference_s;
      mo.min_rel_scale = std::max(mo.min_rel_scale, o.rcl_rel_scale_floor);
      mo.skip_kpis_containing = "Latency";
      auto res_sc = raw_entity_scores(*ctx.raw, fe.start, mo, o.root_cause_kind);
      mo.skip_kpis_containing.clear();
      mo.only_kpis_containing = "Latency";
      auto lat_sc = raw_entity_scores(*ctx.raw, fe.start, mo, o.root_cause_kind);
      for (auto& e : fs)
        for (auto* sc : {&res_sc, &lat_sc}) {
          auto it = sc->find(e.entity);
          double z = it == sc->end() ? 0.0 : std::max(0.0, it->second.score);
          e.x.push_back(static_cast<float>(std::log1p(std::min(z, 1e4))));
        }
    }
    if (with_trace) {
      auto tf = trace_case_features(*ctx.traces, fe.start, fe.start + us(o.case_tail_s), fe.start - us(60),
                                    fe.start + us(o.case_tail_s + 60));
      for (auto& e : fs) {
        auto it = tf.find(e.entity);
        for (int j = 0; j < kTraceFeatureCount; ++j)
          e.x.push_back(it == tf.end() ? 0.f : static_cast<float>(it->second.features[j]));
      }
    }
  };
  // Head variants in order of parameter count, chosen by leave-one-case-out AC@1 on the training cases
  // (ties keep the earlier one, with fewer parameters).
  enum Variant { kUnsup = 0, kCompactEvidence, kLearned, kLearnedEvidence };
  const char* variant_names[] = {"unsupervised deviation", "learned listwise on (distance, evidence)",
                                 "learned listwise", "learned listwise + evidence"};
  const size_t n_extra = n_metric + n_trace;
  auto project = [&](const std::vector<EntityFeatures>& fs, int variant) {
    std::vector<EntityFeatures> out = fs;
    for (auto& e : out) {
      if (n_extra == 0 || variant == kLearnedEvidence) continue;
      std::vector<float> extra(e.x.end() - n_extra, e.x.end());
      e.x.resize(e.x.size() - n_extra);
      if (variant == kCompactEvidence) {
        e.x.resize(2);
        e.x.insert(e.x.end(), extra.begin(), extra.end());
      }
    }
    return out;
  };
  for (size_t c = 0; c < tr_feats.size(); ++c) add_evidence(fold.train_cases[c], tr_feats[c]);
  std::vector<int> variants = {kUnsup, kLearned};
  if (n_extra) variants = {kUnsup, kCompactEvidence, kLearned, kLearnedEvidence};
  std::vector<int> loo_hits(4, 0);
  int loo_n = 0;
  for (size_t c = 0; c < tr_feats.size(); ++c) {
    if (tr_target[c] < 0) continue;
    ++loo_n;
    const std::string& truth = tr_feats[c][tr_target[c]].entity;
    auto u = unsup_rank(tr_feats[c]);
    if (!u.empty() && u[0].entity == truth) ++loo_hits[kUnsup];
    for (int var : variants) {
      if (var == kUnsup) continue;
      std::vector<std::vector<EntityFeatures>> xs;
      std::vector<int> ts;
      for (size_t d = 0; d < tr_feats.size(); ++d)
        if (d != c) {
          xs.push_back(project(tr_feats[d], var));
          ts.push_back(tr_target[d]);
        }
      LearnedRcaHead h;
      h.fit(xs, ts);
      auto l = h.rank(project(tr_feats[c], var));
      if (!l.empty() && l[0].entity == truth) ++loo_hits[var];
    }
  }
  int variant = kUnsup;
  if (loo_n >= 4)
    for (int var : variants)
      if (loo_hits[var] > loo_hits[variant]) variant = var;
  LearnedRcaHead learned;
  if (variant != kUnsup) {
    std::vector<std::vector<EntityFeatures>> xs;
    for (auto& fs : tr_feats) xs.push_back(project(fs, variant));
    learned.fit(xs, tr_target);
  }
  for (size_t f : fold.test_cases) {
    auto fs = features_of(f);
    add_evidence(f, fs);
    run.rcl_cases.push_back(f);
    rank_case(names, ctx.faults[f], variant == kUnsup ? unsup_rank(fs) : learned.rank(project(fs, variant)), run);
  }
  run.has_rcl = true;

  fold_info = {{"fold", fold.name},
               {"ad_states", pad.num_states()},
               {"ad_silhouette", pad.silhouette()},
               {"ad_view", rep.ad_view.empty() ? "all modalities" : rep.ad_view_name},
               {"spot_initial_threshold", initial},
               {"spot_final_threshold", spot.threshold()},
               {"normal_references", times.size()},
               {"states", pm.num_states()},
               {"silhouette", pm.silhouette()},
               {"ft_features", best_kind},
               {"ft_neighbors", best_ft.neighbors},
               {"ft_train_loo_accuracy", best_acc},
               {"rcl_head", variant_names[variant]},
               {"rcl_train_loo_cases", loo_n}};
  for (int var : variants)
    fold_info["rcl_train_loo_ac1"][variant_names[var]] = loo_n ? static_cast<double>(loo_hits[var]) / loo_n : 0.0;
  if (projection_out) {
    projection_out->partition = Json::parse(pm.to_json());
    // PCA of training + test slices: every faulty slice plus an even sample of normal ones.
    std::vector<size_t> pick;
    std::vector<size_t> normal;
    for (size_t i = 0; i < main.size(); ++i) {
      bool tr = std::binary_search(v.train.begin(), v.train.end(), i), te = std::binary_search(v.test.begin(), v.test.end(), i);
      if (!tr && !te) continue;
      if (!main[i].faults.empty()) pick.push_back(i);
      else normal.push_back(i);
    }
    size_t step = std::max<size_t>(1, normal.size() / 800);
    for (size_t k = 0; k < normal.size(); k += step) pick.push_back(normal[k]);
    std::sort(pick.begin(), pick.end());
    std::vector<std::vector<float>> rows;
    for (size_t i : pick) rows.push_back(main[i].state);
    auto xy = pca_2d(rows);
    auto& out = projection_out->projection[rep.name];
    for (size_t k = 0; k < pick.size(); ++k) {
      const auto& e = main[pick[k]];
      out.push_back({xy[k].first, xy[k].second, e.faults.empty() ? "normal" : ctx.faults[e.faults[0]].fault_type,
                     std::binary_search(v.test.begin(), v.test.end(), pick[k])});
    }
  }
}

MethodRun& get_run(HarnessResult& r, const std::string& name, const std::string& family, const std::string& note) {
  for (auto& run : r.runs)
    if (run.name == name) return run;
  r.runs.push_back({});
  r.runs.back().name = name;
  r.runs.back().family = family;
  r.runs.back().note = note;
  r.runs.back().info = Json::array();
  return r.runs.back();
}

}  // namespace

std::vector<std::pair<float, float>> pca_2d(const std::vector<std::vector<float>>& rows) {
  std::vector<std::pair<float, float>> out(rows.size(), {0.f, 0.f});
  if (rows.empty()) return out;
  size_t d = rows[0].size();
  std::vector<double> mean(d, 0);
  for (auto& r : rows)
    for (size_t j = 0; j < d; ++j) mean[j] += r[j];
  for (double& m : mean) m /= rows.size();
  std::vector<std::vector<double>> comps;
  for (int c = 0; c < 2; ++c) {
    std::vector<double> v(d);
    for (size_t j = 0; j < d; ++j) v[j] = 1.0 + 0.01 * ((j * 7 + c * 3) % 11);  // deterministic start
    for (int it = 0; it < 100; ++it) {
      std::vector<double> w(d, 0);
      for (auto& r : rows) {
        double p = 0;
        for (size_t j = 0; j < d; ++j) p += (r[j] - mean[j]) * v[j];
        for (size_t j = 0; j < d; ++j) w[j] += p * (r[j] - mean[j]);
      }
      for (auto& u : comps) {
        double p = 0;
        for (size_t j = 0; j < d; ++j) p += w[j] * u[j];
        for (size_t j = 0; j < d; ++j) w[j] -= p * u[j];
      }
      double n = 0;
      for (double x : w) n += x * x;
      n = std::sqrt(n);
      if (n < 1e-12) break;
      for (size_t j = 0; j < d; ++j) v[j] = w[j] / n;
    }
    comps.push_back(v);
  }
  for (size_t i = 0; i < rows.size(); ++i) {
    double a = 0, b = 0;
    for (size_t j = 0; j < d; ++j) {
      a += (rows[i][j] - mean[j]) * comps[0][j];
      b += (rows[i][j] - mean[j]) * comps[1][j];
    }
    out[i] = {static_cast<float>(a), static_cast<float>(b)};
  }
  return out;
}

HarnessResult run_harness(const EvalContext& ctx, const std::vector<FoldInput>& folds, const HarnessOptions& o) {
  RSLICER_CHECK(!folds.empty() && !folds[0].reps.empty(), InvalidInput, "harness: no folds or representations");
  HarnessResult res;
  Names names;
  for (size_t i = 0; i < ctx.entity_names.size(); ++i)
    names.service_of[ctx.entity_names[i]] = i < ctx.entity_services.size() ? ctx.entity_services[i] : "";
  if (ctx.raw)
    for (const auto& e : ctx.raw->entities())
      if (!names.service_of.count(e.name)) names.service_of[e.name] = e.service;

  // Raw window scores are computed once for every slice.
  std::vector<double> raw_scores;
  const auto& base = folds[0].reps[0].slices;
  if (ctx.raw) {
    RawScoreOptions ro = o.raw;
    ro.robust = true;
    for (const auto& s : base) raw_scores.push_back(raw_window_score(*ctx.raw, s.start, s.end, ro));
  }

  for (size_t fi = 0; fi < folds.size(); ++fi) {
    const SplitFold& fold = *folds[fi].fold;
    res.train_cases.insert(res.train_cases.end(), fold.train_cases.begin(), fold.train_cases.end());
    res.test_cases.insert(res.test_cases.end(), fold.test_cases.begin(), fold.test_cases.end());
    for (size_t r = 0; r < folds[fi].reps.size(); ++r) {
      const Representation& rep = folds[fi].reps[r];
      bool ours = r == 0;
      {
        MethodRun& run = get_run(res, ours ? "rslicer" : rep.name, ours ? "ours" : "baseline",
                                 ours ? "trained encoder, state-aware heads (kNN AD + SPOT, kNN triage, per-entity "
                                        "embedding deviation RCL)"
                                      : "untrained encoder of the same size (raw backbone), same state-aware heads");
        Json info;
        run_embedding(ctx, fold, rep, true, o, names, run, info, fi == 0 ? &res : nullptr);
        run.info.push_back(info);
      }
      if (ours) {
        MethodRun& run = get_run(res, "rslicer_global", "ablation",
                                 "trained encoder, ONE global head (K = 1): the state-awareness ablation");
        Json info;
        run_embedding(ctx, fold, rep, false, o, names, run, info, nullptr);
        run.info.push_back(info);
      }
    }
    FoldView v = make_view(base, fold);
    // Always-anomalous sanity row.
    {
      MethodRun& run = get_run(res, "always_anomalous", "sanity", "alarm on every slice (sanity row)");
      std::vector<bool> a(v.test.size(), true);
      std::vector<double> sc(v.test.size(), 1.0);
      add_points(base, v, a, sc, {}, {}, ctx.stride_s, run);
      run.has_ad = true;
    }
    // Majority-class triage.
    {
      MethodRun& run = get_run(res, "majority", "baseline", "most frequent training fault type");
      std::vector<std::string> y;
      for (size_t f : fold.train_cases) y.push_back(ctx.faults[f].fault_type);
      MajorityTriage m;
      m.fit(y);
      for (size_t f : fold.test_cases) {
        run.ft_cases.push_back(f);
        run.ft_truth.push_back(ctx.faults[f].fault_type);
        run.ft_pred.push_back(m.predict());
      }
      run.has_ft = true;
      run.info.push_back({{"fold", fold.name}, {"label", m.predict()}});
    }
    if (!ctx.raw) continue;
    // SPOT on raw features.
    {
      MethodRun& run = get_run(res, "spot_raw", "baseline",
                               "SPOT on the raw-metric score: max robust |z| of any entity x KPI window mean vs the "
                               "previous hour");
      std::vector<double> calib, test;
      for (size_t i : v.train) calib.push_back(raw_scores[i]);
      for (size_t i : v.test) test.push_back(raw_scores[i]);
      Spot spot(o.spot);
      spot.fit(calib);
      std::vector<double> thr;
      auto alarms = spot.run(test, &thr);
      add_points(base, v, alarms, test, thr, {}, ctx.stride_s, run);
      run.has_ad = true;
      run.info.push_back({{"fold", fold.name}, {"spot_final_threshold", spot.threshold()}});
    }
    // BARO and N-sigma root cause ranking.
    for (bool robust : {true, false}) {
      MethodRun& run = get_run(res, robust ? "baro" : "nsigma", "baseline",
                               robust ? "BARO robust scorer: max |x - median| / IQR per entity x KPI vs the previous hour "
                                               "(IQR floor 0.1 x median; KPIs mostly missing or zero there skipped)"
                                      : "N-sigma: max |x - mean| / std per entity x KPI vs the previous hour (std floor "
                                        "0.1 x mean; KPIs mostly missing or zero there skipped)");
      RawScoreOptions ro = o.raw;
      ro.robust = robust;
      ro.reference_s = o.rcl_reference_s;
      ro.min_rel_scale = std::max(ro.min_rel_scale, o.rcl_rel_scale_floor);
      for (size_t f : fold.test_cases) {
        run.rcl_cases.push_back(f);
        rank_case(names, ctx.faults[f], rank_raw(*ctx.raw, ctx.faults[f].start, ro, o.root_cause_kind), run);
      }
      run.has_rcl = true;
    }
    // BARO without the latency KPIs (the Nezha pod latency columns carry spikes of up to 3.6e8 s in
    // normal periods; documented in docs/results.md): a data-quality variant, not a tuned one.
    {
      MethodRun& run = get_run(res, "baro_no_latency", "baseline",
                               "BARO as above on the resource KPIs only (latency KPIs excluded: spikes of up to "
                               "3.6e8 s in normal periods)");
      RawScoreOptions ro = o.raw;
      ro.robust = true;
      ro.reference_s = o.rcl_reference_s;
      ro.min_rel_scale = std::max(ro.min_rel_scale, o.rcl_rel_scale_floor);
      ro.skip_kpis_containing = "Latency";
      for (size_t f : fold.test_cases) {
        run.rcl_cases.push_back(f);
        rank_case(names, ctx.faults[f], rank_raw(*ctx.raw, ctx.faults[f].start, ro, o.root_cause_kind), run);
      }
      run.has_rcl = true;
    }
    // kNN triage on raw features (service x KPI deviations).
    {
      MethodRun& run = get_run(res, "knn_raw", "baseline",
                               "kNN on raw features: robust z of every service x KPI in the case window");
      RawScoreOptions ro = o.raw;
      ro.reference_s = o.ft_reference_s;
      auto vec_of = [&](size_t f) {
        const auto& fe = ctx.faults[f];
        return raw_case_vector(*ctx.raw, fe.start, fe.end, ro);
      };
      std::map<std::string, size_t> layout;
      std::vector<std::map<std::string, double>> train_maps;
      for (size_t f : fold.train_cases) {
        train_maps.push_back(vec_of(f));
        for (auto& [k, val] : train_maps.back()) layout.emplace(k, 0);
      }
      size_t col = 0;
      for (auto& [k, c] : layout) c = col++;
      auto to_vec = [&](const std::map<std::string, double>& m) {
        std::vector<float> x(layout.size(), 0.f);
        for (auto& [k, val] : m) {
          auto it = layout.find(k);
          if (it != layout.end()) x[it->second] = static_cast<float>(val);
        }
        return x;
      };
      std::vector<std::vector<float>> x;
      std::vector<std::string> y;
      std::vector<int> cs;
      for (size_t i = 0; i < fold.train_cases.size(); ++i) {
        x.push_back(to_vec(train_maps[i]));
        y.push_back(ctx.faults[fold.train_cases[i]].fault_type);
        cs.push_back(0);
      }
      TriageOptions best = o.ft;
      best.state_aware = false;
      double best_acc = -1;
      for (bool cosine : {true, false})
        for (int k : {1, 3, 5}) {
          TriageOptions to = best;
          to.cosine = cosine;
          to.neighbors = k;
          double acc = loo_accuracy(x, y, cs, to);
          if (acc > best_acc + 1e-12) {
            best_acc = acc;
            best = to;
          }
        }
      KnnTriageHead h(best);
      h.fit(x, y, cs);
      for (size_t f : fold.test_cases) {
        run.ft_cases.push_back(f);
        run.ft_truth.push_back(ctx.faults[f].fault_type);
        run.ft_pred.push_back(h.predict(to_vec(vec_of(f)), 0));
      }
      run.has_ft = true;
      run.info.push_back({{"fold", fold.name}, {"neighbors", best.neighbors}, {"cosine", best.cosine},
                          {"train_loo_accuracy", best_acc}});
    }
  }
  // Pooled timelines in time order.
  for (auto& run : res.runs) {
    if (run.points.empty()) continue;
    std::vector<size_t> order(run.points.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return run.points[a].time < run.points[b].time; });
    MethodRun sorted = run;
    for (size_t k = 0; k < order.size(); ++k) {
      sorted.points[k] = run.points[order[k]];
      sorted.scores[k] = run.scores[order[k]];
      sorted.thresholds[k] = run.thresholds[order[k]];
      sorted.states[k] = run.states[order[k]];
      sorted.point_faults[k] = run.point_faults[order[k]];
    }
    run = std::move(sorted);
  }
  return res;
}

// ---------------------------------------------------------------- scoring

namespace {

Json prf_json(const Prf& p) {
  return {{"precision", p.precision}, {"recall", p.recall}, {"f1", p.f1}, {"tp", p.tp}, {"fp", p.fp}, {"fn", p.fn}};
}
Json ci_json(const Interval95& c) { return Json::array({c.low, c.high}); }

std::vector<AlarmPoint> in_case_windows(const std::vector<AlarmPoint>& pts, const std::vector<TimeUs>& cases,
                                        const HarnessOptions& o) {
  std::vector<AlarmPoint> out;
  for (const auto& p : pts)
    for (TimeUs t : cases)
      if (p.time >= t - us(o.case_lead_s) && p.time < t + us(o.case_tail_s)) {
        out.push_back(p);
        break;
      }
  return out;
}

Json score_rcl(const std::vector<int>& ranks) {
  RclResult r = rcl_metrics(ranks);
  Json j;
  for (int k = 1; k <= 5; ++k) j["ac@" + std::to_string(k)] = r.ac[k];
  j["avg@5"] = r.avg5;
  return j;
}

}  // namespace

Json score_runs(const EvalContext& ctx, const HarnessResult& res, const HarnessOptions& o) {
  Json all = Json::object();
  std::vector<TimeUs> case_times;
  for (size_t f : res.test_cases) case_times.push_back(ctx.faults[f].start);
  const int B = o.bootstrap_samples;
  for (const auto& run : res.runs) {
    Json j;
    j["family"] = run.family;
    j["note"] = run.note;
    j["fold_info"] = run.info;
    Json ci;
    if (run.has_ad) {
      auto pub_points = in_case_windows(run.points, case_times, o);
      EventResult ev = event_level(pub_points, case_times);
      EventResult ev_full = event_level(run.points, case_times);
      PointResult pw = point_wise(run.points, ctx.stride_s);
      Json ad;
      ad["event"] = prf_json(ev.prf);
      ad["event"]["intervals"] = ev.intervals.size();
      ad["event_full_timeline"] = prf_json(ev_full.prf);
      ad["event_full_timeline"]["intervals"] = ev_full.intervals.size();
      ad["point"] = prf_json(pw.prf);
      ad["alarm_time_fraction"] = pw.alarm_time_fraction;
      ad["false_alarms_per_day"] = pw.false_alarms_per_day;
      ad["test_points"] = pw.points;
      ad["test_days"] = pw.days;
      // Per fault type: share of cases hit (published) and point recall.
      std::map<std::string, std::pair<int, int>> hit;
      for (size_t c = 0; c < res.test_cases.size(); ++c) {
        auto& h = hit[ctx.faults[res.test_cases[c]].fault_type];
        h.second++;
        if (ev.case_hit[c]) h.first++;
      }
      std::map<std::string, std::pair<int, int>> prec;
      for (size_t k = 0; k < run.points.size(); ++k)
        if (run.points[k].truth) {
          auto& h = prec[ctx.faults[run.point_faults[k][0]].fault_type];
          h.second++;
          if (run.points[k].alarm) h.first++;
        }
      Json pft;
      for (auto& [t, h] : hit) pft[t]["event_recall"] = static_cast<double>(h.first) / h.second;
      for (auto& [t, h] : prec) pft[t]["point_recall"] = static_cast<double>(h.first) / h.second;
      ad["per_fault_type"] = pft;
      // CIs: point F1 by hour blocks, event recall by cases.
      std::map<TimeUs, std::vector<size_t>> blocks;
      for (size_t k = 0; k < run.points.size(); ++k) blocks[run.points[k].time / (3600 * kUsPerSecond)].push_back(k);
      std::vector<std::vector<size_t>> bl;
      for (auto& [b, v] : blocks) bl.push_back(v);
      ci["ad.point.f1"] = ci_json(bootstrap(static_cast<std::int64_t>(bl.size()), [&](const std::vector<std::int64_t>& idx) {
        std::int64_t tp = 0, fp = 0, fn = 0;
        for (auto b : idx)
          for (size_t k : bl[b]) {
            const auto& p = run.points[k];
            tp += p.alarm && p.truth;
            fp += p.alarm && !p.truth;
            fn += !p.alarm && p.truth;
          }
        return make_prf(tp, fp, fn).f1;
      }, B, o.seed));
      ci["ad.event.recall"] = ci_json(bootstrap(static_cast<std::int64_t>(ev.case_hit.size()), [&](const std::vector<std::int64_t>& idx) {
        double h = 0;
        for (auto i : idx) h += ev.case_hit[i];
        return h / idx.size();
      }, B, o.seed));
      j["ad"] = ad;
    }
    if (run.has_ft) {
      TriageResult t = weighted_prf(run.ft_truth, run.ft_pred);
      Json ft = {{"precision", t.precision}, {"recall", t.recall}, {"f1", t.f1}, {"accuracy", t.accuracy}};
      Json pc;
      for (auto& [l, c] : t.per_class)
        pc[l] = {{"precision", c.precision}, {"recall", c.recall}, {"f1", c.f1}, {"support", c.support}};
      ft["per_class"] = pc;
      ft["labels"] = t.labels;
      ft["confusion"] = t.confusion;
      ci["ft.f1"] = ci_json(bootstrap(static_cast<std::int64_t>(run.ft_truth.size()), [&](const std::vector<std::int64_t>& idx) {
        std::vector<std::string> a, b;
        for (auto i : idx) {
          a.push_back(run.ft_truth[i]);
          b.push_back(run.ft_pred[i]);
        }
        return weighted_prf(a, b).f1;
      }, B, o.seed));
      j["ft"] = ft;
    }
    if (run.has_rcl) {
      Json rcl = score_rcl(run.rank_exact);
      rcl["matching"] = "exact entity (a pod label matches that pod only; a service label matches its pods)";
      rcl["service_level"] = score_rcl(run.rank_service);
      std::map<std::string, std::vector<int>> by_type;
      for (size_t c = 0; c < run.rcl_cases.size(); ++c) by_type[ctx.faults[run.rcl_cases[c]].fault_type].push_back(run.rank_exact[c]);
      Json pft;
      for (auto& [t, r] : by_type) {
        pft[t] = score_rcl(r);
        pft[t]["cases"] = r.size();
      }
      rcl["per_fault_type"] = pft;
      auto ac_ci = [&](int k) {
        return ci_json(bootstrap(static_cast<std::int64_t>(run.rank_exact.size()), [&](const std::vector<std::int64_t>& idx) {
          double h = 0;
          for (auto i : idx) h += run.rank_exact[i] >= 1 && run.rank_exact[i] <= k;
          return h / idx.size();
        }, B, o.seed));
      };
      ci["rcl.ac@1"] = ac_ci(1);
      ci["rcl.ac@3"] = ac_ci(3);
      ci["rcl.avg@5"] = ci_json(bootstrap(static_cast<std::int64_t>(run.rank_exact.size()), [&](const std::vector<std::int64_t>& idx) {
        std::vector<int> r;
        for (auto i : idx) r.push_back(run.rank_exact[i]);
        return rcl_metrics(r).avg5;
      }, B, o.seed));
      j["rcl"] = rcl;
    }
    j["ci95"] = ci;
    all[run.name] = j;
  }
  // metrics.json layout: our method's tasks at the top, the rest under baselines / ablation.
  Json out;
  const Json& ours = all.contains("rslicer") ? all["rslicer"] : Json::object();
  for (const char* k : {"ad", "ft", "rcl", "ci95", "fold_info"})
    if (ours.contains(k)) out[k] = ours[k];
  out["cases"] = {{"train", res.train_cases.size()}, {"test", res.test_cases.size()}};
  out["baselines"] = Json::object();
  out["ablation"] = Json::object();
  for (auto& [name, j] : all.items()) {
    if (name == "rslicer") continue;
    if (j["family"] == "ablation") out["ablation"][name] = j;
    else out["baselines"][name] = j;
  }
  return out;
}

}  // namespace rslicer::eval
