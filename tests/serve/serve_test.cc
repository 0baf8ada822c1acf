// rslicer serve: a replay of recorded telemetry over OTLP/HTTP (protobuf and
// JSON, gzip or not) decides exactly like `detect --online` on the files;
// the HTTP contract (400, 401, 413, 415, 503 + Retry-After, partial
// success); the counters; the CLI with curl and the dashboard in headless
// Chromium.
#include "serve/server.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <regex>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "api/simulate.h"
#include "ingest/otlp_decode.h"
#include "serve/replay.h"
#include "serve_util.h"
#include "test_util.h"

namespace rslicer {
namespace {

using json = nlohmann::json;
using namespace serve_testing;

// Live and offline decisions agree exactly; numbers to float32 rounding: the receiver interns names in the
// order requests arrive, the file reader in the order it reads its files, so entity ids, and with them the order
// in which the encoder sums tokens, differ (about 1e-7 relative).
void expect_same_number(const json& a, const json& b, const std::string& where) {
  const double x = a.get<double>(), y = b.get<double>();
  EXPECT_NEAR(x, y, 1e-5 * std::max(1.0, std::abs(y))) << where;
}

// A sentence with its numbers masked (rounded numbers may differ in the last digit).
std::string masked(const std::string& s) { return std::regex_replace(s, std::regex("[0-9][0-9.]*"), "#"); }

void expect_same_decisions(const json& live, const json& offline) {
  ASSERT_EQ(live["timeline"].size(), offline["timeline"].size());
  for (size_t i = 0; i < live["timeline"].size(); ++i) {
    const json& a = live["timeline"][i];
    const json& b = offline["timeline"][i];
    const std::string where = cat("timeline point ", i);
    EXPECT_EQ(a["start"], b["start"]) << where;
    EXPECT_EQ(a["end"], b["end"]) << where;
    EXPECT_EQ(a["alarm"], b["alarm"]) << where;
    EXPECT_EQ(a["state"], b["state"]) << where;
    expect_same_number(a["score"], b["score"], where);
    expect_same_number(a["threshold"], b["threshold"], where);
  }
  ASSERT_EQ(live["incidents"].size(), offline["incidents"].size());
  for (size_t i = 0; i < live["incidents"].size(); ++i) {
    const json& a = live["incidents"][i];
    const json& b = offline["incidents"][i];
    const std::string where = cat("incident ", i);
    for (const char* k : {"start", "end", "state", "open", "fault_type"}) EXPECT_EQ(a[k], b[k]) << where << " " << k;
    expect_same_number(a["peak_score"], b["peak_score"], where);
    ASSERT_EQ(a["root_causes"].size(), b["root_causes"].size()) << where;
    for (size_t k = 0; k < a["root_causes"].size(); ++k) {
      const json& x = a["root_causes"][k];
      const json& y = b["root_causes"][k];
      EXPECT_EQ(x["entity"], y["entity"]) << where << " cause " << k;
      expect_same_number(x["score"], y["score"], where);
      ASSERT_EQ(x["evidence"].size(), y["evidence"].size()) << where << " cause " << k;
      for (size_t e = 0; e < x["evidence"].size(); ++e)
        EXPECT_EQ(masked(x["evidence"][e].get<std::string>()), masked(y["evidence"][e].get<std::string>())) << where;
    }
  }
}

TEST(Serve, ReplayOverOtlpHttpDecidesLikeDetectOnline) {
  const World& w = world();
  auto pipeline = Pipeline::load(w.model);
  auto offline_source = open_source(w.faulty, "otlp", {});
  const DetectResult offline = detect_online(*pipeline, *offline_source, {}, false);
  ASSERT_GT(offline.timeline.size(), 100u);
  ASSERT_FALSE(offline.incidents.empty()) << "the replay must be compared on at least one incident";

  ServeOptions o;
  o.port = 0;
  Server server(Pipeline::load(w.model), o, w.model);
  const int port = server.start();
  httplib::Client client("127.0.0.1", port);
  // The replay: the files' records in time order, 10 s of data per chunk, one request per signal of a chunk;
  // protobuf and JSON alternate, every third request gzip-compressed.
  auto source = open_source(w.faulty, "otlp", {});
  std::int64_t sent[3] = {0, 0, 0};
  int request = 0;
  for_each_request(*source, 10, 5000, [&](OtlpSignal signal, std::vector<Record>&& records) {
    sent[static_cast<int>(signal)] += static_cast<std::int64_t>(records.size());
    const bool protobuf = request % 2 == 0;
    client.set_compress(request % 3 == 0);
    ++request;
    const std::string body = protobuf ? encode_otlp_protobuf(records, source->catalog(), signal)
                                      : encode_otlp_json(records, source->catalog(), signal);
    auto res = client.Post(cat("/v1/", otlp_signal_name(signal)).c_str(), body,
                           protobuf ? "application/x-protobuf" : "application/json");
    ASSERT_TRUE(res) << "no response";
    ASSERT_EQ(res->status, 200) << res->body;
  });
  auto flushed = client.Post("/api/flush");
  ASSERT_TRUE(flushed);
  ASSERT_EQ(flushed->status, 200);

  auto inc = client.Get("/api/incidents");
  ASSERT_TRUE(inc);
  ASSERT_EQ(inc->status, 200);
  const json live = json::parse(inc->body);
  const json expected = to_json(offline);
  EXPECT_EQ(live["slices"], expected["slices"]);
  expect_same_decisions(live, expected);
  // the metric warm-up of the stream's first slices, as detect --online reports it
  EXPECT_GT(expected["metric_warmup"]["slices"].get<std::int64_t>(), 0);
  EXPECT_EQ(live["metric_warmup"], expected["metric_warmup"]);
  EXPECT_EQ(json::parse(client.Get("/api/state")->body)["metric_warmup"], expected["metric_warmup"]);
  // ?last=N: the newest N decided slices, 0 for none; anything but a whole number is refused, naming it
  const json newest = json::parse(client.Get("/api/state")->body)["slices"];
  const json last2 = json::parse(client.Get("/api/state?last=2")->body)["slices"];
  ASSERT_GE(newest.size(), 2u);
  ASSERT_EQ(last2.size(), 2u);
  EXPECT_EQ(last2[0], newest[newest.size() - 2]);
  EXPECT_EQ(last2[1], newest.back());
  EXPECT_TRUE(json::parse(client.Get("/api/state?last=0")->body)["slices"].empty());
  for (const char* bad : {"-1", "abc", "2x"}) {
    auto refused = client.Get(cat("/api/state?last=", bad).c_str());
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 400) << bad;
    EXPECT_NE(refused->body.find(cat("got '", bad, "'")), std::string::npos) << refused->body;
  }

  const json stats = json::parse(client.Get("/api/stats")->body);
  EXPECT_EQ(stats["accepted"]["metrics"].get<std::int64_t>(), sent[1]);
  EXPECT_EQ(stats["accepted"]["traces"].get<std::int64_t>(), sent[0]);
  EXPECT_EQ(stats["accepted"]["logs"].get<std::int64_t>(), sent[2]);
  EXPECT_EQ(stats["rejected"].get<std::int64_t>(), 0);
  EXPECT_EQ(stats["pipeline"]["late_records"].get<std::int64_t>(), 0);
  EXPECT_EQ(stats["pipeline"]["prior_held_slices"].get<std::int64_t>(), 0) << "the next day is not training data";
  EXPECT_EQ(stats["pipeline"]["slices"].get<std::int64_t>(), static_cast<std::int64_t>(offline.timeline.size()));
  // the AD kNN took normal references from the stream where the AD score reads it, never an alarmed slice
  const auto added = stats["pipeline"]["knn_references_added"].get<std::int64_t>();
  const auto quiet =
      std::count_if(offline.timeline.begin(), offline.timeline.end(), [](const TimelinePoint& p) { return !p.alarm; });
  const std::string mode = pipeline->model().heads().info().value("ad_score", "");
  if (mode.find("embedding") != std::string::npos)
    EXPECT_GT(added, 0) << mode;
  else
    EXPECT_EQ(added, 0) << mode;
  EXPECT_LE(added, quiet);

  const std::string prom = client.Get("/metrics")->body;
  EXPECT_NE(prom.find("rslicer_records_accepted_total{signal=\"traces\"} " + std::to_string(sent[0])), std::string::npos)
      << prom;
  EXPECT_NE(prom.find("# TYPE rslicer_slices_total counter"), std::string::npos);
  EXPECT_NE(prom.find("rslicer_knn_references_added " + std::to_string(added)), std::string::npos);
  server.stop();
}

// A server runs for weeks: slices beyond the calibration window release their tokens, deviations and entity
// embeddings after their calibration rows go to the ranker's archive, so the decisions are those of a run that
// keeps everything (positions stay valid, incidents still rank their causes).
TEST(Online, OldSlicesAreReleasedAndDecideLikeKeepingThem) {
  const World& w = world();
  auto pipeline = Pipeline::load(w.model);
  auto run = [&](std::int32_t calibration_slices) {
    OnlineOptions o;
    o.refit_slices = 5;
    o.calibration_slices = calibration_slices;
    auto source = open_source(w.faulty, "otlp", {});
    OnlineDetector online(*pipeline, source->catalog(), o);
    auto stream = source->open();
    RecordBatch batch;
    while (stream->next_batch(batch)) online.push(batch);
    online.finish();
    return std::make_pair(online.result(), online.counters());
  };
  const auto [kept, kept_counters] = run(0);
  const auto [bounded, counters] = run(30);
  EXPECT_EQ(kept_counters.released_slices, 0);
  ASSERT_GT(kept.timeline.size(), 60u);
  // everything older than the 30 newest slices is released, unless an alarm run still needs it
  EXPECT_GE(counters.released_slices, static_cast<std::int64_t>(kept.timeline.size()) - 30 - 10);
  EXPECT_LE(counters.released_slices, static_cast<std::int64_t>(kept.timeline.size()) - 30);
  ASSERT_EQ(bounded.timeline.size(), kept.timeline.size());
  for (size_t i = 0; i < kept.timeline.size(); ++i) {
    EXPECT_EQ(bounded.timeline[i].alarm, kept.timeline[i].alarm) << i;
    EXPECT_DOUBLE_EQ(bounded.timeline[i].score, kept.timeline[i].score) << i;
  }
  ASSERT_FALSE(kept.incidents.empty());
  ASSERT_EQ(bounded.incidents.size(), kept.incidents.size());
  for (size_t i = 0; i < kept.incidents.size(); ++i) {
    ASSERT_FALSE(bounded.incidents[i].root_causes.empty());
    EXPECT_EQ(bounded.incidents[i].root_causes[0].entity, kept.incidents[i].root_causes[0].entity) << i;
  }
  EXPECT_THROW(OnlineDetector(*pipeline, Catalog{}, OnlineOptions{{}, -1, 30, 10}), InvalidInput);
}

// A stream of the model's own training period: its saved event profile holds those minutes already, so each
// slice is compared with the stream's past alone, and the count says so.
TEST(Online, TheTrainingPeriodIsNotComparedWithTheProfileThatHoldsIt) {
  const World& w = world();
  auto pipeline = Pipeline::load(w.model);
  auto source = open_source(w.normal, "otlp", {});
  OnlineDetector online(*pipeline, source->catalog(), {});
  auto stream = source->open();
  RecordBatch batch;
  TimeUs first = 0;
  while (stream->next_batch(batch)) {  // the first 40 minutes are enough
    online.push(batch);
    if (first == 0) first = online.counters().watermark;
    if (online.counters().watermark > first + 40 * 60 * kUsPerSecond) break;
  }
  online.finish();
  const OnlineCounters c = online.counters();
  ASSERT_GT(c.slices, 20);
  EXPECT_EQ(c.prior_held_slices, c.slices);
  // offline the same rule, and the dataset keeps the note that says so
  auto offline = open_source(w.normal, "otlp", {});
  const Dataset d = pipeline->prepare(*offline, {}, false);
  ASSERT_FALSE(d.parse_stats.notes.empty());
  EXPECT_NE(d.parse_stats.notes.back().find("lie in the period the model's saved event profile was built from"),
            std::string::npos)
      << d.parse_stats.notes.back();
}

TEST(Serve, HttpContract) {
  const World& w = world();
  ServeOptions o;
  o.port = 0;
  o.token = "s3cret";
  o.max_body_bytes = 4096;
  Server server(Pipeline::load(w.model), o, w.model);
  const int port = server.start();
  httplib::Client client("127.0.0.1", port);
  const std::string span_json =
      R"({"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"cart"}}]},)"
      R"("scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331",)"
      R"("name":"GET /cart","startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000100000000"},)"
      R"({"traceId":"0af7651916cd43dd8448eb211c80319c","name":"no id","startTimeUnixNano":"1700000000000000000"}]}]}]})";

  auto no_token = client.Post("/v1/traces", span_json, "application/json");
  ASSERT_TRUE(no_token);
  EXPECT_EQ(no_token->status, 401);
  EXPECT_EQ(client.Get("/api/state")->status, 401);
  EXPECT_EQ(client.Get("/api/state?token=s3cret")->status, 200);  // the dashboard's way

  client.set_bearer_token_auth("s3cret");
  auto ok = client.Post("/v1/traces", span_json, "application/json");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
  // one span without an id: partial success names it
  const json partial = json::parse(ok->body);
  ASSERT_TRUE(partial.contains("partialSuccess")) << ok->body;
  EXPECT_EQ(std::stoll(partial["partialSuccess"]["rejectedSpans"].is_string()
                           ? partial["partialSuccess"]["rejectedSpans"].get<std::string>()
                           : std::to_string(partial["partialSuccess"]["rejectedSpans"].get<std::int64_t>())),
            1);
  EXPECT_NE(partial["partialSuccess"]["errorMessage"].get<std::string>().find("spanId"), std::string::npos) << ok->body;

  auto bad = client.Post("/v1/traces", "{not json", "application/json");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(bad->body.find("malformed"), std::string::npos) << bad->body;
  auto bad_pb = client.Post("/v1/metrics", std::string("\xff\xff\xff\x01garbage", 11), "application/x-protobuf");
  ASSERT_TRUE(bad_pb);
  EXPECT_EQ(bad_pb->status, 400) << bad_pb->body;
  auto wrong_type = client.Post("/v1/logs", "hello", "text/plain");
  ASSERT_TRUE(wrong_type);
  EXPECT_EQ(wrong_type->status, 415);
  auto big = client.Post("/v1/traces", std::string(10000, ' '), "application/json");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);

  const json stats = json::parse(client.Get("/api/stats")->body);
  EXPECT_EQ(stats["accepted"]["traces"].get<std::int64_t>(), 1);
  // the span without an id, and the two malformed bodies, each under its reason
  EXPECT_EQ(stats["rejected_by_reason"]["missing_field"].get<std::int64_t>(), 1) << stats.dump();
  EXPECT_EQ(stats["rejected_by_reason"]["bad_json"].get<std::int64_t>(), 1) << stats.dump();
  EXPECT_EQ(stats["rejected_by_reason"]["bad_protobuf"].get<std::int64_t>(), 1) << stats.dump();
  EXPECT_EQ(stats["requests"]["unauthorised"].get<std::int64_t>(), 2);
  EXPECT_GE(stats["requests"]["bad"].get<std::int64_t>(), 3);
  server.stop();

  // back-pressure: a full queue answers 503 with Retry-After
  ServeOptions full;
  full.port = 0;
  full.max_queued_records = 0;
  Server busy(Pipeline::load(w.model), full, w.model);
  httplib::Client c2("127.0.0.1", busy.start());
  auto r = c2.Post("/v1/traces", span_json, "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->get_header_value("Retry-After"), "1");
  busy.stop();
}

// A live stream with one span from a clock six years ahead: it is dropped and counted, and time goes on.
TEST(Serve, OneBadClockDoesNotStopTheStream) {
  const World& w = world();
  ServeOptions o;
  o.port = 0;
  Server server(Pipeline::load(w.model), o, w.model);
  httplib::Client client("127.0.0.1", server.start());
  const long long t0 = 1700000000;
  for (int i = 0; i < 120; ++i) {
    const long long t = i == 40 ? t0 + 6LL * 365 * 86400 : t0 + i * 10;
    const std::string body =
        R"({"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"cart"}}]},)"
        R"("scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":")" +
        std::to_string(1000000000000000LL + i) + R"(","name":"GET /cart","startTimeUnixNano":")" + std::to_string(t) +
        R"(000000000","endTimeUnixNano":")" + std::to_string(t) + R"(050000000"}]}]}]})";
    auto r = client.Post("/v1/traces", body, "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
  }
  server.drain();
  const json stats = json::parse(client.Get("/api/stats")->body);
  EXPECT_EQ(stats["pipeline"]["clock_outliers"].get<std::int64_t>(), 1) << stats.dump();
  EXPECT_EQ(stats["pipeline"]["late_records"].get<std::int64_t>(), 0) << stats.dump();
  EXPECT_GT(stats["pipeline"]["slices"].get<std::int64_t>(), 5) << stats.dump();  // windows kept closing
  EXPECT_LT(stats["pipeline"]["watermark"].get<double>(), static_cast<double>(t0 + 86400)) << stats.dump();
  EXPECT_NE(client.Get("/metrics")->body.find("rslicer_clock_outliers_total 1"), std::string::npos);
  server.stop();
}

// The CLI as a user runs it: start `rslicer serve`, send OTLP/JSON with curl, read the API and the dashboard.
TEST(ServeCli, CurlJsonAndDashboard) {
  const World& w = world();
  const std::string dir = testing::make_temp_dir("rslicer-serve-cli");
  const CliServer server = start_cli_server(w.model, dir);
  ASSERT_TRUE(server.up) << testing::run_command("cat " + server.log);
  const std::string& base = server.base;
  const std::string& log = server.log;

  // The faulty run's records as OTLP/JSON request files, sent with curl.
  auto source = open_source(w.faulty, "otlp", {});
  std::int64_t spans = 0;
  int files = 0;
  for_each_request(*source, 60, 20000, [&](OtlpSignal signal, std::vector<Record>&& records) {
    if (signal == OtlpSignal::kTraces) spans += static_cast<std::int64_t>(records.size());
    const std::string f = cat(dir, "/req", files++, ".json");
    testing::write_file(f, encode_otlp_json(records, source->catalog(), signal));
    int code = 0;
    const std::string out = testing::run_command(
        cat("curl -s -w ' %{http_code}' -X POST -H 'Content-Type: application/json' --data-binary @", f, " ", base,
            "/v1/", otlp_signal_name(signal)),
        &code);
    ASSERT_EQ(code, 0);
    ASSERT_NE(out.find(" 200"), std::string::npos) << out;
    std::filesystem::remove(f);
  });
  testing::run_command(cat("curl -s -X POST ", base, "/api/flush"));
  const json stats = json::parse(testing::run_command(cat("curl -s ", base, "/api/stats")));
  EXPECT_EQ(stats["accepted"]["traces"].get<std::int64_t>(), spans);
  const json incidents = json::parse(testing::run_command(cat("curl -s ", base, "/api/incidents")));
  ASSERT_FALSE(incidents["incidents"].empty());

  // the dashboard, rendered by headless Chromium: its scripts fill the status line, the timeline and the cards
  const std::string dom = testing::chromium_dump_dom(base + "/");
  if (dom.empty()) GTEST_SKIP() << "headless Chromium produced no DOM";
  EXPECT_NE(dom.find("slices decided: " + std::to_string(stats["pipeline"]["slices"].get<std::int64_t>())),
            std::string::npos)
      << dom.substr(0, 2000);
  EXPECT_NE(dom.find("<svg"), std::string::npos);
  EXPECT_NE(dom.find("class=\"card"), std::string::npos);
  EXPECT_NE(dom.find(incidents["incidents"][0]["root_causes"][0]["entity"].get<std::string>()), std::string::npos);
  ASSERT_FALSE(incidents["incidents"][0]["alarmed_by"].empty());  // which AD score raised it, on its card
  EXPECT_NE(dom.find("alarmed by the "), std::string::npos);
  for (const auto& [part, n] : incidents["incidents"][0]["alarmed_by"].items())
    EXPECT_NE(dom.find(part + " (" + std::to_string(n.get<int>()) + " slice"), std::string::npos) << part;

  // SIGTERM ends it cleanly
  kill_cli_server(server, "TERM");
  EXPECT_NE(testing::run_command("cat " + log).find("stopping"), std::string::npos);
  std::filesystem::remove_all(dir);
}

// `rslicer replay` sends every record of a dataset; the server counts what it says it sent. The server runs with
// detect's incident flags.
TEST(ServeCli, ReplayCommandSendsEveryRecord) {
  const World& w = world();
  const std::string dir = testing::make_temp_dir("rslicer-serve-replay");
  const CliServer server = start_cli_server(w.model, dir, "--root-causes 1 --set split_on_root_cause=false");
  ASSERT_TRUE(server.up) << testing::run_command("cat " + server.log);
  int code = -1;
  const std::string out = testing::run_command(cat(testing::binary_dir(), "/bin/rslicer -q replay --data ", w.faulty,
                                                   " --to ", server.base, " --protocol json --flush 2>&1"),
                                               &code);
  ASSERT_EQ(code, 0) << out;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(out, m, std::regex("sent ([0-9]+) spans, ([0-9]+) metric points, ([0-9]+) log records")))
      << out;
  const json stats = json::parse(testing::run_command(cat("curl -s ", server.base, "/api/stats")));
  EXPECT_EQ(stats["accepted"]["traces"].get<std::int64_t>(), std::stoll(m[1]));
  EXPECT_EQ(stats["accepted"]["metrics"].get<std::int64_t>(), std::stoll(m[2]));
  EXPECT_EQ(stats["accepted"]["logs"].get<std::int64_t>(), std::stoll(m[3]));
  EXPECT_GT(stats["pipeline"]["slices"].get<std::int64_t>(), 100);
  // serve takes detect's incident flags: one root cause per incident here (5 by default)
  const json incidents = json::parse(testing::run_command(cat("curl -s ", server.base, "/api/incidents")));
  ASSERT_FALSE(incidents["incidents"].empty());
  for (const auto& i : incidents["incidents"]) EXPECT_EQ(i["root_causes"].size(), 1u);
  // an endpoint that is not there: a clear error, exit code 3 (I/O)
  const std::string bad = testing::run_command(
      cat(testing::binary_dir(), "/bin/rslicer -q replay --data ", w.faulty, " --to http://127.0.0.1:1 2>&1"), &code);
  EXPECT_EQ(code, 3) << bad;
  EXPECT_NE(bad.find("http://127.0.0.1:1"), std::string::npos) << bad;
  kill_cli_server(server, "TERM");
  std::filesystem::remove_all(dir);
}

// Stops a server however the test ends (an assertion returns early).
struct KillOnExit {
  const CliServer& server;
  ~KillOnExit() { kill_cli_server(server, "KILL"); }
};

// --store: kill -9 in the middle of a replay loses no reported incident; the restarted server shows the decisions
// made before, resumes the learned state, does not decide a window twice, and goes on deciding.
TEST(ServeCli, StoreSurvivesKillMinus9) {
  const World& w = world();
  const std::string dir = testing::make_temp_dir("rslicer-serve-store");
  auto source = open_source(w.faulty, "otlp", {});
  std::vector<std::pair<OtlpSignal, std::string>> requests;
  for_each_request(*source, 60, 20000, [&](OtlpSignal signal, std::vector<Record>&& records) {
    requests.emplace_back(signal, encode_otlp_json(records, source->catalog(), signal));
  });
  auto send = [&](const CliServer& c, size_t from, size_t to) {
    httplib::Client client(c.base);
    for (size_t i = from; i < std::min(to, requests.size()); ++i) {
      auto r = client.Post(cat("/v1/", otlp_signal_name(requests[i].first)).c_str(), requests[i].second,
                           "application/json");
      ASSERT_TRUE(r);
      ASSERT_EQ(r->status, 200) << r->body;
    }
  };
  auto get = [](const CliServer& c, const std::string& path) {
    return json::parse(testing::run_command(cat("curl -s ", c.base, path)));
  };
  auto drained = [&](const CliServer& c) {  // until the pipeline has taken everything sent
    for (int i = 0; i < 100 && get(c, "/api/stats")["queue"]["records"].get<std::int64_t>() > 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
  };
  // Everything a server showed comes back after a kill -9 (a batch in flight at the kill may have added more);
  // a restart closes open incidents.
  auto expect_restored = [&](const json& before, const json& after) {
    ASSERT_GE(after["timeline"].size(), before["timeline"].size());
    for (size_t i = 0; i < before["timeline"].size(); ++i) EXPECT_EQ(after["timeline"][i], before["timeline"][i]) << i;
    ASSERT_GE(after["incidents"].size(), before["incidents"].size());
    for (size_t i = 0; i < before["incidents"].size(); ++i) {
      EXPECT_EQ(after["incidents"][i]["start"], before["incidents"][i]["start"]);
      if (!before["incidents"][i]["open"].get<bool>()) {  // an open one may have grown before the kill
        EXPECT_EQ(after["incidents"][i]["root_causes"], before["incidents"][i]["root_causes"]);
        EXPECT_EQ(after["incidents"][i]["alarmed_by"], before["incidents"][i]["alarmed_by"]);
      }
      EXPECT_FALSE(after["incidents"][i]["open"].get<bool>());
    }
  };
  const std::string store = "--store " + dir + "/store";
  const size_t half = requests.size() / 2;

  // 1. the first half, then kill -9
  const CliServer first = start_cli_server(w.model, dir, store);
  const KillOnExit first_guard{first};
  ASSERT_TRUE(first.up) << testing::run_command("cat " + first.log);
  send(first, 0, half);
  drained(first);
  const json before = get(first, "/api/incidents");
  ASSERT_GT(before["timeline"].size(), 20u);
  kill_cli_server(first, "KILL");

  // 2. restart: the decisions are back; the exporter sends the last minutes again, then the rest; kill -9
  const CliServer second = start_cli_server(w.model, dir, store);
  const KillOnExit second_guard{second};
  ASSERT_TRUE(second.up) << testing::run_command("cat " + second.log);
  const json after = get(second, "/api/incidents");
  expect_restored(before, after);
  EXPECT_EQ(get(second, "/api/stats")["pipeline"]["resumed_slices"].get<std::int64_t>(),
            static_cast<std::int64_t>(after["timeline"].size()));
  send(second, half - 30, requests.size());
  testing::run_command(cat("curl -s -X POST ", second.base, "/api/flush"));
  const json end = get(second, "/api/incidents");
  EXPECT_GT(end["timeline"].size(), before["timeline"].size());
  for (size_t i = 1; i < end["timeline"].size(); ++i)
    ASSERT_GT(end["timeline"][i]["start"].get<double>(), end["timeline"][i - 1]["start"].get<double>())
        << "a window decided twice at " << i;
  EXPECT_GT(get(second, "/api/stats")["pipeline"]["resumed_skipped"].get<std::int64_t>(), 0);
  ASSERT_FALSE(end["incidents"].empty()) << "the replay must report an incident";
  kill_cli_server(second, "KILL");

  // 3. every incident reported before the second kill is back
  const CliServer third = start_cli_server(w.model, dir, store);
  const KillOnExit third_guard{third};
  ASSERT_TRUE(third.up) << testing::run_command("cat " + third.log);
  expect_restored(end, get(third, "/api/incidents"));
  kill_cli_server(third, "TERM");

  // a store of another schema version is refused with a clear message
  int code = 0;
  testing::run_command(cat("sqlite3 ", dir, "/store/serve.db \"UPDATE meta SET value='99' WHERE key='schema_version'\""),
                       &code);
  if (code != 0) GTEST_SKIP() << "no sqlite3 shell to alter the store with";
  const std::string out = testing::run_command(
      cat(testing::binary_dir(), "/bin/rslicer serve --model ", w.model, " --listen 127.0.0.1:0 --store ", dir,
          "/store 2>&1"),
      &code);
  EXPECT_NE(code, 0);
  EXPECT_NE(out.find("schema version 99"), std::string::npos) << out;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace rslicer
