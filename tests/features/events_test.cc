// Event tokens: operation step patterns, call edges into an entity, log
// templates, against a leave-the-window-out or causal profile; per-entity
// budgets keep the most deviant tokens.
#include "features/events.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <tuple>

#include "core/errors.h"
#include "core/time.h"
#include "features/features.h"

namespace rslicer {
namespace {

// front calls pod_a once per request; pod_a logs three steps per span (templates 0, 1, 2);
// pod_b serves many operations of its own.
struct World {
  Catalog catalog;
  Id front, pod_a, pod_b, op_front, op_a;
  std::vector<Id> ops_b;
  World() {
    front = catalog.entity("gateway-5b67c48447-mv5hb", EntityKind::kPod);
    pod_a = catalog.entity("order-service-5b67c48447-aaaaa", EntityKind::kPod);
    pod_b = catalog.entity("user-service-687d654649-bbbbb", EntityKind::kPod);
    op_front = catalog.operations.intern("GET /");
    op_a = catalog.operations.intern("OrderController.create");
    for (int k = 0; k < 6; ++k) ops_b.push_back(catalog.operations.intern("UserOp" + std::to_string(k)));
  }
  static std::string text(Id id) { return "step number " + std::string(1, static_cast<char>('A' + id)) + " done"; }

  // Slice m (window = stride = one minute). `lag_us`: start lag front -> pod_a; `steps`: pod_a's log steps.
  Slice minute(int m, TimeUs lag_us, std::vector<Id> steps, bool many_b = false) const {
    Slice s;
    s.index = m;
    s.start = (100 + m) * kUsPerMinute;
    s.end = s.start + kUsPerMinute;
    for (int r = 0; r < 10; ++r) {
      const TimeUs t = s.start + r * 5 * kUsPerSecond;
      Span parent, child;
      parent.trace_id = child.trace_id = "t" + std::to_string(m) + "-" + std::to_string(r);
      parent.span_id = parent.trace_id + "p";
      child.span_id = parent.trace_id + "c";
      child.parent_id = parent.span_id;
      parent.entity = front;
      parent.operation = op_front;
      parent.start = t;
      parent.duration_us = 20000 + lag_us + 100 * r;
      child.entity = pod_a;
      child.operation = op_a;
      child.start = t + 1000 + lag_us + 10 * r;
      child.duration_us = 15000 + 50 * r;
      s.spans.push_back(parent);
      s.spans.push_back(child);
      for (size_t k = 0; k < steps.size(); ++k) {
        LogRecord l;
        l.time = child.start + 100 * (k + 1);
        l.entity = pod_a;
        l.trace_id = child.trace_id;
        l.span_id = child.span_id;
        l.template_id = steps[k];
        l.level = steps[k] == 3 ? LogLevel::kError : LogLevel::kInfo;
        s.logs.push_back(l);
      }
      for (size_t k = 0; k < (many_b ? ops_b.size() : 1); ++k) {
        Span b;
        b.trace_id = parent.trace_id + "b" + std::to_string(k);
        b.span_id = b.trace_id;
        b.entity = pod_b;
        b.operation = ops_b[k];
        b.start = t + 2000;
        b.duration_us = 3000 + (many_b && r == 0 ? 90000 * (k + 1) : 0);
        s.spans.push_back(b);
      }
    }
    sort_by_time(s.spans);
    sort_by_time(s.logs);
    return s;
  }
};

// The z whose upper normal tail is p, by bisection (independent of the extractor's own inversion).
double upper_tail_z(double p) {
  double lo = 0, hi = 40;
  for (int i = 0; i < 200; ++i) {
    const double mid = 0.5 * (lo + hi);
    (0.5 * std::erfc(mid / std::sqrt(2.0)) > p ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

const EventDeviation* find(const std::vector<EventDeviation>& d, EventKind kind, Id entity) {
  for (const auto& x : d)
    if (x.kind == kind && x.entity == entity) return &x;
  return nullptr;
}

// Request r of minute m: a span of `entity` (5 ms, trace "t<m>-<r>") that starts at `start`.
Span request_span(int m, int r, Id entity, Id operation, TimeUs start) {
  Span x;
  x.trace_id = "t" + std::to_string(m) + "-" + std::to_string(r);
  x.span_id = x.trace_id + "s";
  x.entity = entity;
  x.operation = operation;
  x.start = start;
  x.duration_us = 5000;
  return x;
}

// A log line of span x, `after_start` microseconds into it.
LogRecord line_of(const Span& x, Id template_id, TimeUs after_start) {
  LogRecord l;
  l.time = x.start + after_start;
  l.entity = x.entity;
  l.trace_id = x.trace_id;
  l.span_id = x.span_id;
  l.template_id = template_id;
  return l;
}

// Extracts minutes 0 .. n-1 (`minute(m)` builds one) and finishes the pass, deviations kept.
template <class Minute>
void extract_minutes(FeatureExtractor& ex, int n, Minute minute) {
  std::vector<FeatureSlice> slices;
  for (int m = 0; m < n; ++m) slices.push_back(ex.extract(minute(m)));
  ex.keep_deviations(true);
  ex.finish(slices);
}

// 40 normal minutes with two faults: a delay into pod_a at 20, a missing step (and an ERROR step) at 30.
std::vector<FeatureSlice> run(const World& w, FeatureExtractor& ex) {
  std::vector<FeatureSlice> out;
  for (int m = 0; m < 40; ++m) {
    TimeUs lag = m == 20 ? 800000 : 0;
    std::vector<Id> steps = {0, 1, 2};
    if (m == 30) steps = {0, 3};
    out.push_back(ex.extract(w.minute(m, lag, steps, m == 10)));
  }
  ex.keep_deviations(true);
  return out;
}

TEST(EventTokens, DelayShowsOnTheCallIntoTheCalleeAndAMissingStepOnItsSpans) {
  World w;
  FeatureState st;
  st.options.events.exclusion_s = 0;
  FeatureExtractor ex(st, w.catalog, World::text, 60);
  auto slices = run(w, ex);
  ex.finish(slices);
  const auto& dev = ex.deviations();
  // normal minute: no deviation
  const EventDeviation* edge5 = find(dev[5], EventKind::kEdge, w.pod_a);
  ASSERT_NE(edge5, nullptr);
  EXPECT_LT(std::fabs(edge5->z_a), 1.0);
  EXPECT_TRUE(edge5->ready);
  // the delay: the edge into pod_a, not pod_a's own spans, and not the caller
  const EventDeviation* edge20 = find(dev[20], EventKind::kEdge, w.pod_a);
  ASSERT_NE(edge20, nullptr);
  EXPECT_GT(edge20->z_a, 50.0);  // +800 ms against a 1 ms scale floor
  EXPECT_NEAR(edge20->median_a, 801000, 0.3 * 801000);
  const EventDeviation* op20 = find(dev[20], EventKind::kOperation, w.pod_a);
  ASSERT_NE(op20, nullptr);
  EXPECT_LT(std::fabs(op20->z_a), 1.0);
  EXPECT_EQ(find(dev[20], EventKind::kEdge, w.front), nullptr);
  // the missing step: expected in every normal span, gone from all of them; an ERROR step instead
  const EventDeviation* op30 = find(dev[30], EventKind::kOperation, w.pod_a);
  ASSERT_NE(op30, nullptr);
  EXPECT_NEAR(op30->missing, 1.0, 1e-6);
  EXPECT_NE(ex.summarizer().key_name(op30->missing_step).find("step number"), std::string::npos);
  EXPECT_NEAR(op30->error_step, 1.0, 1e-6);
  EXPECT_GT(op30->early, 0.5);  // 2 lines instead of 3
  EXPECT_GT(op30->rare_pair, 0.5);
  // tokens: the trace modality carries them, values squashed
  const TokenSet& t20 = slices[20].tokens[static_cast<int>(Modality::kTraces)];
  bool edge_token = false;
  for (size_t i = 0; i < t20.size(); ++i)
    if (t20.entities[i] == w.pod_a && t20.values[i * t20.dim + 1] > 0.5f) {
      edge_token = true;
      EXPECT_GT(t20.values[i * t20.dim + 4], 6.0f);
      EXPECT_LE(t20.values[i * t20.dim + 4], 8.0f);
    }
  EXPECT_TRUE(edge_token);
  EXPECT_TRUE(slices[30].mask.has(Modality::kLogs));
  EXPECT_EQ(slices[30].head_pane, nullptr);  // released
}

TEST(EventTokens, CausalProfileSeesOnlyThePast) {
  World w;
  FeatureState st;
  st.options.events.profile = "causal";
  FeatureExtractor ex(st, w.catalog, World::text, 60);
  auto slices = run(w, ex);
  ex.finish(slices);
  const auto& dev = ex.deviations();
  // the first minute has no past: not ready, no deviation
  const EventDeviation* e0 = find(dev[0], EventKind::kEdge, w.pod_a);
  ASSERT_NE(e0, nullptr);
  EXPECT_FALSE(e0->ready);
  EXPECT_EQ(e0->z_a, 0.0);
  // the delay still stands out against the 20 minutes before it
  EXPECT_GT(find(dev[20], EventKind::kEdge, w.pod_a)->z_a, 50.0);
  // and the minute after the delay is normal again: the delayed minute is in its past but the median holds
  EXPECT_LT(std::fabs(find(dev[21], EventKind::kEdge, w.pod_a)->z_a), 1.0);
}

// Three-minute slices with a one-minute stride (the default shape): slice m holds minutes m-2..m; the calls
// into pod_a are delayed in minute `delayed` only.
Slice three_minutes(const World& w, int m, int delayed) {
  Slice s;
  s.index = m;
  s.start = (100 + m - 2) * kUsPerMinute;
  s.end = (100 + m + 1) * kUsPerMinute;
  for (int k = m - 2; k <= m; ++k) {
    Slice one = w.minute(k, k == delayed ? 800000 : 0, {0, 1, 2});
    s.spans.insert(s.spans.end(), one.spans.begin(), one.spans.end());
    s.logs.insert(s.logs.end(), one.logs.begin(), one.logs.end());
  }
  sort_by_time(s.spans);
  sort_by_time(s.logs);
  return s;
}

// A delay that began in a slice's latest minute is a third of the window's calls: the window's median lag does
// not move, the latest pane's does. With latest_pane (the default) the slice that ends with that minute shows it,
// its z scaled to the window's call count; without, only a slice where the delayed calls are most of the window
// would. A normal slice keeps its small z either way.
TEST(EventTokens, ADelayShowsInTheMinuteItBegins) {
  for (bool latest : {true, false}) {
    SCOPED_TRACE(latest ? "latest_pane" : "window only");
    World w;
    FeatureState st;
    st.options.events.latest_pane = latest;
    FeatureExtractor ex(st, w.catalog, World::text, 60);
    std::vector<FeatureSlice> slices;
    for (int m = 2; m < 40; ++m) slices.push_back(ex.extract(three_minutes(w, m, 20)));
    ex.keep_deviations(true);
    ex.finish(slices);
    const auto& dev = ex.deviations();
    const EventDeviation* first = find(dev[20 - 2], EventKind::kEdge, w.pod_a);  // ends with the delayed minute
    const EventDeviation* normal = find(dev[30 - 2], EventKind::kEdge, w.pod_a);
    ASSERT_NE(first, nullptr);
    ASSERT_NE(normal, nullptr);
    EXPECT_EQ(first->n, 30);  // the window's calls, whichever median counts
    EXPECT_LT(std::fabs(normal->z_a), 1.0);
    if (latest) {
      // +800 ms against the 1 ms floor, times sqrt(10 / 30)
      EXPECT_GT(first->z_a, 0.5 * 800 / std::sqrt(3.0));
      EXPECT_LT(first->z_a, 1.5 * 800 / std::sqrt(3.0));
      EXPECT_NEAR(first->median_a, 801000, 0.3 * 801000);  // the evidence quotes the pane's lag
      EXPECT_EQ(first->alarm_z_a, first->z_a);             // ten delayed calls: far rarer than z 4, an alarm in full
    } else {
      EXPECT_LT(first->z_a, 3.0);
    }
  }
}

// Sampled traces: the delayed minute keeps one traced call into pod_a. With min_samples = 3 its lag is unknown
// (z 0); min_window_samples = 1 scores it, shrunk by sqrt(1 / 3), and a normal minute stays normal either way.
// What an alarm may rest on (median_tail_z, the default 4) is one call's rarity among the profile's calls: a lag
// the profile never saw is half a call in profile_n + 1, z 2.9 for this profile's ~300 calls, not 460.
TEST(EventTokens, OneSampledCallCountsWithMinWindowSamples) {
  for (int min_window : {0, 1})
    for (double tail_z : {0.0, 4.0}) {
      SCOPED_TRACE("min_window_samples " + std::to_string(min_window) + ", median_tail_z " + std::to_string(tail_z));
      World w;
      FeatureState st;
      st.options.events.min_window_samples = min_window;
      st.options.events.median_tail_z = tail_z;
      FeatureOptions::schema().validate(st.options);
      FeatureExtractor ex(st, w.catalog, World::text, 60);
      std::vector<FeatureSlice> slices;
      for (int m = 0; m < 40; ++m) {
        Slice s = w.minute(m, m == 20 ? 800000 : 0, {0, 1, 2});
        if (m == 20)  // only request 0's trace was sampled
          s.spans.erase(std::remove_if(s.spans.begin(), s.spans.end(),
                                       [](const Span& x) { return x.trace_id.view().rfind("t20-0", 0) != 0; }),
                        s.spans.end());
        slices.push_back(ex.extract(s));
      }
      ex.keep_deviations(true);
      ex.finish(slices);
      const EventDeviation* delayed = find(ex.deviations()[20], EventKind::kEdge, w.pod_a);
      const EventDeviation* normal = find(ex.deviations()[30], EventKind::kEdge, w.pod_a);
      ASSERT_NE(delayed, nullptr);
      ASSERT_NE(normal, nullptr);
      EXPECT_EQ(delayed->n, 1);
      EXPECT_LT(std::fabs(normal->z_a), 1.0);
      EXPECT_LT(std::fabs(normal->alarm_z_a), 1.0);
      if (min_window == 0) {
        EXPECT_EQ(delayed->z_a, 0.0);
        EXPECT_EQ(delayed->alarm_z_a, 0.0);
        continue;
      }
      // +800 ms against the 1 ms floor, times sqrt(1 / 3): the root cause ranking's z either way
      EXPECT_GT(delayed->z_a, 0.8 * 800 / std::sqrt(3.0));
      EXPECT_LT(delayed->z_a, 1.2 * 800 / std::sqrt(3.0));
      if (tail_z == 0) {
        EXPECT_EQ(delayed->alarm_z_a, delayed->z_a);
      } else {
        ASSERT_GT(delayed->profile_n, 50);
        EXPECT_NEAR(delayed->alarm_z_a, upper_tail_z(0.5 / (delayed->profile_n + 1)), 0.01);
        EXPECT_LT(delayed->alarm_z_a, 3.5);
      }
    }
}

// median_tail_z bounds what a few calls can say, not what many say: a minute whose ten calls into pod_a all lag
// +800 ms keeps its robust z for alarms too (the chance that ten normal calls have such a median is far beyond
// z 4).
TEST(EventTokens, ManyDelayedCallsKeepTheirRobustZ) {
  World w;
  FeatureState st;
  st.options.events.min_window_samples = 1;
  FeatureOptions::schema().validate(st.options);
  FeatureExtractor ex(st, w.catalog, World::text, 60);
  std::vector<FeatureSlice> slices;
  for (int m = 0; m < 40; ++m) slices.push_back(ex.extract(w.minute(m, m == 20 ? 800000 : 0, {0, 1, 2})));
  ex.keep_deviations(true);
  ex.finish(slices);
  const EventDeviation* delayed = find(ex.deviations()[20], EventKind::kEdge, w.pod_a);
  ASSERT_NE(delayed, nullptr);
  EXPECT_EQ(delayed->n, 10);
  EXPECT_GT(delayed->z_a, 0.8 * 800);  // +800 ms against the 1 ms floor, in full
  EXPECT_EQ(delayed->alarm_z_a, delayed->z_a);
}

// Where the calls' median rose, the share of them that slowed: a delay on the wire slows every call, lost packets
// the calls that needed a retransmission. Minute 20: all ten calls into pod_a start 800 ms late; minute 30: seven
// of them (the other three as normally); minute 10: none, and the median did not rise.
TEST(EventTokens, TheShareOfCallsThatSlowedTellsADelayFromAPartOfTheCallsSlowing) {
  World w;
  FeatureState st;
  FeatureOptions::schema().validate(st.options);
  FeatureExtractor ex(st, w.catalog, World::text, 60);
  std::vector<FeatureSlice> slices;
  for (int m = 0; m < 40; ++m) {
    Slice s = w.minute(m, m == 20 || m == 30 ? 800000 : 0, {0, 1, 2});
    if (m == 30)
      for (auto& x : s.spans) {
        const char r = x.trace_id.empty() ? ' ' : x.trace_id.view().back();
        if (x.entity == w.pod_a && (r == '7' || r == '8' || r == '9')) x.start -= 800000;
      }
    sort_by_time(s.spans);
    slices.push_back(ex.extract(s));
  }
  ex.keep_deviations(true);
  ex.finish(slices);
  const EventDeviation* all = find(ex.deviations()[20], EventKind::kEdge, w.pod_a);
  const EventDeviation* part = find(ex.deviations()[30], EventKind::kEdge, w.pod_a);
  const EventDeviation* none = find(ex.deviations()[10], EventKind::kEdge, w.pod_a);
  ASSERT_TRUE(all && part && none);
  EXPECT_GT(all->z_a, 100);
  EXPECT_GT(part->z_a, 100);  // the median rose as far: 7 of 10 calls lag
  EXPECT_DOUBLE_EQ(all->slow_a, 1.0);
  EXPECT_DOUBLE_EQ(part->slow_a, 0.7);
  EXPECT_EQ(none->slow_a, 0.0);
}

// LogHist::from_bin_of: the mass of a time's bin (4 per decade of microseconds) and every bin above it.
TEST(EventTokens, FromBinOfCountsTheTimesBinAndAbove) {
  LogHist h;
  for (int i = 0; i < 90; ++i) h.add(3000);    // bin 13 (log10 3000 * 4 = 13.9)
  for (int i = 0; i < 10; ++i) h.add(100000);  // bin 20
  EXPECT_EQ(h.from_bin_of(1), 100.0);
  EXPECT_EQ(h.from_bin_of(2500), 100.0);  // the same bin as 3000
  EXPECT_EQ(h.from_bin_of(4000), 10.0);
  EXPECT_EQ(h.from_bin_of(90000), 10.0);  // bin 19: the calls of bin 20 lie above
  EXPECT_EQ(h.from_bin_of(2e5), 0.0);
}

// The alarm z of a few calls, worked by hand. The profile: 990 calls of 3 ms, 10 of 100 ms. Three calls, two of
// them 100 ms: their median lies in the 100-ms bin, where a profile call falls with chance (10 + 0.5) / 1001, and
// the chance that at least 2 of 3 do is P(X >= 2), X ~ Binomial(3, that): z 3.3, below median_tail_z's 4, so the
// alarm z is 3.3 where the robust z is ~97 (+97 ms against the 1-ms floor). Three 100-ms calls against a profile
// that never saw one are rarer than z 4: the alarm z is the robust z. So are 65 calls, beyond those counted.
TEST(EventTokens, AFewCallsAlarmNoMoreThanTheirChanceAmongTheProfilesCalls) {
  auto profile_of = [](int slow) {
    EventStats p;
    for (int i = 0; i < 1000 - slow; ++i) p.a.add(3000);
    for (int i = 0; i < slow; ++i) p.a.add(100000);
    p.n = p.a.n;
    p.panes = 100;
    return p;
  };
  auto deviation = [](const EventStats& p, int slow, int fast) {
    PaneSummary pane;
    PaneEvent e;
    e.kind = EventKind::kEdge;
    e.entity = 1;
    e.key = 7;
    for (int i = 0; i < slow; ++i) e.stats.a.add(100000);
    for (int i = 0; i < fast; ++i) e.stats.a.add(3000);
    e.stats.n = e.stats.a.n;
    pane.events.push_back(e);
    const auto d = event_deviations(
        {&pane}, [&](std::uint64_t) { return p; }, EventOptions{});
    EXPECT_EQ(d.size(), 1u);
    return d.empty() ? EventDeviation{} : d[0];
  };
  const double share = 10.5 / 1001;
  const double chance = 3 * share * share * (1 - share) + share * share * share;
  const EventDeviation few = deviation(profile_of(10), 2, 1);
  EXPECT_GT(few.z_a, 50.0);
  EXPECT_NEAR(few.alarm_z_a, upper_tail_z(chance), 1e-6);
  EXPECT_LT(few.alarm_z_a, 4.0);
  const EventDeviation never_seen = deviation(profile_of(0), 3, 0);
  EXPECT_GT(never_seen.z_a, 50.0);
  EXPECT_EQ(never_seen.alarm_z_a, never_seen.z_a);
  const EventDeviation many = deviation(profile_of(10), 65, 0);
  EXPECT_GT(many.z_a, 50.0);
  EXPECT_EQ(many.alarm_z_a, many.z_a);
}

// A client span without a child span elsewhere that names its callee (Span::peer, from OTLP's peer.service or
// server.address) is a call into that callee: charged to the service's only pod as an edge whose second time is
// the whole call, and not to the caller's self time. A service with several pods keeps the charge itself; a
// peer of the caller's own service, or a call whose callee span is there, adds no such edge.
TEST(EventTokens, ACallIntoAnEntityWithoutSpansIsChargedToTheEntityItsClientSpanNames) {
  World w;
  const Id db_pod = w.catalog.entity("mysql-0", EntityKind::kPod, "mysql");
  const Id db = w.catalog.service_of(db_pod);
  w.catalog.entity("cache-0", EntityKind::kPod, "cache");
  const Id cache = w.catalog.service_of(w.catalog.entity("cache-1", EntityKind::kPod, "cache"));
  const Id self = w.catalog.service_of(w.front);
  const Id op_db = w.catalog.operations.intern("SELECT orders");
  const Id op_cache = w.catalog.operations.intern("GET session");
  const Id op_self = w.catalog.operations.intern("GET /local");
  auto minute = [&](int m, TimeUs db_us) {
    Slice s = w.minute(m, 0, {0, 1, 2});
    std::vector<Span> calls;
    for (Span& x : s.spans) {
      if (x.entity != w.front) continue;
      x.peer = w.catalog.service_of(w.pod_a);  // its callee's span is there: a traced call
      for (const auto& [op, peer, us] : std::vector<std::tuple<Id, Id, TimeUs>>{
               {op_db, db, db_us + 10 * (calls.size() % 5)}, {op_cache, cache, 400}, {op_self, self, 700}}) {
        Span c;
        c.trace_id = x.trace_id;
        c.span_id = x.span_id.str() + "-" + std::to_string(op);
        c.parent_id = x.span_id;
        c.entity = w.front;
        c.operation = op;
        c.start = x.start + 500;
        c.duration_us = us;
        c.peer = peer;
        calls.push_back(c);
      }
    }
    s.spans.insert(s.spans.end(), calls.begin(), calls.end());
    sort_by_time(s.spans);
    return s;
  };

  EventSummarizer sum(w.catalog, World::text, kUsPerMinute);
  const PaneSummary pane = sum.summarize(minute(0, 2000));
  auto event_of = [&](EventKind kind, Id entity, const std::string& text) -> const PaneEvent* {
    for (const auto& e : pane.events)
      if (e.kind == kind && e.entity == entity && sum.key_name(e.key).find(text) != std::string::npos) return &e;
    return nullptr;
  };
  const PaneEvent* to_db = event_of(EventKind::kEdge, db_pod, std::string(kNamedPeerMark));
  ASSERT_NE(to_db, nullptr);
  EXPECT_EQ(sum.key_name(to_db->key), "gateway -> mysql (client span)|SELECT orders");
  EXPECT_EQ(to_db->stats.n, 10);
  EXPECT_EQ(to_db->stats.a.n, 0);   // no callee span: no start lag
  EXPECT_EQ(to_db->stats.b.n, 10);  // the whole call
  EXPECT_EQ(to_db->caller, self);
  EXPECT_NE(event_of(EventKind::kEdge, cache, "gateway -> cache (client span)|GET session"), nullptr);
  bool traced_edge = false;
  for (const auto& e : pane.events) {
    if (e.kind != EventKind::kEdge) continue;
    const std::string key = sum.key_name(e.key);
    EXPECT_EQ(key.find("GET /local"), std::string::npos) << key;  // a call into its own service: the caller's work
    if (e.entity == w.pod_a) {  // its callee's span is there: the traced edge, the peer unused
      traced_edge = true;
      EXPECT_EQ(key.find(kNamedPeerMark), std::string::npos) << key;
    }
  }
  EXPECT_TRUE(traced_edge);
  // the caller's self time holds its local call, not the calls into mysql and cache
  const PaneEvent* db_op = event_of(EventKind::kOperation, w.front, "SELECT orders");
  const PaneEvent* self_op = event_of(EventKind::kOperation, w.front, "GET /local");
  ASSERT_NE(db_op, nullptr);
  ASSERT_NE(self_op, nullptr);
  EXPECT_EQ(db_op->stats.a.n, 10);
  EXPECT_EQ(db_op->stats.b.n, 0);
  EXPECT_EQ(self_op->stats.b.n, 10);

  // a slow database shows on the call into its pod, with the evidence's numbers
  FeatureState st;
  st.options.events.exclusion_s = 0;
  FeatureExtractor ex(st, w.catalog, World::text, 60);
  std::vector<FeatureSlice> slices;
  for (int m = 0; m < 40; ++m) slices.push_back(ex.extract(minute(m, m == 20 ? 300000 : 2000)));
  ex.keep_deviations(true);
  ex.finish(slices);
  const EventDeviation* slow = nullptr;
  const EventDeviation* normal = nullptr;
  for (const auto& d : ex.deviations()[20])
    if (d.kind == EventKind::kEdge && d.entity == db_pod) slow = &d;
  for (const auto& d : ex.deviations()[5])
    if (d.kind == EventKind::kEdge && d.entity == db_pod) normal = &d;
  ASSERT_NE(slow, nullptr);
  ASSERT_NE(normal, nullptr);
  EXPECT_GT(slow->z_b, 50.0);
  EXPECT_NEAR(slow->median_b, 300000, 0.3 * 300000);
  EXPECT_NEAR(slow->normal_b, 2000, 0.3 * 2000);
  EXPECT_EQ(slow->z_a, 0.0);
  EXPECT_LT(std::fabs(normal->z_b), 1.0);
}

// A failure below shows at every caller up the chain: a span whose call into another entity failed (the callee's
// span is an error, or a client span of its own naming another service failed without a callee span) counts under
// "<operation> (a call failed)", and its ERROR lines are not errors of their templates; the callee's own spans and
// lines stay as they are. Off (split_failed_calls = false), everything counts where it was logged.
TEST(EventTokens, ASpanWhoseCallFailedIsKeptApartFromItsOperation) {
  World w;
  const Id db = w.catalog.service_of(w.catalog.entity("mysql-0", EntityKind::kPod, "mysql"));
  Slice s;
  s.start = 100 * kUsPerMinute;
  s.end = s.start + kUsPerMinute;
  auto span = [&](const std::string& id, const std::string& parent, Id entity, Id op, bool error, Id peer = kNoId) {
    Span x;
    x.trace_id = "t-" + id.substr(0, 1);
    x.span_id = id;
    x.parent_id = parent;
    x.entity = entity;
    x.operation = op;
    x.start = s.start + 1000;
    x.duration_us = 5000;
    x.error = error;
    x.peer = peer;
    s.spans.push_back(x);
  };
  auto log = [&](const std::string& id, Id entity, Id template_id, LogLevel level) {
    LogRecord l;
    l.time = s.start + 2000;
    l.entity = entity;
    l.trace_id = "t-" + id.substr(0, 1);
    l.span_id = id;
    l.template_id = template_id;
    l.level = level;
    s.logs.push_back(l);
  };
  const Id inner = w.catalog.operations.intern("internal");
  const Id query = w.catalog.operations.intern("SELECT");
  // trace a: front -> (its own inner span) -> pod_a, whose span fails; both log an ERROR line
  span("a1", "", w.front, w.op_front, true);
  span("a2", "a1", w.front, inner, false);
  span("a3", "a2", w.pod_a, w.op_a, true);
  log("a1", w.front, 4, LogLevel::kError);
  log("a3", w.pod_a, 3, LogLevel::kError);
  // trace b: pod_b's client span into mysql fails without a callee span; pod_b logs an ERROR line
  span("b1", "", w.pod_b, w.ops_b[0], true);
  span("b2", "b1", w.pod_b, query, true, db);
  log("b1", w.pod_b, 5, LogLevel::kError);
  // trace c: front's call into pod_a succeeds
  span("c1", "", w.front, w.op_front, false);
  span("c2", "c1", w.pod_a, w.op_a, false);
  log("c1", w.front, 0, LogLevel::kInfo);
  sort_by_time(s.spans);
  sort_by_time(s.logs);

  for (bool split : {true, false}) {
    SCOPED_TRACE(split ? "split" : "not split");
    EventOptions o;
    o.split_failed_calls = split;
    EventSummarizer sum(w.catalog, World::text, kUsPerMinute, o);
    const PaneSummary pane = sum.summarize(s);
    auto stats_of = [&](EventKind kind, Id entity, const std::string& key) -> const EventStats* {
      for (const auto& e : pane.events)
        if (e.kind == kind && e.entity == entity && sum.key_name(e.key) == key) return &e.stats;
      return nullptr;
    };
    const EventStats* front_ok = stats_of(EventKind::kOperation, w.front, "gateway|GET /");
    const EventStats* front_failed = stats_of(EventKind::kOperation, w.front, "gateway|GET /" + std::string(kFailedCallMark));
    const EventStats* b_failed = stats_of(EventKind::kOperation, w.pod_b, "user-service|UserOp0" + std::string(kFailedCallMark));
    const EventStats* callee = stats_of(EventKind::kOperation, w.pod_a, "order-service|OrderController.create");
    const EventStats* front_line = stats_of(EventKind::kTemplate, w.front, "gateway|" + World::text(4));
    const EventStats* b_line = stats_of(EventKind::kTemplate, w.pod_b, "user-service|" + World::text(5));
    const EventStats* callee_line = stats_of(EventKind::kTemplate, w.pod_a, "order-service|" + World::text(3));
    ASSERT_NE(front_ok, nullptr);
    ASSERT_NE(callee, nullptr);
    ASSERT_NE(front_line, nullptr);
    ASSERT_NE(b_line, nullptr);
    ASSERT_NE(callee_line, nullptr);
    // the callee's own failure is its own either way
    EXPECT_EQ(callee->error_step, 1);
    EXPECT_EQ(callee_line->errors, 1);
    if (split) {
      EXPECT_EQ(front_ok->n, 1);  // trace c only
      EXPECT_EQ(front_ok->error_step, 0);
      ASSERT_NE(front_failed, nullptr);
      EXPECT_EQ(front_failed->n, 1);
      EXPECT_EQ(front_failed->error_step, 1);
      ASSERT_NE(b_failed, nullptr);
      EXPECT_EQ(b_failed->error_step, 1);
      EXPECT_EQ(front_line->errors, 0);
      EXPECT_EQ(front_line->n, 1);
      EXPECT_EQ(b_line->errors, 0);
    } else {
      EXPECT_EQ(front_ok->n, 2);
      EXPECT_EQ(front_ok->error_step, 1);
      EXPECT_EQ(front_failed, nullptr);
      EXPECT_EQ(b_failed, nullptr);
      EXPECT_EQ(front_line->errors, 1);
      EXPECT_EQ(b_line->errors, 1);
    }
  }
  // failed_call_steps = false: the failed-call spans are still counted apart, without their log steps
  EventOptions o;
  o.failed_call_steps = false;
  EventSummarizer sum(w.catalog, World::text, kUsPerMinute, o);
  const PaneSummary pane = sum.summarize(s);
  size_t failed_keys = 0;
  for (const auto& e : pane.events) {
    if (e.kind != EventKind::kOperation) continue;
    const std::string key = sum.key_name(e.key);
    SCOPED_TRACE(key);
    if (key == "gateway|GET /") {
      EXPECT_EQ(e.stats.with_steps, 1);  // trace c's line is a step as before
    }
    if (key.find(kFailedCallMark) == std::string::npos) continue;
    ++failed_keys;
    EXPECT_EQ(e.stats.n, 1);
    EXPECT_EQ(e.stats.with_steps, 0);  // front's (a1) and pod_b's (b1) ERROR lines are not their steps
    EXPECT_EQ(e.stats.error_step, 0);
  }
  EXPECT_EQ(failed_keys, 4u);  // front's a1 and a2, pod_b's b1 and its client span b2
}

// Without logs a span's pattern is its own child spans (child_steps): a span that normally makes its client
// call and stops making it (an exception before the call) shows as an expected step missing, named as a child
// span. Off (the default), a span without log lines has no pattern.
TEST(EventTokens, ASpanThatStopsCallingShowsWithoutLogsAsAMissingChildSpan) {
  World w;
  const Id query = w.catalog.operations.intern("SELECT orders");
  auto minute = [&](int m, bool calls) {
    Slice s;
    s.index = m;
    s.start = (100 + m) * kUsPerMinute;
    s.end = s.start + kUsPerMinute;
    for (int r = 0; r < 10; ++r) {
      Span x = request_span(m, r, w.pod_a, w.op_a, s.start + r * 5 * kUsPerSecond);
      x.duration_us += 10 * r;
      s.spans.push_back(x);
      if (!calls) continue;
      Span c = x;
      c.span_id = x.trace_id + "c";
      c.parent_id = x.span_id;
      c.operation = query;
      c.start = x.start + 1000;
      c.duration_us = 2000;
      s.spans.push_back(c);
    }
    sort_by_time(s.spans);
    return s;
  };
  for (bool on : {true, false}) {
    SCOPED_TRACE(on ? "child steps" : "log steps only");
    FeatureState st;
    st.options.events.exclusion_s = 0;
    st.options.events.child_steps = on;
    FeatureExtractor ex(st, w.catalog, World::text, 60);
    extract_minutes(ex, 40, [&](int m) { return minute(m, m != 20); });
    const EventDeviation* stopped = find(ex.deviations()[20], EventKind::kOperation, w.pod_a);
    const EventDeviation* normal = find(ex.deviations()[5], EventKind::kOperation, w.pod_a);
    ASSERT_NE(stopped, nullptr);
    ASSERT_NE(normal, nullptr);
    EXPECT_EQ(normal->missing, 0.0);
    if (!on) {
      EXPECT_EQ(stopped->missing, 0.0);
      continue;
    }
    EXPECT_NEAR(stopped->missing, 1.0, 1e-9);  // in every span normally, in none now
    EXPECT_NEAR(stopped->missing_normal, 1.0, 1e-9);
    const auto& names = ex.summarizer().key_names();
    const auto name = names.find(stopped->missing_step);
    ASSERT_NE(name, names.end());
    EXPECT_EQ(name->second, std::string(kChildStepMark) + "order-service SELECT orders");
  }
}

// Log collection that starts late (the first half of a minute has spans but no log lines, as at the start of
// a recorded period; or only its last 10 s have them, or only its first second, as where a slice reaches into a
// log file for its last or first seconds while the traces are continuous), stops for 16 s in the middle of a
// minute (the gap's edges inside 10-s stretches; once followed by two stretches of a single span each, too few to
// tell alone) or is off for a whole minute says nothing about a span's steps: with log_gaps (the default) those
// spans are not judged, and a span of one entity that stops logging while the others log on still is. A burst of
// spans of an entity that never logs (the gateway's) is no gap.
TEST(EventTokens, SpansInAGapOfTheLogCollectionAreNotJudgedOnTheirSteps) {
  World w;
  enum class Logs {
    kAll,
    kFirstHalfMissing,
    kLastStretchOnly,
    kFirstSecondOnly,
    kMidGap,
    kSparseGap,
    kNone,
    kPodASilent,
    kGatewayBurst
  };
  // pod_a: one span a second with two log lines (steps 0, 1); pod_b: three spans a second with one line (step 2)
  auto minute = [&](int m, Logs logs) {
    Slice s;
    s.index = m;
    s.start = (100 + m) * kUsPerMinute;
    s.end = s.start + kUsPerMinute;
    for (int r = 0; logs == Logs::kGatewayBurst && r < 1000; ++r) {  // in the minute's first 10 s, no log line
      Span g;
      g.trace_id = "g" + std::to_string(m) + "-" + std::to_string(r);
      g.span_id = g.trace_id + "s";
      g.entity = w.front;
      g.operation = w.op_front;
      g.start = s.start + r * 10000;
      g.duration_us = 1000;
      s.spans.push_back(g);
    }
    for (int r = 0; r < 240; ++r) {
      if (logs == Logs::kSparseGap && r > 120 && r < 200 && r != 160) continue;  // 30-50 s: a span each 10 s
      const bool a = r % 4 == 0;
      const Span x = request_span(m, r, a ? w.pod_a : w.pod_b, a ? w.op_a : w.ops_b[0], s.start + r * 250000);
      s.spans.push_back(x);
      if (logs == Logs::kNone || (logs == Logs::kFirstHalfMissing && r < 120) ||
          (logs == Logs::kLastStretchOnly && r < 200) || (logs == Logs::kFirstSecondOnly && r >= 4) ||
          (logs == Logs::kMidGap && r >= 100 && r < 165) || (logs == Logs::kSparseGap && r >= 60 && r < 200) ||
          (logs == Logs::kPodASilent && a))
        continue;
      for (Id step : a ? std::vector<Id>{0, 1} : std::vector<Id>{2})
        s.logs.push_back(line_of(x, step, 100 * (step + 1)));
    }
    sort_by_time(s.spans);
    sort_by_time(s.logs);
    return s;
  };
  for (bool on : {true, false}) {
    SCOPED_TRACE(on ? "log_gaps" : "every span judged");
    FeatureState st;
    st.options.events.exclusion_s = 0;
    st.options.events.log_gaps = on;
    FeatureExtractor ex(st, w.catalog, World::text, 60);
    extract_minutes(ex, 60, [&](int m) {
      return minute(m, m == 10   ? Logs::kFirstHalfMissing
                       : m == 15 ? Logs::kLastStretchOnly
                       : m == 20 ? Logs::kNone
                       : m == 25 ? Logs::kFirstSecondOnly
                       : m == 27 ? Logs::kMidGap
                       : m == 28 ? Logs::kSparseGap
                       : m == 30 ? Logs::kPodASilent
                       : m == 35 ? Logs::kGatewayBurst
                                 : Logs::kAll);
    });
    auto op_a = [&](int m) { return find(ex.deviations()[m], EventKind::kOperation, w.pod_a); };
    for (int m : {5, 10, 15, 20, 25, 27, 28, 30}) ASSERT_NE(op_a(m), nullptr) << "minute " << m;
    EXPECT_EQ(op_a(5)->missing, 0.0);
    if (on) {  // the gaps: the spans with lines are judged, those without are not
      EXPECT_EQ(op_a(10)->missing, 0.0);
      EXPECT_LE(op_a(10)->early, 0.0);    // (minute 30's silent spans are in the profile)
      EXPECT_EQ(op_a(15)->missing, 0.0);  // 1 in 6 of the minute's spans logged, all of them in its last 10 s
      EXPECT_LE(op_a(15)->early, 0.0);
      EXPECT_EQ(op_a(20)->missing, 0.0);
      EXPECT_LE(op_a(20)->early, 0.0);
      EXPECT_EQ(op_a(25)->missing, 0.0);  // its first second's 4 spans are judged, the rest are not
      EXPECT_LE(op_a(25)->early, 0.0);
      EXPECT_EQ(op_a(27)->missing, 0.0);  // 25-30 s and 40-41 s: beyond a covered stretch's lines, beside a gap
      EXPECT_LE(op_a(27)->early, 0.0);
      EXPECT_EQ(op_a(28)->missing, 0.0);  // the single spans of 30-40 s and 40-50 s belong to the gap before
      EXPECT_LE(op_a(28)->early, 0.0);
    } else {  // (the profile holds the other gaps: a step is in 93 % of the other minutes' spans)
      EXPECT_GT(op_a(10)->missing, 0.4);
      EXPECT_GT(op_a(10)->early, 0.4);
      EXPECT_GT(op_a(15)->missing, 0.7);
      EXPECT_GT(op_a(25)->missing, 0.9);
      EXPECT_GT(op_a(27)->missing, 0.1);
      EXPECT_GT(op_a(28)->missing, 0.1);
      EXPECT_GT(op_a(20)->missing, 0.9);
    }
    // one entity falling silent while the others log on is a fault of that entity either way
    EXPECT_GT(op_a(30)->missing, 0.9);
    EXPECT_GT(op_a(30)->early, 0.9);
    // counted for the dataset pass's note: the first half of minute 10, minute 15 but its last 10 s, minute 20,
    // minute 25 but its first second, minute 27's 16 s, minute 28's 15 s and its two single spans; and at each late
    // start or early stop of collection one span more, the one whose line is the first (last) and which starts
    // before (ends after) it
    const auto& gaps = ex.summarizer().log_gaps();
    EXPECT_EQ(gaps.gap_spans, on ? (120 + 1) + (200 + 1) + 240 + (236 + 1) + 65 + 62 : 0);
    EXPECT_EQ(gaps.gap_panes, on ? 6 : 0);
    EXPECT_EQ(gaps.judged, 60 * 240 - 78 + 1000 - gaps.gap_spans);
  }
}

// An entity that writes most of the logged spans and stops logging halfway through a minute, while the others
// log on, is a fault of that entity, not a gap of the collection: its expected step reads as missing.
TEST(EventTokens, ALargeEntityFallingSilentIsNoGapOfTheCollection) {
  World w;
  // pod_b: nine spans a second with one line (step 2); pod_a: one a second with one line (step 0)
  auto minute = [&](int m) {
    Slice s;
    s.index = m;
    s.start = (100 + m) * kUsPerMinute;
    s.end = s.start + kUsPerMinute;
    for (int r = 0; r < 600; ++r) {
      const bool a = r % 10 == 0;
      const Span x = request_span(m, r, a ? w.pod_a : w.pod_b, a ? w.op_a : w.ops_b[0], s.start + r * 100000);
      s.spans.push_back(x);
      if (m == 20 && !a && r >= 300) continue;  // pod_b silent from 30 s
      s.logs.push_back(line_of(x, a ? 0 : 2, 100));
    }
    return s;
  };
  FeatureState st;
  st.options.events.exclusion_s = 0;
  FeatureExtractor ex(st, w.catalog, World::text, 60);
  extract_minutes(ex, 40, minute);
  const EventDeviation* silent = find(ex.deviations()[20], EventKind::kOperation, w.pod_b);
  ASSERT_NE(silent, nullptr);
  EXPECT_GT(silent->missing, 0.45);  // in every span normally, in half of them now
  EXPECT_GT(silent->early, 0.45);
  EXPECT_EQ(ex.summarizer().log_gaps().gap_spans, 0);
}

// min_window_samples = -1 (the default) measures how many of the windows' call edges have fewer than
// min_samples calls: where every trace is kept (10 calls a minute) a call time needs 3 calls; where one trace in
// ten is (1 call a minute), single calls count, and the extractor's state keeps the value it chose (a model saves
// it). An explicit value (given, or a model's) is kept; the sparsity is measured all the same (prepare names a
// mismatch).
TEST(EventTokens, AutoMinWindowSamplesFollowsTheCallEdgesSparsity) {
  struct Case {
    bool sampled;
    std::int32_t option, chosen;
    double share;  // of the window call edges with fewer than 3 calls
  };
  for (const Case& c : {Case{false, -1, 0, 0.0}, Case{true, -1, 1, 1.0}, Case{true, 0, 0, 1.0}}) {
    SCOPED_TRACE(std::string(c.sampled ? "sampled" : "complete") + ", option " + std::to_string(c.option));
    World w;
    FeatureState st;
    EXPECT_EQ(st.options.events.min_window_samples, -1);  // the default
    st.options.events.min_window_samples = c.option;
    FeatureOptions::schema().validate(st.options);
    FeatureExtractor ex(st, w.catalog, World::text, 60);
    std::vector<FeatureSlice> slices;
    for (int m = 0; m < 40; ++m) {
      Slice s = w.minute(m, m == 20 ? 800000 : 0, {0, 1, 2});
      if (c.sampled)  // only request 0's trace of each minute
        s.spans.erase(std::remove_if(s.spans.begin(), s.spans.end(),
                                     [&](const Span& x) {
                                       return x.trace_id.view().rfind("t" + std::to_string(m) + "-0", 0) != 0;
                                     }),
                      s.spans.end());
      slices.push_back(ex.extract(s));
    }
    ex.keep_deviations(true);
    ex.finish(slices);
    EXPECT_EQ(ex.state().options.events.min_window_samples, c.chosen);
    EXPECT_EQ(ex.edge_sparsity().chose, c.option == -1);
    EXPECT_EQ(ex.edge_sparsity().rows, 40.0);  // one edge (gateway -> order-service) in each one-minute window
    EXPECT_DOUBLE_EQ(ex.edge_sparsity().share(), c.share);
    const EventDeviation* delayed = find(ex.deviations()[20], EventKind::kEdge, w.pod_a);
    ASSERT_NE(delayed, nullptr);
    if (c.chosen == 1)
      EXPECT_GT(delayed->z_a, 0.8 * 800 / std::sqrt(3.0));
    else if (c.sampled)
      EXPECT_EQ(delayed->z_a, 0.0);
    else
      EXPECT_GT(delayed->z_a, 100.0);
  }
}

// profile = reference: only the panes inside the given normal periods form the profile (Nezha's fault-free
// minute as the only normal data, or a user's known-good hour).
TEST(EventTokens, ReferenceProfileIsBuiltFromTheNormalPeriodsOnly) {
  World w;
  FeatureState st;
  st.options.events.profile = "reference";
  // minutes 0-4 and 35-36 (the slices start at minute 100 of the epoch)
  st.options.events.reference = format_time(100 * kUsPerMinute) + "/" + format_time(105 * kUsPerMinute) + ", " +
                                format_time(135 * kUsPerMinute) + "/" + format_time(137 * kUsPerMinute);
  FeatureOptions::schema().validate(st.options);
  FeatureExtractor ex(st, w.catalog, World::text, 60);
  auto slices = run(w, ex);
  ex.finish(slices);
  EXPECT_EQ(ex.profile().panes(), 7.0);
  const auto& dev = ex.deviations();
  const EventDeviation* e5 = find(dev[5], EventKind::kEdge, w.pod_a);
  ASSERT_NE(e5, nullptr);
  EXPECT_TRUE(e5->ready);
  EXPECT_LT(std::fabs(e5->z_a), 1.0);
  EXPECT_GT(find(dev[20], EventKind::kEdge, w.pod_a)->z_a, 50.0);
  EXPECT_NEAR(find(dev[30], EventKind::kOperation, w.pod_a)->missing, 1.0, 1e-6);
  // the profile is the same for every slice: a slice inside the reference is compared with itself too
  const EventDeviation* e2 = find(dev[2], EventKind::kEdge, w.pod_a);
  ASSERT_NE(e2, nullptr);
  EXPECT_LT(std::fabs(e2->z_a), 1.0);
}

TEST(EventTokens, MalformedReferencePeriodsAreRefusedWithTheirText) {
  EXPECT_EQ(reference_periods("2023-01-30T11:38:00Z/2023-01-30T11:41:00Z").size(), 1u);
  auto message = [](const std::string& reference, const std::string& profile = "reference") {
    FeatureState st;
    st.options.events.profile = profile;
    st.options.events.reference = reference;
    try {
      FeatureOptions::schema().validate(st.options);
      Catalog catalog;
      FeatureExtractor ex(st, catalog, World::text, 60);
    } catch (const InvalidInput& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(message("2023-01-30T11:38:00Z").find("'2023-01-30T11:38:00Z' is not START/END"), std::string::npos);
  EXPECT_NE(message("2023-01-30T11:41:00Z/2023-01-30T11:38:00Z").find("ends before it starts"), std::string::npos);
  EXPECT_NE(message("").find("needs the normal periods"), std::string::npos);
  EXPECT_EQ(message("", "loo"), "accepted");
}

TEST(EventTokens, BudgetPerEntityKeepsTheMostDeviantTokenOfEveryEntity) {
  World w;
  FeatureState st;
  st.options.events.trace_tokens_per_entity = 1;
  FeatureExtractor ex(st, w.catalog, World::text, 60);
  auto slices = run(w, ex);
  ex.finish(slices);
  const TokenSet& t = slices[10].tokens[static_cast<int>(Modality::kTraces)];
  int a = 0, b = 0;
  for (size_t i = 0; i < t.size(); ++i) {
    a += t.entities[i] == w.pod_a;
    b += t.entities[i] == w.pod_b;
  }
  EXPECT_EQ(a, 1);  // pod_a keeps one token although pod_b has seven busier keys
  EXPECT_EQ(b, 1);
}

TEST(EventProfile, JsonRoundTripAndSubtraction) {
  World w;
  FeatureExtractor ex(FeatureState{}, w.catalog, World::text, 60);
  auto slices = run(w, ex);
  ex.finish(slices);
  const EventProfile& p = ex.profile();
  EXPECT_EQ(p.panes(), 40.0);
  EventProfile back = EventProfile::from_json(p.to_json());
  EXPECT_EQ(back.to_json(), p.to_json());
  // a profile minus itself is empty
  EventProfile zero = back;
  zero.merge(p, -1);
  EXPECT_EQ(zero.panes(), 0.0);
  LogHist h;
  for (int k = 0; k < 99; ++k) h.add(1000);
  h.add(1e6);
  EXPECT_NEAR(h.quantile(0.5), 1000, 400);
  EXPECT_THROW(EventProfile::from_json(nlohmann::json::object()), ModelError);
  // the profile knows its panes: 40 minutes from minute 100, gone again after the subtraction
  EXPECT_EQ(back.overlap({99 * kUsPerMinute, 100 * kUsPerMinute, 139 * kUsPerMinute, 140 * kUsPerMinute}), 2u);
  EXPECT_EQ(zero.overlap({100 * kUsPerMinute, 120 * kUsPerMinute}), 0u);
  nlohmann::json j = p.to_json();
  j["pane_starts"] = {3, 1};
  EXPECT_THROW(EventProfile::from_json(j), ModelError);
  j.erase("pane_starts");  // a profile saved before pane starts were: no overlap is known
  EXPECT_EQ(EventProfile::from_json(j).overlap({100 * kUsPerMinute}), 0u);
}

// A model's saved profile (its training data's) is the prior of the data it featurises. A slice of the training
// period would be compared with a profile that holds it (twice): its profile leaves the prior out, so on the
// training data again the deviations are those of the data alone; data from another period keeps the prior.
TEST(EventProfile, APriorOverlappingTheDataIsLeftOut) {
  World w;
  FeatureExtractor train(FeatureState{}, w.catalog, World::text, 60);
  auto train_slices = run(w, train);
  train.finish(train_slices);
  const EventProfile prior = train.profile();

  FeatureExtractor alone(FeatureState{}, w.catalog, World::text, 60), again(FeatureState{}, w.catalog, World::text, 60);
  auto a = run(w, alone), b = run(w, again);
  alone.finish(a);
  again.finish(b, &prior);
  EXPECT_EQ(again.prior_overlap(), 40u);
  EXPECT_EQ(alone.prior_overlap(), 0u);
  const EventDeviation* da = find(alone.deviations()[20], EventKind::kEdge, w.pod_a);
  const EventDeviation* db = find(again.deviations()[20], EventKind::kEdge, w.pod_a);
  ASSERT_TRUE(da && db);
  EXPECT_EQ(da->z_a, db->z_a);
  EXPECT_EQ(da->profile_n, db->profile_n);

  // the data featurised against the prior as if it had been built `minutes` earlier
  auto against_prior_from = [&](int minutes, std::vector<FeatureSlice>& slices) {
    nlohmann::json j = prior.to_json();
    for (auto& t : j["pane_starts"]) t = t.get<TimeUs>() - minutes * kUsPerMinute;
    const EventProfile shifted = EventProfile::from_json(j);
    auto ex = std::make_unique<FeatureExtractor>(FeatureState{}, w.catalog, World::text, 60);
    slices = run(w, *ex);
    ex->finish(slices, &shifted);
    return ex;
  };
  auto profile_n = [&](const FeatureExtractor& ex, size_t slice) {
    return find(ex.deviations()[slice], EventKind::kEdge, w.pod_a)->profile_n;
  };
  // the same system an hour later: the prior adds to the profile
  std::vector<FeatureSlice> c, e;
  const auto later = against_prior_from(60, c);
  EXPECT_EQ(later->prior_overlap(), 0u);
  EXPECT_GT(profile_n(*later, 20), da->profile_n);
  // half the data in the prior's period: only those slices leave it out
  const auto partly = against_prior_from(20, e);
  EXPECT_EQ(partly->prior_overlap(), 20u);
  EXPECT_EQ(profile_n(*partly, 10), profile_n(alone, 10));
  EXPECT_GT(profile_n(*partly, 30), profile_n(alone, 30));

  // causal: the slices whose pane the prior holds are compared with their own past only
  FeatureState causal;
  causal.options.events.profile = "causal";
  FeatureExtractor live(causal, w.catalog, World::text, 60);
  auto d = run(w, live);
  live.finish(d, &prior);
  EXPECT_EQ(live.prior_overlap(), 40u);
  EXPECT_FALSE(find(live.deviations()[0], EventKind::kEdge, w.pod_a)->ready) << "no past, and the prior left out";
}

}  // namespace
}  // namespace rslicer
