#include "features/features.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <deque>
#include <map>
#include <unordered_map>

#include "core/errors.h"

namespace rslicer {

namespace {

constexpr std::uint64_t kFnvOffset = 1469598103934665603ULL;
constexpr std::uint64_t kFnvPrime = 1099511628211ULL;

std::uint64_t fnv1a(const std::string& s, std::uint64_t h = kFnvOffset) {
  for (unsigned char c : s) {
    h ^= c;
    h *= kFnvPrime;
  }
  return h;
}

std::uint64_t mix64(std::uint64_t x) {  // splitmix64 finaliser
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

// Soft compression of large z: linear up to 3, logarithmic beyond, clipped.
float squash(double z, double clip) {
  if (!std::isfinite(z)) return 0.0f;
  double a = std::fabs(z);
  if (a > 3.0) a = 3.0 + std::log1p(a - 3.0);
  a = std::min(a, clip);
  return static_cast<float>(z < 0 ? -a : a);
}

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
  std::uint64_t h = mix64(fnv1a(piece, kFnvOffset ^ mix64(seed)));
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
  return static_cast<int>(mix64(fnv1a(kpi)) % kKpiSlots);
}

const config::Schema<FeatureOptions>& FeatureOptions::schema() {
  using config::Range;
  static const auto s =
      config::Schema<FeatureOptions>("features")
          .num("name_buckets", &FeatureOptions::name_buckets, "hash buckets of name word pieces (bucket 0 = padding)",
               Range::closed(2, 1 << 24))
          .num("hash_seed", &FeatureOptions::hash_seed, "seed of the word-piece hash (fixed so models are portable)")
          .num("max_trace_tokens", &FeatureOptions::max_trace_tokens,
               "trace tokens per slice, the most frequent (entity, operation) keys", Range::at_least(0))
          .num("max_log_tokens", &FeatureOptions::max_log_tokens,
               "log tokens per slice, the most frequent (entity, template) keys", Range::at_least(0))
          .num("baseline_len", &FeatureOptions::baseline_len, "ring length of the metric baseline per entity x KPI",
               Range::at_least(1))
          .num("event_baseline_len", &FeatureOptions::event_baseline_len,
               "ring length of the trace/log baselines per key", Range::at_least(1))
          .num("min_baseline", &FeatureOptions::min_baseline, "fewer baseline values: z-scores are 0 (unknown)",
               Range::at_least(1))
          .num("z_clip", &FeatureOptions::z_clip, "|z| is clipped here (after a soft log compression beyond 3)",
               Range::above(0))
          .num("min_rel_scale", &FeatureOptions::min_rel_scale, "robust scale floor as a fraction of |median|",
               Range::at_least(0))
          .num("min_abs_scale", &FeatureOptions::min_abs_scale, "absolute robust scale floor", Range::above(0));
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
  // event (trace / log) baselines per token key
  std::unordered_map<std::uint64_t, Ring> event_rings[3];  // per value kind
  std::unordered_map<std::uint64_t, bool> event_seen;
  std::deque<PendingValue> event_pending;  // ready = slice end
  std::vector<int> kpi_slot_cache;         // catalog kpi id -> slot (-1 unknown)
  std::unordered_map<Id, std::vector<std::int32_t>> entity_pieces;  // entity -> buckets of its service name

  void flush(TimeUs t, const FeatureOptions& o) {
    while (!metric_pending.empty() && metric_pending.front().ready <= t) {
      const auto& p = metric_pending.front();
      metric_rings[p.key].push(p.values[0], static_cast<size_t>(o.baseline_len));
      metric_pending.pop_front();
    }
    while (!event_pending.empty() && event_pending.front().ready <= t) {
      const auto& p = event_pending.front();
      for (int k = 0; k < 3; ++k) event_rings[k][p.key].push(p.values[k], static_cast<size_t>(o.event_baseline_len));
      event_seen[p.key] = true;
      event_pending.pop_front();
    }
  }
};

FeatureExtractor::FeatureExtractor(FeatureState state, const Catalog& catalog, TemplateText template_text)
    : state_(std::move(state)), catalog_(catalog), template_text_(std::move(template_text)),
      impl_(std::make_unique<Impl>()) {
  config::validate(state_.options);
}

FeatureExtractor::~FeatureExtractor() = default;

namespace {

void init_token(TokenSet& ts, Id entity, std::uint8_t kind, std::uint64_t key) {
  ts.values.resize(ts.values.size() + ts.dim, 0.0f);
  ts.pieces.resize(ts.pieces.size() + kMaxPieces, 0);
  ts.entities.push_back(entity);
  ts.kinds.push_back(kind);
  ts.keys.push_back(key);
}

double percentile_sorted(const std::vector<double>& v, double q) {
  if (v.empty()) return 0;
  double pos = q * (v.size() - 1);
  size_t lo = static_cast<size_t>(pos);
  size_t hi = std::min(lo + 1, v.size() - 1);
  double f = pos - lo;
  return v[lo] * (1 - f) + v[hi] * f;
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
      s[5] = static_cast<float>(acc.n ? static_cast<double>(acc.n_ready) / acc.n : 0);
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
      double sum = 0;
      for (auto* p : pts) sum += p->value;
      double level = sum / pts.size();
      double trend = pts.back()->value - pts.front()->value;
      double zl = 0, zt = 0;
      bool ready = false;
      auto it = im.metric_rings.find(mkey);
      if (it != im.metric_rings.end() && static_cast<std::int32_t>(it->second.values.size()) >= o.min_baseline) {
        double med, scale;
        it->second.stats(o, &med, &scale);
        zl = (level - med) / scale;
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

  // ---- traces: one token per (entity, operation), top-K by count
  if (!slice.spans.empty()) {
    struct OpAcc {
      Id entity, op;
      std::vector<double> dur_ms;
      int errors = 0;
    };
    std::map<std::pair<Id, Id>, OpAcc> ops;
    for (const auto& s : slice.spans) {
      auto& a = ops[{s.entity, s.operation}];
      a.entity = s.entity;
      a.op = s.operation;
      a.dur_ms.push_back(static_cast<double>(s.duration_us) / 1000.0);
      a.errors += s.error;
    }
    std::vector<OpAcc*> order;
    for (auto& [k, a] : ops) order.push_back(&a);
    std::stable_sort(order.begin(), order.end(),
                     [](const OpAcc* a, const OpAcc* b) { return a->dur_ms.size() > b->dur_ms.size(); });
    TokenSet& ts = fs.tokens[static_cast<int>(Modality::kTraces)];
    double total = static_cast<double>(slice.spans.size());
    for (size_t i = 0; i < order.size(); ++i) {
      OpAcc& a = *order[i];
      std::string op = a.op == kNoId || a.op >= catalog_.operations.size() ? std::string("unknown")
                                                                           : catalog_.operations.name(a.op);
      std::string name = entity_name(a.entity) + "|" + op;
      std::uint64_t key = name_key(name);
      std::sort(a.dur_ms.begin(), a.dur_ms.end());
      double n = static_cast<double>(a.dur_ms.size());
      double lc = std::log1p(n);
      double p50 = std::log1p(percentile_sorted(a.dur_ms, 0.5));
      double p90 = std::log1p(percentile_sorted(a.dur_ms, 0.9));
      double p99 = std::log1p(percentile_sorted(a.dur_ms, 0.99));
      double err = a.errors / n;
      // baseline: values[0] = log count, [1] = log p90, [2] = error rate
      PendingValue pv;
      pv.ready = slice.end;
      pv.key = key;
      pv.values[0] = lc;
      pv.values[1] = p90;
      pv.values[2] = err;
      im.event_pending.push_back(pv);
      if (static_cast<std::int32_t>(i) >= o.max_trace_tokens) continue;
      init_token(ts, a.entity, kind_of(a.entity), key);
      if (!state_.key_names.count(key)) state_.key_names[key] = name;
      float* v = &ts.values[ts.values.size() - ts.dim];
      v[0] = static_cast<float>(lc);
      v[2] = static_cast<float>(p50);
      v[3] = static_cast<float>(p90);
      v[4] = static_cast<float>(p99);
      v[8] = static_cast<float>(err);
      v[10] = static_cast<float>(n / total);
      auto r0 = im.event_rings[0].find(key);
      if (r0 != im.event_rings[0].end() && static_cast<std::int32_t>(r0->second.values.size()) >= o.min_baseline) {
        double med, scale;
        r0->second.stats(o, &med, &scale);
        v[1] = squash((lc - med) / std::max(scale, 0.1), o.z_clip);
        im.event_rings[1][key].stats(o, &med, &scale);
        double sc = std::max(scale, 0.05);
        v[5] = squash((p50 - med) / sc, o.z_clip);
        v[6] = squash((p90 - med) / sc, o.z_clip);
        v[7] = squash((p99 - med) / sc, o.z_clip);
        im.event_rings[2][key].stats(o, &med, &scale);
        v[9] = static_cast<float>(err - med);
        v[11] = 1.0f;
      }
      int used = 0;
      put_entity_pieces(ts, a.entity, &used);
      std::vector<std::string> pieces = name_pieces(op);
      std::vector<std::string> kept;
      for (auto& p : pieces)
        if (p != "<num>") kept.push_back(p);
      add_pieces(kept, o, ts.pieces, &used);
    }
  }

  // ---- logs: one token per (entity, template), top-K by count
  if (!slice.logs.empty()) {
    struct LogAcc {
      Id entity;
      Id tmpl;
      int count = 0, warn = 0, error = 0;
    };
    std::map<std::pair<Id, Id>, LogAcc> groups;
    for (const auto& l : slice.logs) {
      auto& a = groups[{l.entity, l.template_id}];
      a.entity = l.entity;
      a.tmpl = l.template_id;
      a.count += 1;
      a.warn += l.level == LogLevel::kWarn;
      a.error += l.level >= LogLevel::kError;
    }
    std::vector<LogAcc*> order;
    for (auto& [k, a] : groups) order.push_back(&a);
    std::stable_sort(order.begin(), order.end(), [](const LogAcc* a, const LogAcc* b) { return a->count > b->count; });
    TokenSet& ts = fs.tokens[static_cast<int>(Modality::kLogs)];
    double total = static_cast<double>(slice.logs.size());
    for (size_t i = 0; i < order.size(); ++i) {
      LogAcc& a = *order[i];
      std::string text;
      if (a.tmpl == kNoId) {
        text = "<unparsed>";
      } else if (template_text_) {
        text = template_text_(a.tmpl);
      } else {
        text = cat("template ", a.tmpl);
      }
      std::string name = entity_name(a.entity) + "|" + text;
      std::uint64_t key = name_key(name);
      double lc = std::log1p(static_cast<double>(a.count));
      double errf = static_cast<double>(a.error) / a.count;
      PendingValue pv;
      pv.ready = slice.end;
      pv.key = key;
      pv.values[0] = lc;
      pv.values[1] = errf;
      pv.values[2] = 0;
      im.event_pending.push_back(pv);
      if (static_cast<std::int32_t>(i) >= o.max_log_tokens) continue;
      init_token(ts, a.entity, kind_of(a.entity), key);
      if (!state_.key_names.count(key)) state_.key_names[key] = name;
      float* v = &ts.values[ts.values.size() - ts.dim];
      v[0] = static_cast<float>(lc);
      v[2] = static_cast<float>(errf);
      v[3] = static_cast<float>(static_cast<double>(a.warn) / a.count);
      v[5] = static_cast<float>(a.count / total);
      auto seen = im.event_seen.find(key);
      v[4] = seen == im.event_seen.end() ? 1.0f : 0.0f;  // template never seen before on this entity
      auto r0 = im.event_rings[0].find(key);
      if (r0 != im.event_rings[0].end() && static_cast<std::int32_t>(r0->second.values.size()) >= o.min_baseline) {
        double med, scale;
        r0->second.stats(o, &med, &scale);
        v[1] = squash((lc - med) / std::max(scale, 0.1), o.z_clip);
      }
      int used = 0;
      put_entity_pieces(ts, a.entity, &used);
      std::vector<std::string> kept;
      for (auto& p : name_pieces(text))
        if (p != "<num>") kept.push_back(p);
      add_pieces(kept, o, ts.pieces, &used);
    }
  }
  std::stable_sort(im.event_pending.begin(), im.event_pending.end(),
                   [](const PendingValue& a, const PendingValue& b) { return a.ready < b.ready; });

  for (int m = 0; m < kNumModalities; ++m)
    if (fs.tokens[m].size() > 0) fs.mask.set(static_cast<Modality>(m));
  return fs;
}

// ---------------------------------------------------------------- views

FeatureSlice metrics_view(const FeatureSlice& slice) {
  FeatureSlice out = slice;
  for (Modality m : {Modality::kTraces, Modality::kLogs}) {
    TokenSet& t = out.tokens[static_cast<int>(m)];
    t.values.clear();
    t.pieces.clear();
    t.entities.clear();
    t.kinds.clear();
    t.keys.clear();
  }
  out.mask.bits &= static_cast<std::uint8_t>(1u << static_cast<int>(Modality::kMetrics));
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
    max_lat = std::max(max_lat, v[6]);
    max_err = std::max(max_err, v[8]);
    long p = pos(l.trace_keys, tt.keys[i]);
    if (p < 0) continue;
    out[trace_off + p * 3 + 0] = v[1];
    out[trace_off + p * 3 + 1] = v[6];
    out[trace_off + p * 3 + 2] = v[8];
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
