#include "features/features.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <deque>
#include <map>
#include <unordered_map>

#include "core/errors.h"
#include "core/hash.h"

namespace rslicer {

namespace {

// Soft compression of large z: linear up to 3, logarithmic beyond, clipped.
float squash(double z, double clip) {
  if (!std::isfinite(z)) return 0.0f;
  double a = std::fabs(z);
  if (a > 3.0) a = 3.0 + std::log1p(a - 3.0);
  a = std::min(a, clip);
  return static_cast<float>(z < 0 ? -a : a);
}

}  // namespace

std::vector<char> shared_kpi_slots(const std::vector<FeatureSlice>& slices, double min_z) {
  std::vector<double> deviating(kKpiSlots, 0.0), twinned(kKpiSlots, 0.0);
  std::vector<float> at_slot;
  for (const FeatureSlice& s : slices) {
    const TokenSet& mt = s.tokens[static_cast<int>(Modality::kMetrics)];
    for (int j = 0; j < kKpiSlots && j < mt.dim; ++j) {
      at_slot.clear();
      for (size_t i = 0; i < mt.size(); ++i)
        if (const float z = mt.values[i * mt.dim + j]; std::fabs(z) >= min_z) at_slot.push_back(z);
      std::sort(at_slot.begin(), at_slot.end());
      for (size_t a = 0; a < at_slot.size();) {  // runs of one exact value: entities that share it
        size_t b = a + 1;
        while (b < at_slot.size() && at_slot[b] == at_slot[a]) ++b;
        deviating[j] += static_cast<double>(b - a);
        if (b - a >= 2) twinned[j] += static_cast<double>(b - a);
        a = b;
      }
    }
  }
  std::vector<char> out(kKpiSlots, 0);
  for (int j = 0; j < kKpiSlots; ++j) out[j] = deviating[j] > 0 && 2 * twinned[j] >= deviating[j];
  return out;
}

double metric_readiness(const FeatureSlice& slice) {
  static_assert(kMetricReadySummary < kMetricSummary, "the readiness is one of the metric token's summary values");
  const TokenSet& mt = slice.tokens[static_cast<int>(Modality::kMetrics)];
  if (mt.size() == 0 || mt.dim < kMetricTokenDim) return -1;
  double sum = 0;
  for (size_t i = 0; i < mt.size(); ++i) sum += mt.values[i * mt.dim + 2 * kKpiSlots + kMetricReadySummary];
  return sum / static_cast<double>(mt.size());
}

double unsquash_z(double a) {
  a = std::fabs(a);
  return a > 3.0 ? 3.0 + std::expm1(a - 3.0) : a;
}

namespace {

double median_of(std::vector<double>& v) {
  size_t n = v.size();
  size_t mid = n / 2;
  std::nth_element(v.begin(), v.begin() + mid, v.end());
  double m = v[mid];
  if (n % 2 == 0) {
    double lo = *std::max_element(v.begin(), v.begin() + mid);
    m = 0.5 * (m + lo);
  }
  return m;
}

// Ring of past values with robust statistics.
struct Ring {
  std::deque<double> values;
  void push(double v, size_t cap) {
    values.push_back(v);
    while (values.size() > cap) values.pop_front();
  }
  // median and robust scale (1.4826 MAD with floors)
  void stats(const FeatureOptions& o, double* median, double* scale) const {
    std::vector<double> tmp(values.begin(), values.end());
    double m = median_of(tmp);
    for (auto& x : tmp) x = std::fabs(x - m);
    double mad = median_of(tmp);
    *median = m;
    *scale = std::max({1.4826 * mad, o.min_rel_scale * std::fabs(m), o.min_abs_scale});
  }
};

struct PendingValue {
  TimeUs ready = 0;     // may enter the baseline once a slice starts at or after this time
  std::uint64_t key = 0;
  double values[3] = {0, 0, 0};
};

void add_pieces(const std::vector<std::string>& pieces, const FeatureOptions& o, std::vector<std::int32_t>& out,
                int* used) {
  for (const auto& p : pieces) {
    if (*used >= kMaxPieces) return;
    out[out.size() - kMaxPieces + *used] = piece_bucket(p, o.hash_seed, o.name_buckets);
    ++*used;
  }
}

}  // namespace

// ---------------------------------------------------------------- names

std::vector<std::string> name_pieces(const std::string& name) {
  std::vector<std::string> words;
  std::string cur;
  for (char c : name) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      cur.push_back(c);
    } else if (!cur.empty()) {
      words.push_back(cur);
      cur.clear();
    }
  }
  if (!cur.empty()) words.push_back(cur);
  std::vector<std::string> out;
  auto is_digit = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; };
  for (const auto& w : words) {
    bool all_digit = std::all_of(w.begin(), w.end(), is_digit);
    int transitions = 0;
    bool has_upper = false, has_lower = false;
    for (size_t i = 0; i < w.size(); ++i) {
      if (i > 0 && is_digit(w[i]) != is_digit(w[i - 1])) ++transitions;
      has_upper |= std::isupper(static_cast<unsigned char>(w[i])) != 0;
      has_lower |= std::islower(static_cast<unsigned char>(w[i])) != 0;
    }
    // ids and hashes ("5b67c48447", "mv5hb", "12345") carry no structure
    bool camel = has_upper && has_lower;
    if ((all_digit && w.size() >= 3) || (!camel && transitions >= 2)) {
      out.push_back("<num>");
      continue;
    }
    // camelCase / ACRONYMWord split, then letter/digit split ("P90" -> "p", "90")
    std::string part;
    auto flush = [&]() {
      if (!part.empty()) out.push_back(part);
      part.clear();
    };
    for (size_t i = 0; i < w.size(); ++i) {
      char c = w[i];
      if (!part.empty()) {
        bool upper = std::isupper(static_cast<unsigned char>(c)) != 0;
        bool prev_lower = std::islower(static_cast<unsigned char>(w[i - 1])) != 0;
        bool prev_upper = std::isupper(static_cast<unsigned char>(w[i - 1])) != 0;
        bool next_lower = i + 1 < w.size() && std::islower(static_cast<unsigned char>(w[i + 1]));
        if ((upper && (prev_lower || (prev_upper && next_lower))) || is_digit(c) != is_digit(w[i - 1])) flush();
      }
      part.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
    flush();
  }
  return out;
}

std::int32_t piece_bucket(const std::string& piece, std::uint64_t seed, std::int32_t buckets) {
  RSLICER_CHECK(buckets >= 2, InvalidInput, "name_buckets must be >= 2, got ", buckets);
  std::uint64_t h = splitmix64(fnv1a(piece, kFnvOffset ^ splitmix64(seed)));
  return static_cast<std::int32_t>(1 + h % static_cast<std::uint64_t>(buckets - 1));
}

std::uint64_t name_key(const std::string& name) { return fnv1a(name); }

// ---------------------------------------------------------------- state

int FeatureState::kpi_slot(const std::string& kpi) {
  for (size_t i = 0; i < kpi_slots.size(); ++i)
    if (kpi_slots[i] == kpi) return static_cast<int>(i);
  if (!frozen && kpi_slots.size() < static_cast<size_t>(kKpiSlots)) {
    kpi_slots.push_back(kpi);
    return static_cast<int>(kpi_slots.size() - 1);
  }
  return static_cast<int>(splitmix64(fnv1a(kpi)) % kKpiSlots);
}

const config::Schema<FeatureOptions>& FeatureOptions::schema() {
  using config::Range;
  static const auto s =
      config::Schema<FeatureOptions>("features")
          .num("name_buckets", &FeatureOptions::name_buckets, "hash buckets of name word pieces (bucket 0 = padding)",
               Range::closed(2, 1 << 24))
          .num("hash_seed", &FeatureOptions::hash_seed, "seed of the word-piece hash (fixed so models are portable)")
          .num("baseline_len", &FeatureOptions::baseline_len, "ring length of the metric baseline per entity x KPI",
               Range::at_least(1))
          .sub("events", &FeatureOptions::events, "trace / log event tokens and their normal profile")
          .num("min_baseline", &FeatureOptions::min_baseline, "fewer baseline values: z-scores are 0 (unknown)",
               Range::at_least(1))
          .num("z_clip", &FeatureOptions::z_clip, "|z| is clipped here (after a soft log compression beyond 3)",
               Range::above(0))
          .num("min_rel_scale", &FeatureOptions::min_rel_scale, "robust scale floor as a fraction of |median|",
               Range::at_least(0))
          .num("min_abs_scale", &FeatureOptions::min_abs_scale, "absolute robust scale floor", Range::above(0))
          .flag("metric_latest_pane", &FeatureOptions::metric_latest_pane,
                "a KPI's level z is also taken over the slice's latest pane (its last stride); the larger |z| counts");
  return s;
}

nlohmann::json FeatureState::to_json() const {
  nlohmann::json j;
  j["options"] = config::to_json(options);
  j["kpi_slots"] = kpi_slots;
  // sorted for deterministic files
  std::map<std::uint64_t, std::string> sorted(key_names.begin(), key_names.end());
  nlohmann::json names = nlohmann::json::object();
  for (const auto& [k, v] : sorted) names[std::to_string(k)] = v;
  j["key_names"] = names;
  j["frozen"] = frozen;
  j["token_dims"] = {kMetricTokenDim, kTraceTokenDim, kLogTokenDim};
  j["max_pieces"] = kMaxPieces;
  return j;
}

FeatureState FeatureState::from_json(const nlohmann::json& j) {
  FeatureState s;
  try {
    s.options = config::from_json<FeatureOptions>(j.at("options"));
    s.kpi_slots = j.at("kpi_slots").get<std::vector<std::string>>();
    for (const auto& [k, v] : j.at("key_names").items()) s.key_names[std::stoull(k)] = v.get<std::string>();
    s.frozen = j.at("frozen").get<bool>();
    auto dims = j.at("token_dims").get<std::vector<int>>();
    if (dims != std::vector<int>{kMetricTokenDim, kTraceTokenDim, kLogTokenDim} ||
        j.at("max_pieces").get<int>() != kMaxPieces)
      throw ModelError("feature state was written with other token sizes (incompatible build)");
  } catch (const ModelError&) {
    throw;
  } catch (const std::exception& e) {
    throw ModelError(cat("malformed feature state: ", e.what()));
  }
  if (s.kpi_slots.size() > static_cast<size_t>(kKpiSlots))
    throw ModelError(cat("feature state has ", s.kpi_slots.size(), " KPI slots, at most ", kKpiSlots));
  return s;
}

// ---------------------------------------------------------------- extractor

struct FeatureExtractor::Impl {
  // metric baselines per (entity, kpi)
  std::unordered_map<std::uint64_t, Ring> metric_rings;
  std::unordered_map<std::uint64_t, TimeUs> metric_last_enqueued;
  std::deque<PendingValue> metric_pending;  // sorted by ready time (point time + 1)
  std::vector<int> kpi_slot_cache;         // catalog kpi id -> slot (-1 unknown)
  std::unordered_map<Id, std::vector<std::int32_t>> entity_pieces;  // entity -> buckets of its service name
  std::unique_ptr<EventSummarizer> summarizer;
  TimeUs stride = 0;
  // online (causal) event tokens: the added panes still inside the horizon, the first `panes_added` of them in
  // the running profile
  std::deque<std::shared_ptr<const PaneSummary>> panes;
  size_t panes_added = 0;
  EventProfile running;

  void flush(TimeUs t, const FeatureOptions& o) {
    while (!metric_pending.empty() && metric_pending.front().ready <= t) {
      const auto& p = metric_pending.front();
      metric_rings[p.key].push(p.values[0], static_cast<size_t>(o.baseline_len));
      metric_pending.pop_front();
    }
  }
};

FeatureExtractor::FeatureExtractor(FeatureState state, const Catalog& catalog, TemplateText template_text,
                                   double stride_s)
    : state_(std::move(state)), catalog_(catalog), template_text_(std::move(template_text)),
      impl_(std::make_unique<Impl>()) {
  config::validate(state_.options);
  RSLICER_CHECK(stride_s > 0, InvalidInput, "feature extractor: stride must be > 0, got ", stride_s);
  RSLICER_CHECK(state_.options.events.profile != "reference" || !state_.options.events.reference.empty(),
                InvalidInput,
                "features.events.profile = reference needs the normal periods: --set "
                "features.events.reference=START/END[,START/END...] (ISO-8601 times)");
  auto text = template_text_ ? template_text_ : TemplateText([](Id id) { return cat("template ", id); });
  impl_->stride = static_cast<TimeUs>(std::llround(stride_s * kUsPerSecond));
  impl_->summarizer = std::make_unique<EventSummarizer>(catalog_, text, impl_->stride, state_.options.events);
}

const EventSummarizer& FeatureExtractor::summarizer() const { return *impl_->summarizer; }

FeatureExtractor::~FeatureExtractor() = default;

namespace {

void init_token(TokenSet& ts, Id entity, std::uint8_t kind, std::uint64_t key) {
  ts.values.resize(ts.values.size() + ts.dim, 0.0f);
  ts.pieces.resize(ts.pieces.size() + kMaxPieces, 0);
  ts.entities.push_back(entity);
  ts.kinds.push_back(kind);
  ts.keys.push_back(key);
}


}  // namespace

FeatureSlice FeatureExtractor::extract(const Slice& slice) {
  const FeatureOptions& o = state_.options;
  Impl& im = *impl_;
  im.flush(slice.start, o);

  FeatureSlice fs;
  fs.index = slice.index;
  fs.start = slice.start;
  fs.end = slice.end;
  fs.faults = slice.faults;
  fs.n_metric_points = static_cast<std::int64_t>(slice.metrics.size());
  fs.n_spans = static_cast<std::int64_t>(slice.spans.size());
  fs.n_logs = static_cast<std::int64_t>(slice.logs.size());
  for (int m = 0; m < kNumModalities; ++m) fs.tokens[m].dim = token_dim(static_cast<Modality>(m));

  auto kind_of = [&](Id e) -> std::uint8_t {
    if (e == kNoId || e >= catalog_.entity_info.size()) return 0;
    return static_cast<std::uint8_t>(1 + static_cast<int>(catalog_.entity_info[e].kind));
  };
  auto entity_name = [&](Id e) -> std::string {
    return e == kNoId || e >= catalog_.entities.size() ? std::string("unknown") : catalog_.entities.name(e);
  };
  auto pieces_of_entity = [&](Id e) -> const std::vector<std::int32_t>& {
    auto it = im.entity_pieces.find(e);
    if (it != im.entity_pieces.end()) return it->second;
    std::string name = "unknown";
    if (e != kNoId && e < catalog_.entities.size()) name = catalog_.entities.name(catalog_.service_of(e));
    std::vector<std::int32_t> b;
    for (const auto& p : name_pieces(name)) b.push_back(piece_bucket(p, o.hash_seed, o.name_buckets));
    return im.entity_pieces.emplace(e, std::move(b)).first->second;
  };
  auto put_entity_pieces = [&](TokenSet& ts, Id e, int* used) {
    for (std::int32_t b : pieces_of_entity(e)) {
      if (*used >= kMaxPieces) return;
      ts.pieces[ts.pieces.size() - kMaxPieces + *used] = b;
      ++*used;
    }
  };

  // ---- metrics: one token per entity
  {
    if (im.kpi_slot_cache.size() < catalog_.kpis.size()) {
      size_t old = im.kpi_slot_cache.size();
      im.kpi_slot_cache.resize(catalog_.kpis.size(), -1);
      for (size_t k = old; k < catalog_.kpis.size(); ++k)
        im.kpi_slot_cache[k] = state_.kpi_slot(catalog_.kpis.name(static_cast<Id>(k)));
    }
    const TimeUs latest_from = slice.end - im.stride;  // the slice's latest pane (features.metric_latest_pane)
    // group points by (entity, kpi); slice.metrics is sorted by time
    std::map<std::pair<Id, Id>, std::vector<const MetricPoint*>> groups;
    for (const auto& p : slice.metrics) groups[{p.entity, p.kpi}].push_back(&p);
    TokenSet& ts = fs.tokens[static_cast<int>(Modality::kMetrics)];
    Id cur_entity = kNoId;
    struct Acc {
      double max_abs = 0, sum_abs = 0, max_trend = 0;
      int n = 0, n_extreme = 0, n_ready = 0;
      std::int64_t points = 0;
    } acc;
    std::vector<float> best_abs(kKpiSlots, -1.0f);
    auto close_entity = [&]() {
      if (cur_entity == kNoId) return;
      float* v = &ts.values[ts.values.size() - ts.dim];
      float* s = v + 2 * kKpiSlots;
      s[0] = static_cast<float>(acc.max_abs);
      s[1] = static_cast<float>(acc.n ? acc.sum_abs / acc.n : 0);
      s[2] = static_cast<float>(acc.max_trend);
      s[3] = static_cast<float>(acc.n ? static_cast<double>(acc.n_extreme) / acc.n : 0);
      s[4] = static_cast<float>(std::log1p(static_cast<double>(acc.points)) / 5.0);
      s[kMetricReadySummary] = static_cast<float>(acc.n ? static_cast<double>(acc.n_ready) / acc.n : 0);
    };
    for (const auto& [ek, pts] : groups) {
      Id entity = ek.first, kpi = ek.second;
      if (entity != cur_entity) {
        close_entity();
        cur_entity = entity;
        acc = Acc{};
        std::fill(best_abs.begin(), best_abs.end(), -1.0f);
        std::string name = entity_name(entity);
        std::uint64_t key = name_key(name);
        init_token(ts, entity, kind_of(entity), key);
        if (!state_.key_names.count(key)) state_.key_names[key] = name;
        int used = 0;
        put_entity_pieces(ts, entity, &used);
      }
      std::uint64_t mkey = (static_cast<std::uint64_t>(entity) << 32) | kpi;
      double sum = 0, latest_sum = 0;
      size_t latest_n = 0;  // (metric_latest_pane only) the points of the slice's latest pane
      for (auto* p : pts) {
        sum += p->value;
        if (o.metric_latest_pane && p->time >= latest_from) {
          latest_sum += p->value;
          ++latest_n;
        }
      }
      double level = sum / pts.size();
      double trend = pts.back()->value - pts.front()->value;
      double zl = 0, zt = 0;
      bool ready = false;
      auto it = im.metric_rings.find(mkey);
      if (it != im.metric_rings.end() && static_cast<std::int32_t>(it->second.values.size()) >= o.min_baseline) {
        double med, scale;
        it->second.stats(o, &med, &scale);
        zl = (level - med) / scale;
        if (latest_n > 0 && latest_n < pts.size()) {
          // scaled to the window's point count: without a fault it spreads as the window's mean does
          const double zp = (latest_sum / static_cast<double>(latest_n) - med) / scale *
                            std::sqrt(static_cast<double>(latest_n) / static_cast<double>(pts.size()));
          if (std::fabs(zp) > std::fabs(zl)) zl = zp;
        }
        zt = trend / scale;
        ready = true;
      }
      float fzl = squash(zl, o.z_clip), fzt = squash(zt, o.z_clip);
      int slot = kpi < im.kpi_slot_cache.size() ? im.kpi_slot_cache[kpi] : 0;
      float* v = &ts.values[ts.values.size() - ts.dim];
      if (std::fabs(fzl) > best_abs[slot]) {  // slot collision: keep the most extreme KPI
        best_abs[slot] = std::fabs(fzl);
        v[slot] = fzl;
        v[kKpiSlots + slot] = fzt;
      }
      acc.max_abs = std::max(acc.max_abs, static_cast<double>(std::fabs(fzl)));
      acc.sum_abs += std::fabs(fzl);
      acc.max_trend = std::max(acc.max_trend, static_cast<double>(std::fabs(fzt)));
      acc.n += 1;
      acc.n_extreme += std::fabs(zl) > 3.0;
      acc.n_ready += ready;
      acc.points += static_cast<std::int64_t>(pts.size());
      // enqueue the new points for the baseline (each point once)
      auto last_it = im.metric_last_enqueued.find(mkey);
      bool has_last = last_it != im.metric_last_enqueued.end();
      TimeUs last = has_last ? last_it->second : 0;
      for (auto* p : pts) {
        if (has_last && p->time <= last) continue;
        has_last = true;
        last = p->time;
        im.metric_last_enqueued[mkey] = last;
        PendingValue pv;
        pv.ready = p->time + 1;
        pv.key = mkey;
        pv.values[0] = p->value;
        im.metric_pending.push_back(pv);
      }
    }
    close_entity();
    // keep the pending queue sorted by ready time (slices arrive in time order, points within may not)
    std::stable_sort(im.metric_pending.begin(), im.metric_pending.end(),
                     [](const PendingValue& a, const PendingValue& b) { return a.ready < b.ready; });
  }

  if (!slice.spans.empty() || !slice.logs.empty())
    fs.head_pane = std::make_shared<PaneSummary>(im.summarizer->summarize(slice));
  for (int m = 0; m < kNumModalities; ++m)
    if (fs.tokens[m].size() > 0) fs.mask.set(static_cast<Modality>(m));
  return fs;
}

// ---------------------------------------------------------------- event tokens

void FeatureExtractor::add_pane(const FeatureSlice& fs) {
  if (!fs.head_pane) return;
  Impl& im = *impl_;
  RSLICER_CHECK(im.panes.empty() || im.panes.back()->start <= fs.head_pane->start, InvalidInput,
                "feature extractor: panes out of time order at ", format_time(fs.head_pane->start));
  profile_.add(*fs.head_pane);
  im.panes.push_back(fs.head_pane);
}

std::vector<EventDeviation> FeatureExtractor::finish_causal(FeatureSlice& fs, const EventProfile* prior) {
  const EventOptions& eo = state_.options.events;
  Impl& im = *impl_;
  auto& panes = im.panes;
  const TimeUs horizon = static_cast<TimeUs>(eo.horizon_s * kUsPerSecond);
  // the running profile: the panes in [fs.start - horizon, fs.start)
  while (im.panes_added < panes.size() && panes[im.panes_added]->start < fs.start)
    im.running.add(*panes[im.panes_added++]);
  while (im.panes_added > 0 && panes.front()->start < fs.start - horizon) {
    im.running.add(*panes.front(), -1);
    panes.pop_front();
    --im.panes_added;
  }
  std::vector<const PaneSummary*> window;  // the slice's own panes
  for (size_t k = im.panes_added; k < panes.size() && panes[k]->start < fs.end; ++k) window.push_back(panes[k].get());
  fs.head_pane.reset();
  if (window.empty()) return {};
  if (prior && prior->overlap({window.front()->start}) > 0) {  // the saved profile holds this slice already
    ++prior_overlap_;
    prior = nullptr;
  }
  ProfileLookup lookup = [&](std::uint64_t key) {
    EventStats st;
    if (prior)
      if (const EventStats* p = prior->find(key)) st.merge(*p);
    if (const EventStats* r = im.running.find(key)) st.merge(*r);
    return st;
  };
  std::vector<EventDeviation> devs = event_deviations(window, lookup, eo);
  std::vector<EventDeviation> kept = add_event_tokens(fs, devs);
  return keep_deviations_ ? devs : kept;
}

const EventProfile& FeatureExtractor::causal_profile() const { return impl_->running; }

void FeatureExtractor::finish(std::vector<FeatureSlice>& slices, const EventProfile* prior) {
  resolve_min_window_samples(slices);
  const EventOptions& eo = state_.options.events;
  deviations_.assign(slices.size(), {});
  if (eo.profile == "causal") {  // the online path over slices already in memory
    for (const auto& s : slices) add_pane(s);
    for (size_t si = 0; si < slices.size(); ++si) deviations_[si] = finish_causal(slices[si], prior);
    return;
  }
  // Pane statistics by pane start (each slice's head pane), in time order.
  std::vector<const PaneSummary*> panes;
  for (const auto& s : slices)
    if (s.head_pane) panes.push_back(s.head_pane.get());
  auto first_at = [&](TimeUs t) {
    return static_cast<size_t>(std::lower_bound(panes.begin(), panes.end(), t,
                                                [](const PaneSummary* p, TimeUs x) { return p->start < x; }) -
                               panes.begin());
  };
  // a slice whose own panes the prior holds (the data overlaps the period of a saved profile, a model's training
  // data) would be compared with a profile that contains it, and counts those panes twice: its profile leaves the
  // prior out
  auto prior_holds = [&](size_t w0, size_t w1) {
    if (!prior) return false;
    std::vector<TimeUs> starts;
    for (size_t k = w0; k < w1; ++k) starts.push_back(panes[k]->start);
    return prior->overlap(starts) > 0;
  };
  auto finish_slice = [&](size_t si, const ProfileLookup& lookup) {
    FeatureSlice& fs = slices[si];
    const size_t w0 = first_at(fs.start), w1 = first_at(fs.end);  // the slice's own panes
    if (w0 == w1) return;
    std::vector<const PaneSummary*> window(panes.begin() + w0, panes.begin() + w1);
    std::vector<EventDeviation> devs = event_deviations(window, lookup, eo);
    std::vector<EventDeviation> kept = add_event_tokens(fs, devs);
    deviations_[si] = keep_deviations_ ? std::move(devs) : std::move(kept);
  };
  // the prior plus this data's profile (all panes, or those inside the reference periods)
  const auto whole_of = [&](std::uint64_t key, bool with_prior) {
    EventStats st;
    if (prior && with_prior)
      if (const EventStats* p = prior->find(key)) st.merge(*p);
    if (const EventStats* t = profile_.find(key)) st.merge(*t);
    return st;
  };
  const ProfileLookup whole = [&](std::uint64_t key) { return whole_of(key, true); };
  const ProfileLookup data_only = [&](std::uint64_t key) { return whole_of(key, false); };
  auto held = [&](size_t si) {
    const bool h = prior_holds(first_at(slices[si].start), first_at(slices[si].end));
    prior_overlap_ += h;
    return h;
  };
  if (eo.profile == "reference") {  // only the panes inside the normal periods: one profile for every slice
    const auto periods = reference_periods(eo.reference);
    for (const PaneSummary* p : panes)
      for (const auto& [from, to] : periods)
        if (p->start >= from && p->start < to) {
          profile_.add(*p);
          break;
        }
    for (size_t si = 0; si < slices.size(); ++si) finish_slice(si, held(si) ? data_only : whole);
    for (auto& s : slices) s.head_pane.reset();
    return;
  }
  for (const PaneSummary* p : panes) profile_.add(*p);
  std::vector<std::unordered_map<std::uint64_t, std::vector<size_t>>> by_key(panes.size());
  for (size_t i = 0; i < panes.size(); ++i) by_key[i] = index_by_key(*panes[i]);
  // leave-the-window-out: the panes within `exclusion` of the slice window leave its profile
  const TimeUs excl = static_cast<TimeUs>(eo.exclusion_s * kUsPerSecond);
  for (size_t si = 0; si < slices.size(); ++si) {
    const size_t a = first_at(slices[si].start - excl), b = first_at(slices[si].end + excl);
    const bool with_prior = !held(si);
    const ProfileLookup lookup = [&, a, b, with_prior](std::uint64_t key) {
      EventStats st = whole_of(key, with_prior);
      for (size_t k = a; k < b; ++k) {
        auto it = by_key[k].find(key);
        if (it == by_key[k].end()) continue;
        for (size_t e : it->second) st.merge(panes[k]->events[e].stats, -1);
      }
      return st;
    };
    finish_slice(si, lookup);
  }
  for (auto& s : slices) s.head_pane.reset();
}

void FeatureExtractor::resolve_min_window_samples(const std::vector<FeatureSlice>& slices) {
  EventOptions& eo = state_.options.events;
  std::vector<const PaneSummary*> panes;
  std::vector<std::pair<TimeUs, TimeUs>> windows;
  for (const auto& s : slices) {
    if (s.head_pane) panes.push_back(s.head_pane.get());
    windows.push_back({s.start, s.end});
  }
  sparsity_ = rslicer::edge_sparsity(panes, windows, eo.min_samples);
  if (eo.min_window_samples >= 0) return;  // given, or a model's
  eo.min_window_samples = sparsity_.rows > 0 && sparsity_.share() >= eo.sparse_edge_share ? 1 : 0;
  sparsity_.chose = true;
}

std::vector<EventDeviation> FeatureExtractor::add_event_tokens(FeatureSlice& fs,
                                                               const std::vector<EventDeviation>& devs) {
  std::vector<EventDeviation> kept;
  const FeatureOptions& o = state_.options;
  const EventOptions& eo = o.events;
  Impl& im = *impl_;
  // per entity and modality, the most deviant first (stable: ties keep the key order)
  std::map<std::pair<Id, int>, std::vector<const EventDeviation*>> groups;
  for (const auto& d : devs) groups[{d.entity, d.kind == EventKind::kTemplate ? 2 : 1}].push_back(&d);
  for (auto& [em, list] : groups) {
    std::stable_sort(list.begin(), list.end(),
                     [](const EventDeviation* x, const EventDeviation* y) { return x->score > y->score; });
    const int modality = em.second;
    const size_t budget =
        static_cast<size_t>(modality == 2 ? eo.log_tokens_per_entity : eo.trace_tokens_per_entity);
    if (list.size() > budget) list.resize(budget);
    TokenSet& ts = fs.tokens[modality];
    for (const EventDeviation* d : list) {
      kept.push_back(*d);
      const Id entity = d->entity;
      const std::uint8_t kind =
          entity == kNoId || entity >= catalog_.entity_info.size()
              ? 0
              : static_cast<std::uint8_t>(1 + static_cast<int>(catalog_.entity_info[entity].kind));
      const std::string& name = im.summarizer->key_name(d->key);
      init_token(ts, entity, kind, d->key);
      if (!state_.key_names.count(d->key)) state_.key_names[d->key] = name;
      float* v = &ts.values[ts.values.size() - ts.dim];
      auto sq = [](double z) { return static_cast<float>(squash(z, 8.0)); };
      if (modality == 1) {
        v[0] = d->kind == EventKind::kOperation ? 1.f : 0.f;
        v[1] = d->kind == EventKind::kEdge ? 1.f : 0.f;
        v[2] = static_cast<float>(std::log1p(d->n));
        v[3] = sq(d->rate_ratio);
        v[4] = sq(d->z_a);
        v[5] = sq(d->z_b);
        v[6] = sq(3.0 * d->error_excess);
        v[7] = sq(3.0 * d->missing);
        v[8] = sq(3.0 * d->early);
        v[9] = sq(3.0 * d->error_step);
        v[10] = sq(3.0 * d->rare_pair);
        v[11] = sq(3.0 * d->new_step);
        v[12] = d->ready ? 1.f : 0.f;
        v[13] = static_cast<float>(std::log1p(d->profile_n) / 5.0);
        v[14] = sq(d->score);
        v[15] = d->has_steps ? 1.f : 0.f;
      } else {
        v[0] = static_cast<float>(std::log1p(d->n));
        v[1] = sq(d->rate_ratio);
        v[2] = static_cast<float>(d->error_share);
        v[3] = static_cast<float>(d->warn_share);
        v[4] = d->is_new ? 1.f : 0.f;
        v[5] = static_cast<float>(d->entity_share);
      }
      // word pieces: the entity's service, then the key's words (operation, callee operation or template text)
      int used = 0;
      auto it = im.entity_pieces.find(entity);
      if (it == im.entity_pieces.end()) {
        std::string svc = entity != kNoId && entity < catalog_.entities.size()
                              ? catalog_.entities.name(catalog_.service_of(entity))
                              : std::string("unknown");
        std::vector<std::int32_t> b;
        for (const auto& p : name_pieces(svc)) b.push_back(piece_bucket(p, o.hash_seed, o.name_buckets));
        it = im.entity_pieces.emplace(entity, std::move(b)).first;
      }
      for (std::int32_t b : it->second) {
        if (used >= kMaxPieces) break;
        ts.pieces[ts.pieces.size() - kMaxPieces + used] = b;
        ++used;
      }
      const auto bar = name.find('|');
      std::vector<std::string> kept;
      for (auto& p : name_pieces(bar == std::string::npos ? name : name.substr(bar + 1)))
        if (p != "<num>") kept.push_back(p);
      add_pieces(kept, o, ts.pieces, &used);
    }
  }
  for (int m = 1; m < kNumModalities; ++m)
    if (fs.tokens[m].size() > 0) fs.mask.set(static_cast<Modality>(m));
  return kept;
}

// ---------------------------------------------------------------- views

FeatureSlice ad_view_of(const FeatureSlice& slice, const std::string& view) {
  if (view == "all") return slice;
  RSLICER_CHECK(view == "metrics" || view == "metrics+traces", InvalidInput,
                "AD view must be all, metrics or metrics+traces, got '", view, "'");
  FeatureSlice out = slice;
  std::vector<Modality> drop = {Modality::kLogs};
  if (view == "metrics") drop.push_back(Modality::kTraces);
  for (Modality m : drop) {
    TokenSet& t = out.tokens[static_cast<int>(m)];
    t.values.clear();
    t.pieces.clear();
    t.entities.clear();
    t.kinds.clear();
    t.keys.clear();
    out.mask.bits &= static_cast<std::uint8_t>(~(1u << static_cast<int>(m)));
  }
  return out;
}

double trace_log_coverage(const std::vector<FeatureSlice>& slices, const std::vector<size_t>& which) {
  size_t with = 0, n = 0;
  auto visit = [&](const FeatureSlice& s) {
    ++n;
    with += s.mask.has(Modality::kTraces) || s.mask.has(Modality::kLogs);
  };
  if (which.empty()) {
    for (const auto& s : slices) visit(s);
  } else {
    for (size_t i : which) visit(slices.at(i));
  }
  return n ? static_cast<double>(with) / n : 0.0;
}

// ---------------------------------------------------------------- flat features

size_t FlatLayout::dim() const {
  return metric_keys.size() * kKpiSlots + trace_keys.size() * 3 + log_keys.size() * 2 + 6;
}

FlatLayout build_flat_layout(const std::vector<FeatureSlice>& slices, const std::vector<size_t>& which) {
  std::vector<std::uint64_t> keys[3];
  auto visit = [&](const FeatureSlice& s) {
    for (int m = 0; m < kNumModalities; ++m)
      for (auto k : s.tokens[m].keys) keys[m].push_back(k);
  };
  if (which.empty()) {
    for (const auto& s : slices) visit(s);
  } else {
    for (size_t i : which) visit(slices.at(i));
  }
  for (auto& k : keys) {
    std::sort(k.begin(), k.end());
    k.erase(std::unique(k.begin(), k.end()), k.end());
  }
  FlatLayout l;
  l.metric_keys = std::move(keys[0]);
  l.trace_keys = std::move(keys[1]);
  l.log_keys = std::move(keys[2]);
  return l;
}

std::vector<float> flat_features(const FeatureSlice& s, const FlatLayout& l) {
  std::vector<float> out(l.dim(), 0.0f);
  auto pos = [](const std::vector<std::uint64_t>& keys, std::uint64_t k) -> long {
    auto it = std::lower_bound(keys.begin(), keys.end(), k);
    return it != keys.end() && *it == k ? static_cast<long>(it - keys.begin()) : -1;
  };
  size_t trace_off = l.metric_keys.size() * kKpiSlots;
  size_t log_off = trace_off + l.trace_keys.size() * 3;
  size_t glob_off = log_off + l.log_keys.size() * 2;
  const TokenSet& mt = s.tokens[0];
  float max_abs = 0;
  for (size_t i = 0; i < mt.size(); ++i) {
    long p = pos(l.metric_keys, mt.keys[i]);
    const float* v = &mt.values[i * mt.dim];
    for (int k = 0; k < kKpiSlots; ++k) max_abs = std::max(max_abs, std::fabs(v[k]));
    if (p < 0) continue;
    for (int k = 0; k < kKpiSlots; ++k) out[p * kKpiSlots + k] = v[k];
  }
  const TokenSet& tt = s.tokens[1];
  float max_lat = 0, max_err = 0;
  for (size_t i = 0; i < tt.size(); ++i) {
    const float* v = &tt.values[i * tt.dim];
    max_lat = std::max(max_lat, v[4]);
    max_err = std::max(max_err, v[6]);
    long p = pos(l.trace_keys, tt.keys[i]);
    if (p < 0) continue;
    out[trace_off + p * 3 + 0] = v[4];
    out[trace_off + p * 3 + 1] = v[5];
    out[trace_off + p * 3 + 2] = v[14];
  }
  const TokenSet& lt = s.tokens[2];
  float max_log_err = 0;
  for (size_t i = 0; i < lt.size(); ++i) {
    const float* v = &lt.values[i * lt.dim];
    max_log_err = std::max(max_log_err, v[2]);
    long p = pos(l.log_keys, lt.keys[i]);
    if (p < 0) continue;
    out[log_off + p * 2 + 0] = v[1];
    out[log_off + p * 2 + 1] = v[2];
  }
  out[glob_off + 0] = max_abs;
  out[glob_off + 1] = max_lat;
  out[glob_off + 2] = max_err;
  out[glob_off + 3] = max_log_err;
  out[glob_off + 4] = static_cast<float>(std::log1p(static_cast<double>(s.n_spans)));
  out[glob_off + 5] = static_cast<float>(std::log1p(static_cast<double>(s.n_logs)));
  return out;
}

}  // namespace rslicer
