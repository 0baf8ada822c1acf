// rslicer serve with real OpenTelemetry clients: the OpenTelemetry JS SDK (node, npm packages pinned in
// package.json) sends spans, metric points and log records through its OTLP/HTTP exporters, protobuf and JSON,
// plain and gzip-compressed (tests/serve/otel_js_client.mjs); the server must accept exactly what they sent.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "serve_util.h"
#include "test_util.h"

namespace rslicer {
namespace {

using json = nlohmann::json;
using namespace serve_testing;

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// The last non-empty line of `out`.
std::string last_line(const std::string& out) {
  const std::string s = trimmed(out);
  const size_t nl = s.rfind('\n');
  return nl == std::string::npos ? s : s.substr(nl + 1);
}

TEST(ServeCli, OpenTelemetryJsExporters) {
  const std::string node = trimmed(testing::run_command("command -v node"));
  if (node.empty()) GTEST_SKIP() << "no node on PATH (Debian package nodejs; scripts/setup.sh installs it)";
  for (const char* p : {"api", "api-logs", "resources", "sdk-trace-base", "sdk-metrics", "sdk-logs",
                        "exporter-trace-otlp-proto", "exporter-trace-otlp-http", "exporter-metrics-otlp-proto",
                        "exporter-metrics-otlp-http", "exporter-logs-otlp-proto", "exporter-logs-otlp-http"})
    if (!testing::exists(cat(testing::source_dir(), "/node_modules/@opentelemetry/", p, "/package.json")))
      GTEST_SKIP() << "node_modules/@opentelemetry/" << p << " is missing: run npm install in the repository root";

  const World& w = world();
  const std::string dir = testing::make_temp_dir("rslicer-serve-js");
  const CliServer server = start_cli_server(w.model, dir);
  // stopped with SIGTERM at the end, or here when an assertion ends the test early
  struct Stop {
    const CliServer& c;
    bool done = false;
    ~Stop() {
      if (!done) kill_cli_server(c, "TERM");
    }
  } stop{server};
  ASSERT_TRUE(server.up) << testing::run_command("cat " + server.log);
  const auto stats = [&] { return json::parse(testing::run_command(cat("curl -s ", server.base, "/api/stats"))); };

  std::int64_t spans = 0, points = 0, logs = 0;
  int run = 0;
  for (const char* how : {"proto", "json", "proto gzip", "json gzip"}) {
    SCOPED_TRACE(how);
    const std::string err = cat(dir, "/client", run++, ".err");
    int code = -1;
    const std::string out = testing::run_command(
        cat(node, " ", testing::source_dir(), "/tests/serve/otel_js_client.mjs ", server.base, " ", how, " 2> ", err),
        &code);
    ASSERT_EQ(code, 0) << "the exporters failed (" << how << "):\n"
                       << out << testing::run_command("cat " + err) << "\nserver log:\n"
                       << testing::run_command("tail -50 " + server.log) << "\nstats: " << stats().dump();
    const json sent = json::parse(last_line(out));
    ASSERT_GT(sent["spans"].get<std::int64_t>(), 0) << out;
    ASSERT_GT(sent["metric_points"].get<std::int64_t>(), 0) << out;
    ASSERT_GT(sent["log_records"].get<std::int64_t>(), 0) << out;
    spans += sent["spans"].get<std::int64_t>();
    points += sent["metric_points"].get<std::int64_t>();
    logs += sent["log_records"].get<std::int64_t>();

    json s = stats();
    for (int i = 0; i < 100 && s["queue"]["records"].get<std::int64_t>() != 0; ++i) {  // until the pipeline took all
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      s = stats();
    }
    EXPECT_EQ(s["queue"]["records"].get<std::int64_t>(), 0) << s.dump();
    // every record the exporters reported as delivered, counted once, none rejected
    EXPECT_EQ(s["accepted"]["traces"].get<std::int64_t>(), spans) << s.dump();
    EXPECT_EQ(s["accepted"]["metrics"].get<std::int64_t>(), points) << s.dump();
    EXPECT_EQ(s["accepted"]["logs"].get<std::int64_t>(), logs) << s.dump();
    EXPECT_EQ(s["rejected"].get<std::int64_t>(), 0) << s.dump();
  }

  kill_cli_server(server, "TERM");
  stop.done = true;
  EXPECT_NE(testing::run_command("cat " + server.log).find("stopping"), std::string::npos);
  if (!HasFailure()) std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace rslicer
