#include "serve/server.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "api/html.h"
#include "core/errors.h"
#include "core/strings.h"
#include "ingest/otlp_decode.h"
#include "serve/store.h"

namespace rslicer {

namespace {

using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

double unix_s(TimeUs t) { return static_cast<double>(t) / kUsPerSecond; }

// Copies the names a decoder interned since the last sync (tables are append-only, so ids stay equal).
void sync_catalog(const Catalog& from, Catalog& to) {
  for (size_t i = to.entities.size(); i < from.entities.size(); ++i) to.entities.intern(from.entities.name(static_cast<Id>(i)));
  for (size_t i = to.kpis.size(); i < from.kpis.size(); ++i) to.kpis.intern(from.kpis.name(static_cast<Id>(i)));
  for (size_t i = to.operations.size(); i < from.operations.size(); ++i)
    to.operations.intern(from.operations.name(static_cast<Id>(i)));
  to.entity_info = from.entity_info;
}

// Latencies of the last decisions (seconds), for the p50 / p99 of /metrics and /api/stats.
struct LatencyWindow {
  std::deque<double> values;
  void add(double v) {
    values.push_back(v);
    if (values.size() > 4096) values.pop_front();
  }
  double quantile(double q) const {
    if (values.empty()) return 0;
    std::vector<double> v(values.begin(), values.end());
    const size_t k = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return v[k];
  }
};

}  // namespace

struct Server::Impl {
  std::unique_ptr<Pipeline> pipeline;
  ServeOptions options;
  std::string model_dir;
  httplib::Server http;
  std::thread http_thread, pipeline_thread;
  int port = 0;
  const Clock::time_point started = Clock::now();

  // decoding: the decoder's catalog and counters (decode_mutex)
  std::mutex decode_mutex;
  Catalog decode_catalog;
  ParseStats parse_stats;
  ReadCounts read_counts;
  OtlpDecoder decoder{decode_catalog, parse_stats, read_counts};
  std::int64_t accepted[3] = {0, 0, 0};  // records per OtlpSignal
  std::int64_t requests_bad = 0, requests_busy = 0, requests_unauthorised = 0, requests_ok = 0;

  // the queue (queue_mutex)
  std::mutex queue_mutex;
  std::condition_variable queue_cv, drained_cv;
  std::deque<std::pair<RecordBatch, Clock::time_point>> queue;
  std::int64_t queued_records = 0;
  bool busy = false;  // the pipeline thread is working on a batch
  bool stopping = false;
  bool flush_requested = false;

  // the pipeline (state_mutex): its own catalog copy, the online detector, results
  std::mutex state_mutex;
  Catalog catalog;
  std::unique_ptr<OnlineDetector> online;
  std::unique_ptr<Store> store;
  std::int64_t slices_since_state = 0;
  std::string store_error;
  LatencyWindow latency;
  std::string pipeline_error;

  Impl(std::unique_ptr<Pipeline> p, ServeOptions o, std::string dir)
      : pipeline(std::move(p)), options(std::move(o)), model_dir(std::move(dir)) {
    online = std::make_unique<OnlineDetector>(*pipeline, catalog, options.online);
    if (!options.store_dir.empty()) {
      store = std::make_unique<Store>(options.store_dir, model_dir);
      online->restore(store->load());
    }
  }

  // Writes the new decisions (and now and then the learned state) before the API can show them.
  void persist(size_t decided, bool final_state) {
    if (!store) return;
    slices_since_state += static_cast<std::int64_t>(decided);
    const bool with_state = final_state || slices_since_state >= options.state_every;
    try {
      store->save(*online, with_state);
      if (with_state) slices_since_state = 0;
    } catch (const std::exception& e) {
      store_error = e.what();
      std::fprintf(stderr, "serve: store error: %s\n", e.what());
    }
  }

  bool authorised(const httplib::Request& req) {
    if (options.token.empty()) return true;
    if (req.get_header_value("Authorization") == "Bearer " + options.token) return true;
    // a browser cannot set the header on a page load: GETs may carry ?token=
    return req.method == "GET" && req.has_param("token") && req.get_param_value("token") == options.token;
  }

  void ingest(const httplib::Request& req, httplib::Response& res, OtlpSignal signal) {
    const std::string type = req.get_header_value("Content-Type");
    const bool protobuf = type.rfind("application/x-protobuf", 0) == 0;
    const bool is_json = type.rfind("application/json", 0) == 0;
    if (!protobuf && !is_json) {
      std::lock_guard<std::mutex> g(decode_mutex);
      ++requests_bad;
      res.status = 415;
      res.set_content(cat("unsupported Content-Type '", type, "': use application/x-protobuf or application/json\n"),
                      "text/plain");
      return;
    }
    bool full = false;
    {
      std::lock_guard<std::mutex> g(queue_mutex);
      full = queued_records >= options.max_queued_records;
    }
    if (full) {  // (lock order: decode_mutex before queue_mutex, never the other way round)
      std::lock_guard<std::mutex> g(decode_mutex);
      ++requests_busy;
      res.status = 503;
      res.set_header("Retry-After", "1");
      res.set_content("ingest queue full, retry later\n", "text/plain");
      return;
    }
    std::vector<Record> records;
    OtlpDecodeResult r;
    {
      std::lock_guard<std::mutex> g(decode_mutex);
      r = protobuf ? decoder.decode_protobuf(req.body, signal, records, cat("POST /v1/", otlp_signal_name(signal)))
                   : decoder.decode_json(req.body, signal, records, cat("POST /v1/", otlp_signal_name(signal)));
      if (!r.ok) {
        ++requests_bad;
        res.status = 400;
        res.set_content(cat("malformed OTLP ", otlp_signal_name(signal), " request: ", r.error, "\n"), "text/plain");
        return;
      }
      ++requests_ok;
      accepted[static_cast<int>(signal)] += r.records;
      RecordBatch batch;
      for (auto& rec : records) batch.push(std::move(rec));
      // enqueue inside the decode lock: the pipeline sees batches in the order their names were interned
      std::lock_guard<std::mutex> q(queue_mutex);
      queued_records += static_cast<std::int64_t>(batch.size());
      queue.emplace_back(std::move(batch), Clock::now());
    }
    queue_cv.notify_one();
    res.status = 200;
    res.set_content(encode_otlp_response(signal, r.rejected, r.first_reject, protobuf),
                    protobuf ? "application/x-protobuf" : "application/json");
  }

  void run_pipeline() {
    for (;;) {
      std::pair<RecordBatch, Clock::time_point> item;
      bool flush = false;
      {
        std::unique_lock<std::mutex> g(queue_mutex);
        queue_cv.wait(g, [&] { return stopping || !queue.empty() || flush_requested; });
        if (queue.empty() && !flush_requested) return;  // stopping
        if (!queue.empty()) {
          item = std::move(queue.front());
          queue.pop_front();
          queued_records -= static_cast<std::int64_t>(item.first.size());
        } else {
          flush = true;
          flush_requested = false;
        }
        busy = true;
      }
      {
        std::lock_guard<std::mutex> s(state_mutex);
        {
          std::lock_guard<std::mutex> d(decode_mutex);
          sync_catalog(decode_catalog, catalog);
        }
        try {
          if (flush) online->finish();
          else online->push(item.first);
          const size_t decided = online->timeline().size() - online->first_new();
          persist(decided, flush);
          if (!flush && decided > 0) {
            const double s = std::chrono::duration<double>(Clock::now() - item.second).count();
            for (size_t k = 0; k < decided; ++k) latency.add(s);
          }
        } catch (const std::exception& e) {
          // one bad batch must not stop the server: counted and shown in /api/stats
          pipeline_error = e.what();
          std::fprintf(stderr, "serve: pipeline error: %s\n", e.what());
        }
      }
      {
        std::lock_guard<std::mutex> g(queue_mutex);
        busy = false;
      }
      drained_cv.notify_all();
    }
  }

  json state_json(size_t last) {
    std::lock_guard<std::mutex> s(state_mutex);
    const DetectResult r = online->result();
    const auto& tl = r.timeline;
    json slices = json::array();
    for (size_t i = tl.size() > last ? tl.size() - last : 0; i < tl.size(); ++i) slices.push_back(to_json(tl[i]));
    const OnlineCounters c = online->counters();
    size_t open = 0;
    for (const auto& inc : r.incidents) open += inc.open;
    return {{"model", model_dir},
            {"watermark", unix_s(c.watermark)},
            {"last_decided", unix_s(c.last_decided)},
            {"slices_decided", tl.size()},
            {"open_incidents", open},
            {"incidents", r.incidents.size()},
            {"metric_warmup", to_json(r.warmup)},
            {"slices", slices}};
  }

  json incidents_json() {
    std::lock_guard<std::mutex> s(state_mutex);
    DetectResult r = online->result();
    r.model = model_dir;
    r.data = "otlp stream";
    r.format = "otlp";
    return to_json(r);
  }

  json stats_json() {
    json j;
    {
      std::lock_guard<std::mutex> g(decode_mutex);
      const double up = std::chrono::duration<double>(Clock::now() - started).count();
      json acc = json::object(), rates = json::object();
      for (int s = 0; s < 3; ++s) {
        acc[otlp_signal_name(static_cast<OtlpSignal>(s))] = accepted[s];
        rates[otlp_signal_name(static_cast<OtlpSignal>(s))] = up > 0 ? static_cast<double>(accepted[s]) / up : 0.0;
      }
      j["uptime_s"] = up;
      j["accepted"] = acc;
      j["rate_per_s"] = rates;
      j["rejected"] = parse_stats.rejected;
      j["rejected_by_reason"] = parse_stats.by_reason;
      j["rejected_examples"] = parse_stats.examples;
      j["requests"] = {{"ok", requests_ok},
                       {"bad", requests_bad},
                       {"busy", requests_busy},
                       {"unauthorised", requests_unauthorised}};
    }
    {
      std::lock_guard<std::mutex> g(queue_mutex);
      j["queue"] = {{"records", queued_records}, {"batches", queue.size()}, {"max_records", options.max_queued_records}};
    }
    {
      std::lock_guard<std::mutex> s(state_mutex);
      const OnlineCounters c = online->counters();
      j["pipeline"] = {{"records", c.records},
                       {"slices", c.slices},
                       {"pending_slices", c.pending_slices},
                       {"alarms", c.alarms},
                       {"incidents", online->incidents().size()},
                       {"ranker_fits", c.ranker_fits},
                       {"released_slices", c.released_slices},
                       {"prior_held_slices", c.prior_held_slices},
                       {"resumed_slices", c.resumed_slices},
                       {"resumed_skipped", c.resumed_skipped},
                       {"knn_references_added", c.knn_references_added},
                       {"late_records", c.slicer.late_records},
                       {"late_examples", c.slicer.late_examples},
                       {"duplicates", c.slicer.duplicates},
                       {"clock_outliers", c.slicer.clock_outliers},
                       {"clock_outlier_examples", c.slicer.outlier_examples},
                       {"time_jumps", c.slicer.time_jumps},
                       {"empty_windows", c.slicer.empty_windows},
                       {"edge_windows", c.slicer.edge_windows},
                       {"watermark", unix_s(c.watermark)},
                       {"last_decided", unix_s(c.last_decided)},
                       {"decision_latency_p50_s", latency.quantile(0.5)},
                       {"decision_latency_p99_s", latency.quantile(0.99)},
                       {"error", pipeline_error},
                       {"store", store ? store->path() : ""},
                       {"store_error", store_error}};
    }
    return j;
  }

  std::string prometheus() {
    const json s = stats_json();
    std::ostringstream o;
    auto metric = [&](const char* name, const char* type, const char* help) {
      o << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
    };
    metric("rslicer_records_accepted_total", "counter", "Records decoded and queued, per OTLP signal.");
    for (auto& [sig, n] : s["accepted"].items()) o << "rslicer_records_accepted_total{signal=\"" << sig << "\"} " << n << "\n";
    metric("rslicer_records_rejected_total", "counter", "Records rejected while decoding, per reason.");
    for (auto& [reason, n] : s["rejected_by_reason"].items())
      o << "rslicer_records_rejected_total{reason=\"" << reason << "\"} " << n << "\n";
    metric("rslicer_requests_total", "counter", "Export requests by outcome.");
    for (auto& [k, n] : s["requests"].items()) o << "rslicer_requests_total{outcome=\"" << k << "\"} " << n << "\n";
    metric("rslicer_queue_records", "gauge", "Records waiting for the pipeline.");
    o << "rslicer_queue_records " << s["queue"]["records"] << "\n";
    const json& p = s["pipeline"];
    metric("rslicer_late_records_total", "counter", "Records that arrived after their windows closed (dropped).");
    o << "rslicer_late_records_total " << p["late_records"] << "\n";
    metric("rslicer_clock_outliers_total", "counter",
           "Records far from the data's time (slice.max_future_skew_s), never confirmed, dropped.");
    o << "rslicer_clock_outliers_total " << p["clock_outliers"] << "\n";
    metric("rslicer_duplicate_records_total", "counter", "Duplicate records dropped by the slicer.");
    o << "rslicer_duplicate_records_total " << p["duplicates"] << "\n";
    metric("rslicer_slices_total", "counter", "Slices decided.");
    o << "rslicer_slices_total " << p["slices"] << "\n";
    metric("rslicer_alarms_total", "counter", "Slices that raised an alarm.");
    o << "rslicer_alarms_total " << p["alarms"] << "\n";
    metric("rslicer_incidents_total", "counter", "Incidents reported.");
    o << "rslicer_incidents_total " << p["incidents"] << "\n";
    metric("rslicer_knn_references_added", "gauge",
           "Normal references the AD kNN took from this stream (heads.ad.online; at most heads.ad.online_max).");
    o << "rslicer_knn_references_added " << p["knn_references_added"] << "\n";
    metric("rslicer_watermark_seconds", "gauge", "Newest record time seen (Unix seconds, data time).");
    o << "rslicer_watermark_seconds " << p["watermark"] << "\n";
    metric("rslicer_decision_latency_seconds", "summary",
           "Wall time from a request's arrival to the decisions it completed (last 4096 decisions).");
    o << "rslicer_decision_latency_seconds{quantile=\"0.5\"} " << p["decision_latency_p50_s"] << "\n";
    o << "rslicer_decision_latency_seconds{quantile=\"0.99\"} " << p["decision_latency_p99_s"] << "\n";
    return o.str();
  }

  std::string timeline_svg() {
    std::lock_guard<std::mutex> s(state_mutex);
    const DetectResult r = online->result();
    const auto& tl = r.timeline;
    // the last day of decisions
    std::vector<html::TimelineRow> rows;
    const TimeUs from = tl.empty() ? 0 : tl.back().end - 86400LL * kUsPerSecond;
    const double stride = pipeline->model().config().slice.window_stride_s;
    const TimeUs stride_us = static_cast<TimeUs>(stride * kUsPerSecond);
    for (const auto& p : tl)
      if (p.end > from) rows.push_back({p.end - stride_us, p.score, p.threshold, p.alarm, false, p.state});
    std::vector<html::TimelineMark> marks;
    for (const auto& inc : r.incidents)
      if (inc.end > from)
        marks.push_back({inc.onset, cat("incident ", inc.root_causes.empty() ? "" : inc.root_causes[0].entity),
                         "#6a3d9a"});
    return html::timeline_svg(rows, marks, stride);
  }

  void routes() {
    http.set_payload_max_length(options.max_body_bytes);
    http.set_tcp_nodelay(true);  // small responses must not wait for delayed ACKs (40 ms per request otherwise)
    http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (authorised(req)) return httplib::Server::HandlerResponse::Unhandled;
      {
        std::lock_guard<std::mutex> g(decode_mutex);
        ++requests_unauthorised;
      }
      res.status = 401;
      res.set_header("WWW-Authenticate", "Bearer");
      res.set_content("missing or wrong bearer token\n", "text/plain");
      return httplib::Server::HandlerResponse::Handled;
    });
    if (options.log_requests)
      http.set_logger([](const httplib::Request& req, const httplib::Response& res) {
        std::fprintf(stderr, "%s %s -> %d (%zu bytes)\n", req.method.c_str(), req.path.c_str(), res.status,
                     req.body.size());
      });
    http.Post("/v1/traces", [this](const httplib::Request& q, httplib::Response& r) { ingest(q, r, OtlpSignal::kTraces); });
    http.Post("/v1/metrics", [this](const httplib::Request& q, httplib::Response& r) { ingest(q, r, OtlpSignal::kMetrics); });
    http.Post("/v1/logs", [this](const httplib::Request& q, httplib::Response& r) { ingest(q, r, OtlpSignal::kLogs); });
    http.Get("/api/state", [this](const httplib::Request& q, httplib::Response& r) {
      size_t last = 60;
      if (q.has_param("last")) {  // a whole number of slices, 0 for none
        const std::string v = q.get_param_value("last");
        const auto n = parse_int(v);
        if (!n || *n < 0) {
          r.status = 400;
          r.set_content(cat("/api/state: last must be a whole number of slices (0 or more), got '", v, "'\n"),
                        "text/plain");
          return;
        }
        last = static_cast<size_t>(*n);
      }
      r.set_content(state_json(last).dump(), "application/json");
    });
    http.Get("/api/incidents", [this](const httplib::Request&, httplib::Response& r) {
      r.set_content(incidents_json().dump(), "application/json");
    });
    http.Get("/api/stats", [this](const httplib::Request&, httplib::Response& r) {
      r.set_content(stats_json().dump(2), "application/json");
    });
    http.Get("/api/timeline.svg", [this](const httplib::Request&, httplib::Response& r) {
      r.set_content(timeline_svg(), "image/svg+xml");
    });
    http.Get("/metrics", [this](const httplib::Request&, httplib::Response& r) {
      r.set_content(prometheus(), "text/plain; version=0.0.4");
    });
    http.Get("/", [](const httplib::Request&, httplib::Response& r) {
      r.set_content(render_dashboard_html(), "text/html; charset=utf-8");
    });
    http.Post("/api/flush", [this](const httplib::Request&, httplib::Response& r) {
      {
        std::lock_guard<std::mutex> g(queue_mutex);
        flush_requested = true;
      }
      queue_cv.notify_one();
      wait_drained();
      r.set_content(state_json(1).dump(), "application/json");
    });
    http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
      std::string what = "unknown error";
      try {
        std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      res.status = 500;
      res.set_content("internal error: " + what + "\n", "text/plain");
    });
  }

  void wait_drained() {
    std::unique_lock<std::mutex> g(queue_mutex);
    drained_cv.wait(g, [&] { return stopping || (queue.empty() && !busy && !flush_requested); });
  }
};

Server::Server(std::unique_ptr<Pipeline> pipeline, ServeOptions options, std::string model_dir)
    : impl_(std::make_unique<Impl>(std::move(pipeline), std::move(options), std::move(model_dir))) {}

Server::~Server() { stop(); }

int Server::start() {
  Impl& im = *impl_;
  im.routes();
  if (im.options.port == 0) {
    im.port = im.http.bind_to_any_port(im.options.host);
  } else {
    im.port = im.http.bind_to_port(im.options.host, im.options.port) ? im.options.port : -1;
  }
  RSLICER_CHECK(im.port > 0, IoError, "serve: cannot listen on ", im.options.host, ":", im.options.port,
                " (in use, or not an address of this machine)");
  im.pipeline_thread = std::thread([&im] { im.run_pipeline(); });
  im.http_thread = std::thread([&im] { im.http.listen_after_bind(); });
  return im.port;
}

void Server::wait() {
  if (impl_->http_thread.joinable()) impl_->http_thread.join();
}

void Server::drain() { impl_->wait_drained(); }

void Server::stop() {
  Impl& im = *impl_;
  im.http.stop();
  if (im.http_thread.joinable()) im.http_thread.join();
  {
    std::lock_guard<std::mutex> g(im.queue_mutex);
    im.stopping = true;
  }
  im.queue_cv.notify_all();
  im.drained_cv.notify_all();
  if (im.pipeline_thread.joinable()) {
    im.pipeline_thread.join();
    std::lock_guard<std::mutex> s(im.state_mutex);
    im.persist(0, true);  // the learned state as it stands
  }
}

}  // namespace rslicer
