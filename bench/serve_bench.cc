// serve_bench MODEL_DIR DATA [--json] [--rate SPANS_PER_S]: the load generator
// and benchmark of `rslicer serve` (docs/serve.md).
//
// 1. Baseline, same run: `detect --online` on DATA (read files -> online pipeline, no HTTP).
// 2. Pre-encodes DATA as OTLP export requests (protobuf, or JSON with --json), 10 s of data time per chunk, one
//    request per signal, so the generator's encoding is not charged to the server.
// 3. Starts the server in this process on a loopback port and sends the requests over one keep-alive connection
//    (as one exporter does), as fast as the server answers or paced at --rate spans per second; then waits
//    until the pipeline has decided everything.
// Prints sustained spans / log records / metric points per second (received and decided), the ratio to the
// baseline, the wall latency from a request's arrival to the decisions it completed (p50 / p99), the records
// late or rejected, and the peak RSS of the server process alone (it runs in a child forked at the start, before
// anything is loaded, so neither the baseline run nor the generator's encoded requests count).
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "core/progress.h"
#include "serve/replay.h"
#include "serve/server.h"

namespace {

using Clock = std::chrono::steady_clock;

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024.0;
}

// The server in a child process: it writes its port to `port_out` and serves until `stop_in` reaches end of file.
[[noreturn]] void serve_child(const std::string& model, int port_out, int stop_in) {
  using namespace rslicer;
  Progress::set_global_enabled(false);
  ServeOptions o;
  o.port = 0;
  Server server(Pipeline::load(model), o, model);
  const int port = server.start();
  if (write(port_out, &port, sizeof port) != sizeof port) _exit(1);
  char c;
  while (read(stop_in, &c, 1) > 0) {
  }
  server.stop();
  _exit(0);
}

struct ServerProcess {
  pid_t pid = -1;
  int port = 0;
  int stop_fd = -1;
  double peak_rss_mb = 0;

  explicit ServerProcess(const std::string& model) {
    int port_pipe[2], stop_pipe[2];
    if (pipe(port_pipe) || pipe(stop_pipe)) throw std::runtime_error("serve_bench: pipe failed");
    pid = fork();
    if (pid < 0) throw std::runtime_error("serve_bench: fork failed");
    if (pid == 0) {
      close(port_pipe[0]);
      close(stop_pipe[1]);
      serve_child(model, port_pipe[1], stop_pipe[0]);
    }
    close(port_pipe[1]);
    close(stop_pipe[0]);
    stop_fd = stop_pipe[1];
    if (read(port_pipe[0], &port, sizeof port) != sizeof port) throw std::runtime_error("serve_bench: server did not start");
    close(port_pipe[0]);
  }
  void stop() {
    if (pid < 0) return;
    close(stop_fd);
    int status = 0;
    rusage u{};
    wait4(pid, &status, 0, &u);
    peak_rss_mb = u.ru_maxrss / 1024.0;
    pid = -1;
  }
  ~ServerProcess() { stop(); }
};

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

struct Request {
  rslicer::OtlpSignal signal;
  std::string body;
  std::int64_t records = 0;
};

}  // namespace

int main(int argc, char** argv) {
  using namespace rslicer;
  if (argc < 3) {
    std::fprintf(stderr, "usage: serve_bench MODEL_DIR DATA [--json] [--rate SPANS_PER_S]\n");
    return 2;
  }
  const std::string model = argv[1], data = argv[2];
  bool json = false;
  double rate = 0;
  for (int i = 3; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--json")) json = true;
    else if (!std::strcmp(argv[i], "--rate") && i + 1 < argc) rate = std::atof(argv[++i]);
    else {
      std::fprintf(stderr, "unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  Progress::set_global_enabled(false);
  ServerProcess server(model);  // forked first, so that it shares nothing loaded below

  // 1. baseline
  auto pipeline = Pipeline::load(model);
  auto t0 = Clock::now();
  auto source = open_source(data, "auto", {});
  const DetectResult offline = detect_online(*pipeline, *source, {}, false);
  const double base_s = since(t0);
  const ReadCounts counts = source->counts();
  const std::int64_t base_records = counts.metric_points + counts.spans + counts.log_records;
  std::printf("baseline  detect --online on the files: %lld records (%lld spans) in %.2f s = %.0f records/s, %zu "
              "slices, %zu incidents\n",
              static_cast<long long>(base_records), static_cast<long long>(counts.spans), base_s,
              base_records / base_s, offline.timeline.size(), offline.incidents.size());

  // 2. requests
  t0 = Clock::now();
  std::vector<Request> requests;
  std::int64_t per_signal[3] = {0, 0, 0};
  auto replay_source = open_source(data, "auto", {});
  for_each_request(*replay_source, 10, 20000, [&](OtlpSignal s, std::vector<Record>&& records) {
    per_signal[static_cast<int>(s)] += static_cast<std::int64_t>(records.size());
    requests.push_back({s,
                        json ? encode_otlp_json(records, replay_source->catalog(), s)
                             : encode_otlp_protobuf(records, replay_source->catalog(), s),
                        static_cast<std::int64_t>(records.size())});
  });
  std::size_t bytes = 0;
  for (const auto& r : requests) bytes += r.body.size();
  std::printf("requests  %zu %s requests, %.1f MB, encoded in %.2f s\n", requests.size(), json ? "JSON" : "protobuf",
              bytes / 1e6, since(t0));

  // 3. send to the server
  const int port = server.port;
  httplib::Client client("127.0.0.1", port);
  client.set_keep_alive(true);
  client.set_tcp_nodelay(true);
  std::int64_t spans_sent = 0, busy = 0;
  t0 = Clock::now();
  for (const auto& r : requests) {
    if (rate > 0 && r.signal == OtlpSignal::kTraces) {
      const double due = static_cast<double>(spans_sent) / rate;
      const double now = since(t0);
      if (due > now) std::this_thread::sleep_for(std::chrono::duration<double>(due - now));
    }
    busy += post_export(client, "http://127.0.0.1:" + std::to_string(port), r.signal, r.body, json).retries;
    if (r.signal == OtlpSignal::kTraces) spans_sent += r.records;
  }
  const double received_s = since(t0);
  client.set_read_timeout(3600, 0);  // the flush answers when the backlog is decided (httplib's default: 5 s)
  const auto flushed = client.Post("/api/flush");
  if (!flushed || flushed->status != 200) {
    std::fprintf(stderr, "serve_bench: POST /api/flush failed (%s)\n",
                 flushed ? std::to_string(flushed->status).c_str() : httplib::to_string(flushed.error()).c_str());
    return 1;
  }
  const double decided_s = since(t0);
  const auto stats = nlohmann::json::parse(client.Get("/api/stats")->body);
  client.stop();
  server.stop();

  const std::int64_t total = per_signal[0] + per_signal[1] + per_signal[2];
  const auto& p = stats["pipeline"];
  std::printf("serve     received %lld records in %.2f s: %.0f spans/s, %.0f log records/s, %.0f metric points/s "
              "(%.0f records/s)\n",
              static_cast<long long>(total), received_s, per_signal[0] / received_s, per_signal[2] / received_s,
              per_signal[1] / received_s, total / received_s);
  std::printf("serve     decided everything after %.2f s: %.0f records/s = %.2f x the baseline; %lld slices, %lld "
              "incidents (baseline %zu, %zu)\n",
              decided_s, total / decided_s, (total / decided_s) / (base_records / base_s),
              static_cast<long long>(p["slices"].get<std::int64_t>()),
              static_cast<long long>(p["incidents"].get<std::int64_t>()), offline.timeline.size(),
              offline.incidents.size());
  std::printf("latency   request arrival -> decisions it completed: p50 %.3f s, p99 %.3f s\n",
              p["decision_latency_p50_s"].get<double>(), p["decision_latency_p99_s"].get<double>());
  std::printf("records   rejected %lld, late %lld, 503 answers %lld\n",
              static_cast<long long>(stats["rejected"].get<std::int64_t>()),
              static_cast<long long>(p["late_records"].get<std::int64_t>()), static_cast<long long>(busy));
  std::printf("memory    peak RSS of the server process %.0f MB; of the generator (baseline run, encoded requests) "
              "%.0f MB\n",
              server.peak_rss_mb, peak_rss_mb());
  return 0;
}
