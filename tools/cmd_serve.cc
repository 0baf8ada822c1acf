// rslicer serve --model MODEL_DIR [--listen 127.0.0.1:4318] [--token-file F] [--gap S] [--min-slices N]
//               [--root-causes N] [--set KEY=VALUE]
// An OTLP/HTTP receiver with live runtime state, alarms and ranked root causes (src/serve/server.h).
#include <csignal>
#include <cstdio>
#include <memory>

#include "command.h"
#include "core/errors.h"
#include "core/strings.h"
#include "data_path.h"
#include "incident_flags.h"
#include "serve/server.h"

namespace {

struct ServeFlags {
  std::string model;
  std::string listen = "127.0.0.1:4318";
  std::string token_file;
  std::string store;
  double lateness = -1;
  double max_body_mb = 32;
  std::int64_t max_queue = 2000000;
  bool log_requests = false;
  rslicer::cli::ConfigFlags<rslicer::DetectOptions> detect;  // how alarms become incidents, as for `detect`
};

RSLICER_COMMAND(
    "serve", "OTLP/HTTP endpoint with live runtime state, alarms and ranked root causes (dashboard at /)", 34,
    [](CLI::App& sub) {
      auto f = std::make_shared<ServeFlags>();
      sub.add_option("--model", f->model, "Model folder written by `rslicer train`")->required();
      sub.add_option("--listen", f->listen, "HOST:PORT to listen on (4318 is OTLP/HTTP's port)")
          ->default_val("127.0.0.1:4318");
      sub.add_option("--token-file", f->token_file,
                     "File holding a bearer token every request must carry (Authorization: Bearer TOKEN)");
      sub.add_option("--store", f->store,
                     "Folder for serve.db (SQLite): incidents, the timeline and the learned state survive a restart");
      sub.add_option("--allowed-lateness", f->lateness,
                     "Seconds a record may arrive behind the newest one before its window closes (default: the "
                     "model's)")
          ->check(CLI::Range(0.0, 86400.0));
      sub.add_option("--max-body-mb", f->max_body_mb, "Larger request bodies get 413")->check(CLI::Range(0.01, 4096.0));
      sub.add_option("--max-queue", f->max_queue, "Records queued for the pipeline before requests get 503")
          ->check(CLI::Range(static_cast<std::int64_t>(1000), static_cast<std::int64_t>(1) << 40));
      sub.add_flag("-v,--log-requests", f->log_requests, "One line per request on stderr");
      rslicer::cli::add_incident_flags(sub, f->detect);
      return [f]() {
        using namespace rslicer;
        ServeOptions o;
        const auto colon = f->listen.rfind(':');
        RSLICER_CHECK(colon != std::string::npos && colon > 0, InvalidInput, "--listen: expected HOST:PORT, got '",
                      f->listen, "'");
        o.host = f->listen.substr(0, colon);
        const auto port = parse_int(f->listen.substr(colon + 1));
        RSLICER_CHECK(port && *port >= 0 && *port < 65536, InvalidInput, "--listen: bad port in '", f->listen, "'");
        o.port = static_cast<int>(*port);
        if (!f->token_file.empty()) o.token = cli::read_token_file(f->token_file);
        o.max_body_bytes = static_cast<std::size_t>(f->max_body_mb * 1024 * 1024);
        o.max_queued_records = f->max_queue;
        o.online.allowed_lateness_s = f->lateness;
        f->detect.apply(o.online.detect);
        o.log_requests = f->log_requests;
        o.store_dir = f->store;
        // SIGINT / SIGTERM end the server: blocked here, awaited below (the server's threads inherit the mask)
        sigset_t signals;
        sigemptyset(&signals);
        sigaddset(&signals, SIGINT);
        sigaddset(&signals, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &signals, nullptr);
        Server server(Pipeline::load(f->model), o, f->model);
        const int bound = server.start();
        std::printf("serving model %s on http://%s:%d%s\n", f->model.c_str(), o.host.c_str(), bound,
                    o.store_dir.empty() ? " (in memory: --store keeps decisions across restarts)"
                                        : (" (store: " + o.store_dir + "/serve.db)").c_str());
        std::printf("  OTLP/HTTP: POST /v1/traces /v1/metrics /v1/logs (protobuf or JSON, gzip or not)\n");
        std::printf("  dashboard: http://%s:%d/   API: /api/state /api/incidents /api/stats   Prometheus: /metrics\n",
                    o.host.c_str(), bound);
        std::fflush(stdout);
        int sig = 0;
        sigwait(&signals, &sig);
        std::printf("stopping (signal %d)\n", sig);
        server.stop();
        return 0;
      };
    });

}  // namespace
