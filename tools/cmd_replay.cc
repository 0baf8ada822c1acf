// rslicer replay --data DIR --to URL [--protocol proto|json] [--speed X] [--token-file F]
// Sends recorded telemetry to an OTLP/HTTP endpoint (rslicer serve, a Collector) as an exporter would: in data
// time order, one request per signal per chunk of data time, optionally paced to X times real time.
#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>

#include <httplib.h>

#include "command.h"
#include "core/errors.h"
#include "core/progress.h"
#include "data_path.h"
#include "serve/replay.h"

namespace {

struct ReplayFlags {
  std::string data;
  std::string format = "auto";
  std::string to = "http://127.0.0.1:4318";
  std::string protocol = "proto";
  std::string token_file;
  double speed = 0;
  double chunk_s = 10;
  bool flush = false;
};

RSLICER_COMMAND(
    "replay", "Send recorded telemetry to an OTLP/HTTP endpoint (rslicer serve, a Collector) as an exporter would", 35,
    [](CLI::App& sub) {
      auto f = std::make_shared<ReplayFlags>();
      sub.add_option("--data", f->data, "Dataset folder or file (default: the bundled sample)");
      sub.add_option("--format", f->format, "nezha | aiops22 | otlp | auto")
          ->default_val("auto")
          ->check(CLI::IsMember({"auto", "nezha", "aiops22", "otlp", "rcaeval", "widecsv"}));
      sub.add_option("--to", f->to, "Endpoint base URL; requests go to URL/v1/traces, /v1/metrics, /v1/logs")
          ->default_val("http://127.0.0.1:4318");
      sub.add_option("--protocol", f->protocol, "proto (application/x-protobuf) or json")
          ->default_val("proto")
          ->check(CLI::IsMember({"proto", "json"}));
      sub.add_option("--speed", f->speed, "Data seconds per wall second (60: an hour in a minute); 0: as fast as "
                                          "the endpoint answers")
          ->check(CLI::Range(0.0, 1e9));
      sub.add_option("--chunk", f->chunk_s, "Seconds of data time per request")->check(CLI::Range(0.1, 3600.0));
      sub.add_option("--token-file", f->token_file, "File with a bearer token to send");
      sub.add_flag("--flush", f->flush, "At the end, POST URL/api/flush (rslicer serve: close every open window)");
      return [f]() {
        using namespace rslicer;
        using Clock = std::chrono::steady_clock;
        if (f->data.empty()) f->data = cli::default_data_path();
        const std::string token = f->token_file.empty() ? "" : cli::read_token_file(f->token_file);
        httplib::Client client(f->to);
        RSLICER_CHECK(client.is_valid(), InvalidInput, "--to: not an http URL: '", f->to, "'");
        client.set_keep_alive(true);
        client.set_tcp_nodelay(true);
        if (!token.empty()) client.set_bearer_token_auth(token);
        const bool json = f->protocol == "json";
        auto source = open_source(f->data, f->format, {});
        std::int64_t sent[3] = {};
        std::int64_t requests = 0;
        std::int64_t retries = 0;
        std::int64_t rejected = 0;
        TimeUs first_time = 0;
        const auto t0 = Clock::now();
        Progress bar("replay", -1, true, 2.0);
        for_each_request(*source, f->chunk_s, 20000, [&](OtlpSignal signal, std::vector<Record>&& records) {
          const TimeUs t = record_time(records.front());
          if (first_time == 0) first_time = t;
          if (f->speed > 0) {  // pace by data time
            const double due = static_cast<double>(t - first_time) / kUsPerSecond / f->speed;
            const double now = std::chrono::duration<double>(Clock::now() - t0).count();
            if (due > now) std::this_thread::sleep_for(std::chrono::duration<double>(due - now));
          }
          const std::string body = json ? encode_otlp_json(records, source->catalog(), signal)
                                        : encode_otlp_protobuf(records, source->catalog(), signal);
          const PostResult posted = post_export(client, f->to, signal, body, json);
          retries += posted.retries;
          rejected += posted.partial;
          sent[static_cast<int>(signal)] += static_cast<std::int64_t>(records.size());
          ++requests;
          bar.update(requests, cat(sent[0], " spans, ", sent[1], " metric points, ", sent[2], " log records, data time ",
                                   format_time(t)));
        });
        bar.finish(cat(requests, " requests"));
        if (f->flush) {
          auto res = client.Post("/api/flush");
          RSLICER_CHECK(res && res->status == 200, IoError, "POST ", f->to, "/api/flush failed");
        }
        const double s = std::chrono::duration<double>(Clock::now() - t0).count();
        std::printf("sent %lld spans, %lld metric points, %lld log records in %lld requests (%.1f s, %lld retried after "
                    "back-pressure) to %s\n",
                    static_cast<long long>(sent[0]), static_cast<long long>(sent[1]), static_cast<long long>(sent[2]),
                    static_cast<long long>(requests), s, static_cast<long long>(retries), f->to.c_str());
        if (rejected) std::printf("%lld responses reported rejected records (see the endpoint's stats)\n",
                                  static_cast<long long>(rejected));
        if (source->stats().rejected)
          std::printf("%lld records of the data were rejected while reading (rslicer inspect shows why)\n",
                      static_cast<long long>(source->stats().rejected));
        return 0;
      };
    });

}  // namespace
