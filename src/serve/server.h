// `rslicer serve`: an OTLP/HTTP receiver in front of the online pipeline
// (api/online.h), with live results.
//
//   POST /v1/traces, /v1/metrics, /v1/logs   OTLP/HTTP export requests, application/x-protobuf or
//                                            application/json, gzip or not (Content-Encoding)
//   GET  /api/state       the newest decided slices (state, score, threshold, alarm) and the stream's clock
//   GET  /api/incidents   detect's incidents.json schema (open incidents have "open": true)
//   GET  /api/stats       records accepted per signal, rejected by reason, late, queue depth, rates
//   GET  /metrics         Prometheus text about the server itself
//   GET  /                the dashboard (state timeline, incidents with ranked root causes and evidence)
//   POST /api/flush       end of a replay: closes every open window now
//
// Threads: HTTP handlers decode a request (under one decoder lock, so the
// records' name ids are assigned in arrival order) and queue its records;
// one pipeline thread takes them in that order and runs the online pipeline.
// The queue is bounded (records): a full queue answers 503 with
// Retry-After, as OTLP/HTTP asks of a server under back-pressure.
// Windows close by the data's own time (allowed lateness), never by the
// wall clock: a replay at full speed decides exactly like `detect --online`.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "api/online.h"

namespace rslicer {

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 4318;                      // OTLP/HTTP's default port; 0 = any free port (tests)
  std::string token;                    // bearer token required on every request when not empty
  std::size_t max_body_bytes = 32u << 20;   // larger request bodies get 413 (after decompression)
  std::int64_t max_queued_records = 2000000;  // back-pressure bound of the ingest queue
  std::string store_dir;                // persistence (serve/store.h): decisions and learned state survive a
                                        // restart; "" = in memory only
  std::int32_t state_every = 10;        // the learned state is stored every this many decided slices
  OnlineOptions online;
  bool log_requests = false;            // one stderr line per request
};

class Server {
 public:
  Server(std::unique_ptr<Pipeline> pipeline, ServeOptions options, std::string model_dir = "");
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the port (IoError when it cannot) and starts serving on background threads; returns the bound port.
  int start();
  // Blocks until stop() (from a signal handler thread or another thread).
  void wait();
  void stop();
  // Waits until every queued record has gone through the pipeline (tests, flush).
  void drain();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The dashboard page: polls /api/state and /api/incidents (self-contained, no external scripts).
std::string render_dashboard_html();

}  // namespace rslicer
