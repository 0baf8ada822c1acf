#include "tasks/zero_label.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>
#include <utility>

#include "core/errors.h"
#include "tasks/evidence.h"

namespace rslicer {

namespace {

enum EventSignal { kMissing = 0, kEarly, kErrorStep, kLag, kGap, kErrorLines, kFirstKpi };

double dist(const float* a, const std::vector<float>& b, std::int32_t dim) {
  double s = 0;
  for (std::int32_t j = 0; j < dim; ++j) s += (a[j] - b[j]) * (a[j] - b[j]);
  return std::sqrt(s);
}

}  // namespace

ZeroLabelRanker ZeroLabelRanker::fit(const std::vector<FeatureSlice>& slices,
                                     const std::vector<std::vector<EventDeviation>>& deviations,
                                     const std::vector<SliceEmbedding>* embeddings, const Catalog& catalog,
                                     const ZeroLabelOptions& o, const CalibrationArchive* archived) {
  RSLICER_CHECK(deviations.size() == slices.size(), InvalidInput, "zero-label ranking: ", deviations.size(),
                " deviation lists for ", slices.size(), " slices");
  RSLICER_CHECK(!embeddings || embeddings->size() == slices.size(), InvalidInput,
                "zero-label ranking: embeddings not aligned with the slices");
  ZeroLabelRanker r;
  r.options_ = o;
  r.slices_ = &slices;
  r.deviations_ = &deviations;
  r.embeddings_ = o.embedding_signals || o.entity_scores ? embeddings : nullptr;
  r.catalog_ = &catalog;
  r.names_ = {"missing log step", "span ends early", "ERROR log step", "call start lag", "caller minus callee time",
              "ERROR log lines"};
  r.family_ = {0, 1, 2, 3, 4, 5};
  for (int k = 0; k < kKpiSlots; ++k) {
    r.names_.push_back("metric slot " + std::to_string(k));
    r.family_.push_back(6);
  }
  const bool any_metrics = std::any_of(slices.begin(), slices.end(), [](const FeatureSlice& f) {
    return f.tokens[static_cast<int>(Modality::kMetrics)].size() > 0;
  });
  // the signals that count only where the data carry no metrics ("auto"), or always ("on"); after the KPI slots: the
  // triage vectors of models saved before keep their layout. Returns the signal's index, or -1.
  auto without_metrics_signal = [&](const std::string& mode, const char* name, int family) {
    if (mode != "on" && !(mode == "auto" && !any_metrics)) return -1;
    r.names_.push_back(name);
    r.family_.push_back(family);
    return static_cast<int>(r.names_.size()) - 1;
  };
  r.span_error_signal_ = without_metrics_signal(o.span_errors, "failed spans", 11);
  r.self_signal_ = without_metrics_signal(o.self_time, "span self time", 12);
  r.n_event_ = r.names_.size();
  if (r.embeddings_ && o.entity_scores &&
      std::any_of(r.embeddings_->begin(), r.embeddings_->end(),
                  [](const SliceEmbedding& e) { return !e.entity_scores.empty(); })) {
    r.score_signal_ = static_cast<int>(r.names_.size());
    r.names_.push_back("learned root-cause score");
    r.family_.push_back(7 + kNumModalities);
  }
  if (r.embeddings_ && o.embedding_signals) {
    r.distance_signal_ = static_cast<int>(r.names_.size());
    for (int m = 0; m < kNumModalities; ++m) {
      r.names_.push_back(std::string(modality_name(static_cast<Modality>(m))) + " embedding");
      r.family_.push_back(7 + m);
    }
    // each entity's normal embedding per modality: its mean over the data, and its typical distance
    const auto& emb = *r.embeddings_;
    std::int32_t dim = 0;
    for (const auto& e : emb)
      if (e.entity_dim > 0) dim = e.entity_dim;
    const size_t n_entities = catalog.entities.size();
    r.normal_index_.assign(n_entities * kNumModalities, -1);
    std::vector<int> counts;
    for (const auto& e : emb)
      for (size_t k = 0; k < e.entities.size(); ++k)
        for (int m = 0; m < kNumModalities; ++m) {
          if (e.entity_modality_mask.empty() || !e.entity_modality_mask[k * kNumModalities + m]) continue;
          const size_t key = static_cast<size_t>(e.entities[k]) * kNumModalities + m;
          if (key >= r.normal_index_.size()) continue;
          if (r.normal_index_[key] < 0) {
            r.normal_index_[key] = static_cast<std::int32_t>(r.normal_mean_.size());
            r.normal_mean_.emplace_back(dim, 0.f);
            counts.push_back(0);
          }
          auto& mean = r.normal_mean_[r.normal_index_[key]];
          const float* row = &e.entity_modality_embeddings[(k * kNumModalities + m) * dim];
          for (std::int32_t j = 0; j < dim; ++j) mean[j] += row[j];
          counts[r.normal_index_[key]]++;
        }
    for (size_t i = 0; i < r.normal_mean_.size(); ++i)
      for (auto& v : r.normal_mean_[i]) v /= static_cast<float>(counts[i]);
    std::vector<std::vector<double>> d(r.normal_mean_.size());
    for (const auto& e : emb)
      for (size_t k = 0; k < e.entities.size(); ++k)
        for (int m = 0; m < kNumModalities; ++m) {
          if (e.entity_modality_mask.empty() || !e.entity_modality_mask[k * kNumModalities + m]) continue;
          const size_t key = static_cast<size_t>(e.entities[k]) * kNumModalities + m;
          if (key >= r.normal_index_.size() || r.normal_index_[key] < 0) continue;
          d[r.normal_index_[key]].push_back(
              dist(&e.entity_modality_embeddings[(k * kNumModalities + m) * dim], r.normal_mean_[r.normal_index_[key]], dim));
        }
    std::vector<double> all;
    for (auto& v : d) {
      if (v.empty()) {
        r.normal_scale_.push_back(0);
        continue;
      }
      std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
      r.normal_scale_.push_back(v[v.size() / 2]);
      all.push_back(v[v.size() / 2]);
    }
    double floor = 1e-6;
    if (!all.empty()) {
      std::nth_element(all.begin(), all.begin() + all.size() / 2, all.end());
      floor = std::max(floor, 0.25 * all[all.size() / 2]);
    }
    for (auto& s : r.normal_scale_) s = std::max(s, floor);
  }
  if (o.event_signals && o.metrics && o.shared_kpis_out) r.shared_slot_ = shared_kpi_slots(slices, o.min_z);
  r.family_size_.assign(16, 0);
  for (int f : r.family_) r.family_size_[f]++;
  // calibration: every (slice, candidate entity) row of the data
  const size_t k = r.names_.size();
  r.sorted_.assign(k, {});
  r.rows_.assign(k, 0);
  std::vector<std::pair<Id, std::vector<double>>> rows;
  size_t total = 0;
  for (size_t i = 0; i < slices.size(); ++i) {
    r.signals_of(i, rows);
    total += rows.size();
  }
  const size_t stride = std::max<size_t>(1, total / static_cast<size_t>(std::max(1, o.max_calibration_rows)));
  size_t seen = 0, kept = 0;
  struct Member {  // a positive value of a member of a family with several members, in a kept row
    size_t row;
    size_t signal;
    double value;
  };
  std::vector<Member> members;  // (only values at or above the signal's floor: below it the surprise is 0)
  const bool joint = o.effective_family || o.family_min_p;
  for (size_t i = 0; i < slices.size(); ++i) {
    r.signals_of(i, rows);
    for (const auto& [e, v] : rows) {
      if (seen++ % stride != 0) continue;
      for (size_t j = 0; j < k; ++j) {
        r.rows_[j] += 1;
        if (!(v[j] > 0)) continue;
        r.sorted_[j].push_back(v[j]);
        if (joint && r.family_size_[r.family_[j]] > 1 && v[j] >= r.member_floor(j)) members.push_back({kept, j, v[j]});
      }
      ++kept;
    }
  }
  double archived_rows = 0;
  // the archive's signal of each of ours (by name where it has names), and ours of each of its
  std::vector<int> from_archive(k, -1), to_ranker;
  if (archived && archived->rows > 0) {  // released slices of a live stream, a model's training data
    if (archived->names.empty()) {
      RSLICER_CHECK(archived->values.size() == k, InvalidInput, "zero-label ranking: the calibration archive has ",
                    archived->values.size(), " signals, the ranker ", k);
      for (size_t j = 0; j < k; ++j) from_archive[j] = static_cast<int>(j);
    } else {
      RSLICER_CHECK(archived->names.size() == archived->values.size(), InvalidInput,
                    "zero-label ranking: the calibration archive names ", archived->names.size(), " signals and has ",
                    archived->values.size());
      for (size_t j = 0; j < k; ++j) {
        const auto it = std::find(archived->names.begin(), archived->names.end(), r.names_[j]);
        if (it != archived->names.end()) from_archive[j] = static_cast<int>(it - archived->names.begin());
      }
    }
    to_ranker.assign(archived->values.size(), -1);
    archived_rows = archived->rows;
    for (size_t j = 0; j < k; ++j) {
      if (from_archive[j] < 0) continue;
      to_ranker[from_archive[j]] = static_cast<int>(j);
      const auto& v = archived->values[from_archive[j]];
      r.rows_[j] += archived->rows;
      r.sorted_[j].insert(r.sorted_[j].end(), v.begin(), v.end());
    }
  }
  for (auto& s : r.sorted_) std::sort(s.begin(), s.end());
  r.family_best_.assign(r.family_size_.size(), {});
  r.family_rows_ = static_cast<double>(kept) + archived_rows;
  if (o.family_min_p) {
    // each row's best member surprise per family (members come row by row), the archived rows' included
    std::vector<double> best(r.family_size_.size(), 0.0);
    auto flush = [&] {
      for (size_t f = 0; f < best.size(); ++f)
        if (best[f] > 0) r.family_best_[f].push_back(std::exchange(best[f], 0.0));
    };
    size_t row = static_cast<size_t>(-1);
    for (const Member& m : members) {
      if (m.row != row) flush();
      row = m.row;
      if (!r.shared(m.signal))
        best[r.family_[m.signal]] = std::max(best[r.family_[m.signal]], r.surprise(m.signal, m.value, false));
    }
    flush();
    if (archived_rows > 0)
      for (const auto& archived_row : archived->joint) {
        for (const auto& [a, v] : archived_row) {
          const int j = a < to_ranker.size() ? to_ranker[a] : -1;
          if (j >= 0 && !r.shared(j)) best[r.family_[j]] = std::max(best[r.family_[j]], r.surprise(j, v, false));
        }
        flush();
      }
    for (auto& b : r.family_best_) std::sort(b.begin(), b.end());
  }
  r.family_n_.assign(r.family_size_.size(), 1.0);
  for (size_t f = 0; f < r.family_size_.size(); ++f) r.family_n_[f] = std::max(1, r.family_size_[f]);
  if (o.effective_family) {
    // In the 1 % tail (surprise >= 2): how often does SOME member get there, against the members' own rates?
    // Independent members: as often as their sum (n = the active members); members that always move together:
    // as often as one of them (n = 1).
    constexpr double kTail = 2;
    std::vector<double> member_hits(k, 0.0), family_hits(r.family_size_.size(), 0.0);
    std::vector<size_t> last_row(r.family_size_.size(), static_cast<size_t>(-1));
    for (const Member& m : members) {
      if (r.surprise(m.signal, m.value, false) < kTail) continue;
      member_hits[m.signal] += 1;
      const int f = r.family_[m.signal];
      if (last_row[f] != m.row) {
        last_row[f] = m.row;
        family_hits[f] += 1;
      }
    }
    for (size_t f = 0; f < r.family_size_.size(); ++f) {
      double sum = 0, active = 0;
      for (size_t j = 0; j < k; ++j)
        if (r.family_[j] == static_cast<int>(f) && member_hits[j] > 0) {
          sum += member_hits[j];
          active += 1;
        }
      if (sum > 0) r.family_n_[f] = std::clamp(active * family_hits[f] / sum, 1.0, r.family_n_[f]);
    }
  }
  return r;
}

void CalibrationArchive::thin() {
  rows /= 2;
  auto halve = [](auto& v) {
    size_t w = 0;
    for (size_t i = 0; i < v.size(); i += 2) v[w++] = std::move(v[i]);
    v.resize(w);
    v.shrink_to_fit();
  };
  for (auto& v : values) halve(v);
  halve(joint);
}

nlohmann::json CalibrationArchive::to_json() const {
  auto round4 = [](double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4g", v);
    return std::strtod(buf, nullptr);
  };
  nlohmann::json vs = nlohmann::json::array(), js = nlohmann::json::array();
  for (const auto& v : values) {
    nlohmann::json a = nlohmann::json::array();
    for (double x : v) a.push_back(round4(x));
    vs.push_back(std::move(a));
  }
  for (const auto& row : joint) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& [j, x] : row) a.push_back({j, round4(x)});
    js.push_back(std::move(a));
  }
  return {{"rows", rows}, {"names", names}, {"values", std::move(vs)}, {"joint", std::move(js)}};
}

CalibrationArchive CalibrationArchive::from_json(const nlohmann::json& j) {
  CalibrationArchive a;
  try {
    a.rows = j.at("rows").get<double>();
    a.names = j.at("names").get<std::vector<std::string>>();
    a.values = j.at("values").get<std::vector<std::vector<double>>>();
    a.joint = j.at("joint").get<std::vector<std::vector<std::pair<std::uint32_t, double>>>>();
  } catch (const nlohmann::json::exception& e) {
    throw ModelError(std::string("calibration archive: malformed: ") + e.what());
  }
  if (!(a.rows >= 0) || a.names.size() != a.values.size())
    throw ModelError("calibration archive: " + std::to_string(a.names.size()) + " signal names for " +
                     std::to_string(a.values.size()) + " value lists, rows " + std::to_string(a.rows));
  for (auto& v : a.values) std::sort(v.begin(), v.end());
  return a;
}

CalibrationArchive ZeroLabelRanker::calibration(const std::vector<size_t>& slices, double max_rows) const {
  CalibrationArchive a;
  for (size_t i : slices) archive(i, a);
  while (a.rows > std::max(1.0, max_rows)) a.thin();
  return a;
}

void ZeroLabelRanker::archive(size_t slice, CalibrationArchive& a) const {
  const size_t k = names_.size();
  // (an archive of other signals, e.g. a model's from data with another modality, starts over: rows added by
  // position must mean the same signals)
  if (a.values.size() != k || (!a.names.empty() && a.names != names_))
    a = CalibrationArchive{0, std::vector<std::vector<double>>(k), {}, names_};
  if (a.names.empty()) a.names = names_;
  std::vector<std::pair<Id, std::vector<double>>> rows;
  signals_of(slice, rows);
  for (const auto& [e, v] : rows) {
    a.rows += 1;
    std::vector<std::pair<std::uint32_t, double>> members;
    for (size_t j = 0; j < k; ++j) {
      if (!(v[j] > 0)) continue;
      a.values[j].push_back(v[j]);
      if (options_.family_min_p && family_size_[family_[j]] > 1 && v[j] >= member_floor(j))
        members.push_back({static_cast<std::uint32_t>(j), v[j]});
    }
    if (!members.empty()) a.joint.push_back(std::move(members));
  }
  if (a.rows >= std::max(1, options_.max_calibration_rows)) a.thin();
}

void ZeroLabelRanker::signals_of(size_t slice, std::vector<std::pair<Id, std::vector<double>>>& out, bool alarm) const {
  out.clear();
  std::map<Id, size_t> at;
  const size_t k = names_.size();
  auto row = [&](Id e) -> std::vector<double>* {
    if (e == kNoId || e >= catalog_->entity_info.size()) return nullptr;
    if (!options_.kind.empty() && entity_kind_name(catalog_->entity_info[e].kind) != options_.kind) return nullptr;
    auto it = at.find(e);
    if (it == at.end()) {
      it = at.emplace(e, out.size()).first;
      out.push_back({e, std::vector<double>(k, 0.0)});
    }
    return &out[it->second].second;
  };
  auto up = [](double& x, double v) { x = std::max(x, v); };
  const FeatureSlice& s = (*slices_)[slice];
  // candidates: every entity with a token of any modality
  for (int m = 0; m < kNumModalities; ++m)
    for (Id e : s.tokens[m].entities) row(e);
  if (options_.event_signals && options_.metrics) {
    const TokenSet& mt = s.tokens[static_cast<int>(Modality::kMetrics)];
    for (size_t i = 0; i < mt.size(); ++i)
      if (auto* r = row(mt.entities[i]))
        for (int j = 0; j < kKpiSlots; ++j) up((*r)[kFirstKpi + j], std::fabs(mt.values[i * mt.dim + j]));
  }
  if (options_.event_signals) {
    const auto& devs = (*deviations_)[slice];
    const std::vector<bool> to_caller = caller_charged(slice);
    for (size_t i = 0; i < devs.size(); ++i) {
      const EventDeviation& d = devs[i];
      const double lag = alarm ? d.alarm_z_a : d.z_a, gap = alarm ? d.alarm_z_b : d.z_b;
      if (to_caller[i]) {  // the caller's pods among the slice's candidates
        const size_t n = out.size();
        for (size_t c = 0; c < n; ++c)
          if (catalog_->service_of(out[c].first) == d.caller) {
            up(out[c].second[kLag], lag);
            up(out[c].second[kGap], gap);
          }
        continue;
      }
      auto* r = row(d.entity);
      if (!r) continue;
      if (d.kind == EventKind::kOperation && span_error_signal_ >= 0) up((*r)[span_error_signal_], d.error_excess);
      // (the alarm z in the ranking too: a span's own time from a few spans is noisier than a call's lag, and
      // the robust z lost cases where a few slow spans outranked a root cause; docs/results.md, "Traces only")
      if (d.kind == EventKind::kOperation && self_signal_ >= 0) up((*r)[self_signal_], d.alarm_z_b);
      if (d.kind == EventKind::kEdge && options_.call_edges) {
        up((*r)[kLag], lag);
        up((*r)[kGap], gap);
      } else if (d.kind == EventKind::kOperation && options_.span_patterns) {
        up((*r)[kMissing], d.missing);
        up((*r)[kEarly], d.early);
        up((*r)[kErrorStep], d.error_step);
      } else if (d.kind == EventKind::kTemplate && options_.log_lines) {
        up((*r)[kErrorLines], d.error_share * std::max(0.0, d.rate_ratio + (d.is_new ? 1.0 : 0.0)));
      }
    }
  }
  if (score_signal_ >= 0) {
    const SliceEmbedding& e = (*embeddings_)[slice];
    for (size_t i = 0; i < e.entities.size() && i < e.entity_scores.size(); ++i)
      if (auto* r = row(e.entities[i]))  // as a probability against "no fault", calibrated like every signal
        up((*r)[score_signal_], 1.0 / (1.0 + std::exp(-static_cast<double>(e.entity_scores[i]))));
  }
  if (distance_signal_ >= 0) {
    const SliceEmbedding& e = (*embeddings_)[slice];
    const std::int32_t dim = e.entity_dim;
    for (size_t i = 0; i < e.entities.size(); ++i) {
      auto* r = row(e.entities[i]);
      if (!r || e.entity_modality_mask.empty()) continue;
      for (int m = 0; m < kNumModalities; ++m) {
        if (!e.entity_modality_mask[i * kNumModalities + m]) continue;
        const size_t key = static_cast<size_t>(e.entities[i]) * kNumModalities + m;
        if (key >= normal_index_.size() || normal_index_[key] < 0) continue;
        const int idx = normal_index_[key];
        (*r)[distance_signal_ + m] = dist(&e.entity_modality_embeddings[(i * kNumModalities + m) * dim], normal_mean_[idx], dim) /
                             normal_scale_[idx];
      }
    }
  }
}

std::vector<bool> ZeroLabelRanker::caller_charged(size_t slice, std::map<Id, size_t>* lagging_with) const {
  const auto& devs = (*deviations_)[slice];
  std::vector<bool> out(devs.size(), false);
  if (!options_.event_signals || !options_.call_edges) return out;
  // a call between two services that lags (its start) or waits (the caller beyond the callee's own time: a
  // CPU-starved caller handles its replies late); the services it links
  auto lagging = [&](const EventDeviation& d, Id& callee) {
    if (d.kind != EventKind::kEdge || d.caller == kNoId || !(d.z_a >= options_.min_z || d.z_b >= options_.min_z))
      return false;
    callee = catalog_->service_of(d.entity);
    return callee != d.caller;
  };
  std::map<Id, std::vector<Id>> linked;  // service -> the services it has lagging calls with, either way
  std::map<Id, std::vector<Id>> called;  // service -> the other services it calls in the slice
  Id callee = kNoId;
  for (const auto& d : devs) {
    if (d.kind == EventKind::kEdge && d.caller != kNoId && catalog_->service_of(d.entity) != d.caller)
      called[d.caller].push_back(catalog_->service_of(d.entity));
    if (lagging(d, callee)) {
      linked[d.caller].push_back(callee);
      linked[callee].push_back(d.caller);
    }
  }
  if (linked.empty()) return out;
  auto unique = [](std::map<Id, std::vector<Id>>& m) {
    for (auto& [s, v] : m) {
      std::sort(v.begin(), v.end());
      v.erase(std::unique(v.begin(), v.end()), v.end());
    }
  };
  unique(linked);
  unique(called);
  auto size_of = [](const std::map<Id, std::vector<Id>>& m, Id s) -> size_t {
    auto it = m.find(s);
    return it == m.end() ? 0 : it->second.size();
  };
  for (size_t i = 0; i < devs.size(); ++i) {
    if (!lagging(devs[i], callee)) continue;
    const Id caller = devs[i].caller;
    const size_t by_caller = size_of(linked, caller);
    // its sends lag, not one callee among many (a gateway that calls everything and lags with two)
    const auto& lagged = linked[caller];
    const auto& callees = called[caller];
    const auto lagging_callees = std::count_if(callees.begin(), callees.end(), [&](Id s) {
      return std::binary_search(lagged.begin(), lagged.end(), s);
    });
    out[i] = lagging_callees >= 2 && 2 * static_cast<size_t>(lagging_callees) >= callees.size() &&
             by_caller > size_of(linked, callee);
    if (out[i] && lagging_with) (*lagging_with)[devs[i].caller] = by_caller;
  }
  return out;
}

bool ZeroLabelRanker::shared(size_t j) const {
  const auto slot = static_cast<std::ptrdiff_t>(j) - kFirstKpi;
  return slot >= 0 && slot < static_cast<std::ptrdiff_t>(shared_slot_.size()) && j < n_event_ && shared_slot_[slot];
}

double ZeroLabelRanker::member_floor(size_t j) const {
  const bool share = j == kMissing || j == kEarly || j == kErrorStep || static_cast<int>(j) == span_error_signal_;
  const bool no_floor = j == kErrorLines || static_cast<int>(j) == score_signal_;  // only their rarity counts
  return share ? options_.min_share : no_floor ? 0.0 : options_.min_z;
}

double ZeroLabelRanker::surprise(size_t j, double v, bool tail_extrapolation) const {
  if (!(v > 0) || rows_[j] <= 0 || v < member_floor(j)) return 0;
  const auto& s = sorted_[j];
  const double ge = static_cast<double>(s.end() - std::lower_bound(s.begin(), s.end(), v));
  const double rank = -std::log10((ge + 1.0) / (rows_[j] + 1.0));
  if (!tail_extrapolation || (j != kLag && j != kGap)) return rank;
  // Beyond the 99.9th percentile of the rows (p_at), P(X >= v) = p_at * (v / u_at)^-alpha with alpha from the
  // 99th (p_from) and 99.9th percentiles: the body of the distribution, below where other faults' values pile up.
  constexpr double p_from = 1e-2, p_at = 1e-3;
  const auto g_from = static_cast<size_t>(rows_[j] * p_from), g_at = static_cast<size_t>(rows_[j] * p_at);
  if (g_at < 1 || g_from > s.size()) return rank;
  const double u_from = s[s.size() - g_from], u_at = s[s.size() - g_at];
  if (!(v > u_at) || !(u_at > u_from)) return rank;
  // (at most 3: a body that ends abruptly would otherwise make every value past it all but impossible)
  const double alpha = std::min(3.0, std::log10(p_from / p_at) / std::log10(u_at / u_from));
  return std::max(rank, -std::log10(p_at) + alpha * std::log10(v / u_at));
}

std::vector<double> ZeroLabelRanker::entity_signals(size_t slice, Id entity) const {
  std::vector<std::pair<Id, std::vector<double>>> rows;
  signals_of(slice, rows);
  for (auto& [e, v] : rows)
    if (e == entity) return v;
  return std::vector<double>(names_.size(), 0.0);
}

double ZeroLabelRanker::kpi_peak(size_t slice) const {
  const TokenSet& mt = (*slices_)[slice].tokens[static_cast<int>(Modality::kMetrics)];
  double peak = 0;
  for (size_t t = 0; t < mt.size(); ++t)
    for (int j = 0; j < kKpiSlots && j < mt.dim; ++j) peak = std::max(peak, std::fabs(double{mt.values[t * mt.dim + j]}));
  return peak;
}

double ZeroLabelRanker::score_ceiling(bool tail_extrapolation, bool alarm) const {
  const bool min_p = options_.family_min_p && !alarm;
  double out = 0;
  for (size_t j = 0; j < names_.size(); ++j) {
    if (rows_[j] <= 0 || (!alarm && shared(j))) continue;
    if (tail_extrapolation && (j == kLag || j == kGap)) return std::numeric_limits<double>::infinity();
    const int f = family_[j];
    out = std::max(out, min_p && family_size_[f] > 1 ? std::log10(family_rows_ + 1.0)
                                                     : std::log10(rows_[j] + 1.0) - std::log10(family_n_[f]));
  }
  return out;
}

std::vector<double> ZeroLabelRanker::directions(const std::vector<size_t>& case_slices, Id entity) const {
  std::vector<double> out(names_.size(), 1.0), largest(kKpiSlots, 0.0);
  for (size_t i : case_slices) {
    const TokenSet& mt = (*slices_)[i].tokens[static_cast<int>(Modality::kMetrics)];
    for (size_t t = 0; t < mt.size(); ++t) {
      if (mt.entities[t] != entity) continue;
      for (int j = 0; j < kKpiSlots && kFirstKpi + j < static_cast<int>(out.size()); ++j) {
        const double z = mt.values[t * mt.dim + j];
        if (std::fabs(z) > largest[j]) {
          largest[j] = std::fabs(z);
          out[kFirstKpi + j] = z < 0 ? -1.0 : 1.0;
        }
      }
    }
  }
  return out;
}

std::vector<ZeroLabelScore> ZeroLabelRanker::rank(const std::vector<size_t>& case_slices, bool tail_extrapolation,
                                                  bool alarm) const {
  const size_t k = names_.size();
  std::map<Id, std::vector<double>> raw;
  std::vector<std::pair<Id, std::vector<double>>> rows;
  for (size_t i : case_slices) {
    signals_of(i, rows, alarm);
    for (auto& [e, v] : rows) {
      auto& r = raw[e];
      if (r.empty()) r.assign(k, 0.0);
      for (size_t j = 0; j < k; ++j) r[j] = std::max(r[j], v[j]);
    }
  }
  std::vector<std::pair<ZeroLabelScore, double>> scored;
  for (auto& [e, v] : raw) {
    ZeroLabelScore s;
    s.entity = e;
    s.raw = v;
    s.surprise.resize(k);
    std::vector<double> fam(16, -1e300);
    std::vector<int> fam_best(16, -1);
    // a family's surprise: its largest member's, calibrated on the rows' largest members (min-p), or corrected for
    // the number of members (that move independently)
    const bool min_p = options_.family_min_p && !alarm;
    for (size_t j = 0; j < k; ++j) {
      s.surprise[j] = surprise(j, v[j], tail_extrapolation);
      if (!alarm && shared(j)) continue;  // a node's KPI: in the pattern (triage), not in the ranking
      const int f = family_[j];
      const double adj = s.surprise[j] - (min_p && family_size_[f] > 1 ? 0.0 : std::log10(family_n_[f]));
      if (adj > fam[f]) {
        fam[f] = adj;
        fam_best[f] = static_cast<int>(j);
      }
    }
    for (size_t f = 0; min_p && f < fam.size(); ++f) {
      if (family_size_[f] <= 1 || fam_best[f] < 0 || !(fam[f] > 0)) continue;
      const auto& b = family_best_[f];
      const double ge = static_cast<double>(b.end() - std::lower_bound(b.begin(), b.end(), fam[f]));
      fam[f] = -std::log10((ge + 1.0) / (family_rows_ + 1.0));
    }
    s.score = 0;
    double sum = 0;
    for (size_t f = 0; f < fam.size(); ++f) {
      if (fam_best[f] < 0) continue;
      const double x = std::max(0.0, fam[f]);
      sum += x;
      if (x > s.score) {
        s.score = x;
        s.best = fam_best[f];
      }
    }
    scored.push_back({std::move(s), sum});
  }
  std::stable_sort(scored.begin(), scored.end(), [&](const auto& a, const auto& b) {
    if (a.first.score != b.first.score) return a.first.score > b.first.score;
    if (a.second != b.second) return a.second > b.second;
    return catalog_->entities.name(a.first.entity) < catalog_->entities.name(b.first.entity);
  });
  std::vector<ZeroLabelScore> out;
  for (auto& [s, sum] : scored) out.push_back(std::move(s));
  return out;
}

namespace {

std::string pct(double share) { return short_number(100.0 * std::clamp(share, 0.0, 1.0)) + "%"; }

// What a signal's surprise `s` of value `v` means, against its calibration values (`sorted`, ascending, the positive
// ones of `rows` rows of (slice, `kind`): the data's and, in detect and serve, the model's training data's): "surprise
// 2.76: 5 others of the 3982 (slice, pod) values seen reach it". `tail`: `s` came from the call times' power-law tail
// (ZeroLabelOptions::tail_extrapolation), beyond the rank surprise.
std::string rarity(double s, double v, const std::vector<double>& sorted, double rows, const std::string& kind,
                   bool tail) {
  const std::string values = "(slice, " + (kind.empty() ? std::string("entity") : kind) + ") values";
  const auto ge = sorted.end() - std::lower_bound(sorted.begin(), sorted.end(), v);
  // (offline the value is one of them, its own row: the others are what a reader weighs)
  const auto others = ge - (std::binary_search(sorted.begin(), sorted.end(), v) ? 1 : 0);
  const std::string of = " of the " + short_number(rows) + " " + values + " seen";
  std::string text = "surprise " + short_number(s) + ": " +
                     (others <= 0   ? "the largest" + of
                      : others == 1 ? "1 other" + of + " reaches it"
                                    : std::to_string(others) + " others" + of + " reach it");
  if (tail) text += ", scored on the tail beyond their largest";
  return text;
}

const std::string& name_of(const std::unordered_map<std::uint64_t, std::string>& names, std::uint64_t key) {
  static const std::string unknown = "?";
  auto it = names.find(key);
  return it == names.end() ? unknown : it->second;
}

// "svc|operation" -> "operation"; "caller -> callee|op" -> {"caller", "op"}
std::string after_bar(const std::string& s) {
  auto b = s.find('|');
  return b == std::string::npos ? s : s.substr(b + 1);
}
std::string caller_of(const std::string& edge) {
  auto a = edge.find(" -> ");
  return a == std::string::npos ? edge : edge.substr(0, a);
}
// " (1 call)", " (median of 12 calls)": how much the quoted time rests on ("" when not known)
// "(median of 14 calls, 10 of them slowed)": `slowed`, EventDeviation::slow_a / slow_b, says whether every call
// slowed (a delay on the wire) or a part (lost packets, retransmitted), from 3 calls on
std::string of_calls(double n, double slowed) {
  const auto k = static_cast<long long>(std::llround(n));
  if (k <= 0) return "";
  if (k == 1) return " (1 call)";
  const auto s = static_cast<long long>(std::llround(slowed * static_cast<double>(k)));
  std::string out = " (median of " + std::to_string(k) + " calls";
  if (k >= 3 && s > 0) out += s >= k ? std::string(", all slowed") : ", " + std::to_string(s) + " of them slowed";
  return out + ")";
}
std::string quoted(std::string s) {
  if (s.size() > 90) s = s.substr(0, 87) + "...";
  return "\"" + s + "\"";
}

}  // namespace

std::vector<std::string> ZeroLabelRanker::explain(const ZeroLabelScore& score, const std::vector<size_t>& case_slices,
                                                  const std::unordered_map<std::uint64_t, std::string>& names,
                                                  const std::vector<std::string>& kpi_slots, double z_clip,
                                                  size_t max_sentences) const {
  std::vector<std::pair<double, std::string>> out;
  // the deviation of the entity that gives each event signal its value
  // (edges: the call whose lag or wait is charged to the entity, and whether to its pods as the caller)
  const Id service = catalog_->service_of(score.entity);
  bool charged_as_caller = false;
  size_t caller_lags_with = 0;
  auto best_dev = [&](EventKind kind, double EventDeviation::*field) -> const EventDeviation* {
    const EventDeviation* best = nullptr;
    for (size_t i : case_slices) {
      const auto& devs = (*deviations_)[i];
      std::map<Id, size_t> lagging_with;
      const std::vector<bool> to_caller =
          kind == EventKind::kEdge ? caller_charged(i, &lagging_with) : std::vector<bool>(devs.size(), false);
      for (size_t k = 0; k < devs.size(); ++k) {
        const EventDeviation& d = devs[k];
        const bool mine = to_caller[k] ? d.caller == service : d.entity == score.entity;
        if (mine && d.kind == kind && (!best || d.*field > best->*field)) {
          best = &d;
          charged_as_caller = to_caller[k];
          caller_lags_with = to_caller[k] ? lagging_with[d.caller] : 0;
        }
      }
    }
    return best;
  };
  auto as_caller = [&] {
    return charged_as_caller ? " (charged to the caller: its calls lag or wait with " +
                                   std::to_string(caller_lags_with) + " services)"
                             : std::string();
  };
  for (size_t j = 0; j < score.surprise.size(); ++j) {
    const double s = score.surprise[j];
    if (s < 1.0) continue;  // seen in at least every tenth row: not evidence
    std::string text;
    if (j == kMissing) {
      if (auto* d = best_dev(EventKind::kOperation, &EventDeviation::missing)) {
        const std::string& step = name_of(names, d->missing_step);
        const bool child = step.rfind(kChildStepMark, 0) == 0;  // a child span's operation, not a log line
        text = (child ? "child span " + quoted(step.substr(kChildStepMark.size())) : "log step " + quoted(step)) +
               " of " + after_bar(name_of(names, d->key)) + ": in " + pct(d->missing_normal) +
               " of its spans normally, " + pct(d->missing_seen) + " now";
      }
    } else if (j == kEarly) {
      if (auto* d = best_dev(EventKind::kOperation, &EventDeviation::early))
        text = after_bar(name_of(names, d->key)) + " spans end early: " + pct(d->early) +
               " more of them have fewer log lines than 9 in 10 normal spans";
    } else if (j == kErrorStep) {
      if (auto* d = best_dev(EventKind::kOperation, &EventDeviation::error_step))
        text = after_bar(name_of(names, d->key)) + " spans log an ERROR line: +" + pct(d->error_step) +
               " of spans against normal";
    } else if (j == kLag) {
      if (auto* d = best_dev(EventKind::kEdge, &EventDeviation::z_a))
        text = "calls from " + caller_of(name_of(names, d->key)) + " to " + after_bar(name_of(names, d->key)) +
               ": start lag " + short_duration_us(d->median_a) + of_calls(d->calls_a, d->slow_a) + ", " +
               short_duration_us(d->normal_a) + " normally" + as_caller();
    } else if (j == kGap) {
      const EventDeviation* d = best_dev(EventKind::kEdge, &EventDeviation::z_b);
      const std::string edge = d ? name_of(names, d->key) : std::string();
      if (const auto mark = edge.find(kNamedPeerMark); d && mark != std::string::npos) {
        const auto arrow = edge.find(" -> ");
        const std::string callee = arrow < mark ? edge.substr(arrow + 4, mark - arrow - 4) : std::string("it");
        text = "calls from " + caller_of(edge) + " to " + callee + " (" + after_bar(edge) +
               "; no spans of its own, named by the client spans) take " + short_duration_us(d->median_b) +
               of_calls(d->calls_b, d->slow_b) + ", " + short_duration_us(d->normal_b) + " normally" + as_caller();
      } else if (d)
        text = "calls from " + caller_of(name_of(names, d->key)) + ": the caller waits " +
               short_duration_us(d->median_b) + of_calls(d->calls_b, d->slow_b) + " beyond " +
               after_bar(name_of(names, d->key)) + "'s own time, " + short_duration_us(d->normal_b) + " normally" +
               as_caller();
    } else if (j == kErrorLines) {
      const EventDeviation* best = nullptr;
      double bv = 0;
      for (size_t i : case_slices)
        for (const auto& d : (*deviations_)[i]) {
          const double v = d.error_share * std::max(0.0, d.rate_ratio + (d.is_new ? 1.0 : 0.0));
          if (d.entity == score.entity && d.kind == EventKind::kTemplate && v > bv) {
            bv = v;
            best = &d;
          }
        }
      if (best)
        text = std::string("ERROR log line ") + quoted(after_bar(name_of(names, best->key))) +
               (best->is_new ? " (new for the service)" : "") + ": " + short_number(best->n) + " in the window";
    } else if (static_cast<int>(j) == span_error_signal_) {
      if (auto* d = best_dev(EventKind::kOperation, &EventDeviation::error_excess))
        text = after_bar(name_of(names, d->key)) + " spans fail: +" + pct(d->error_excess) + " of spans against normal";
    } else if (static_cast<int>(j) == self_signal_) {
      if (auto* d = best_dev(EventKind::kOperation, &EventDeviation::alarm_z_b))
        text = after_bar(name_of(names, d->key)) +
               " spans' own time (outside their calls): " + short_duration_us(d->median_b) +
               of_calls(d->calls_b, d->slow_b) + ", " + short_duration_us(d->normal_b) + " normally";
    } else if (j < n_event_) {
      const int slot = static_cast<int>(j) - kFirstKpi;
      // (the tokens hold the squashed z: the evidence quotes the robust z itself, a lower bound at the clip)
      const bool clipped = z_clip > 0 && score.raw[j] >= static_cast<float>(z_clip);
      text = (slot < static_cast<int>(kpi_slots.size()) ? kpi_slots[slot] : "a KPI") + ": robust z " +
             short_number(unsquash_z(score.raw[j])) + (clipped ? " or more" : "") + " against its baseline" +
             (shared(j) ? " (the same on other entities of the slice, like a node's KPI: not ranked)" : "");
    } else if (static_cast<int>(j) == score_signal_) {
      text = "the encoder's learned root-cause score is " + short_number(score.raw[j]) +
             " (its entity head's probability against \"no fault\")";
    } else {
      text = "its " + names_[j] + " is " + short_number(score.raw[j]) +
             "x its typical distance from its own normal embedding";
    }
    if (!text.empty()) {
      const bool tail = s > surprise(j, score.raw[j], false) + 1e-9;
      out.push_back({s, text + " (" + rarity(s, score.raw[j], sorted_[j], rows_[j], options_.kind, tail) + ")"});
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<std::string> sentences;
  for (size_t i = 0; i < out.size() && i < max_sentences; ++i) sentences.push_back(out[i].second);
  if (sentences.empty())
    sentences.push_back("no signal stands out (one in ten of the values seen or more reach each of its signals)");
  return sentences;
}

}  // namespace rslicer
