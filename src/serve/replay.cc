#include "serve/replay.h"

#include <array>
#include <chrono>
#include <thread>
#include <type_traits>

#include <httplib.h>

#include "core/errors.h"

namespace rslicer {

void for_each_request(TelemetrySource& source, double chunk_s, std::size_t max_records,
                      const std::function<void(OtlpSignal, std::vector<Record>&&)>& fn) {
  const TimeUs span = static_cast<TimeUs>(chunk_s * kUsPerSecond);
  std::array<std::vector<Record>, 3> parts;  // by OtlpSignal
  std::size_t held = 0;
  TimeUs chunk_start = 0;
  auto flush = [&] {
    for (OtlpSignal s : {OtlpSignal::kMetrics, OtlpSignal::kTraces, OtlpSignal::kLogs}) {
      auto& p = parts[static_cast<int>(s)];
      if (!p.empty()) fn(s, std::move(p));
      p.clear();
    }
    held = 0;
  };
  auto stream = source.open();
  RecordBatch batch;
  while (stream->next_batch(batch)) {
    for_each_in_time_order(batch, [&](auto&& r) {
      const TimeUs t = record_time(r);
      if (held > 0 && (t - chunk_start >= span || held >= max_records)) flush();
      if (held == 0) chunk_start = t;
      using T = std::decay_t<decltype(r)>;
      const OtlpSignal s = std::is_same_v<T, MetricPoint> ? OtlpSignal::kMetrics
                           : std::is_same_v<T, Span>      ? OtlpSignal::kTraces
                                                          : OtlpSignal::kLogs;
      parts[static_cast<int>(s)].emplace_back(std::move(r));
      ++held;
    });
  }
  flush();
}

PostResult post_export(httplib::Client& client, const std::string& url, OtlpSignal signal, const std::string& body,
                       bool json, int max_retries) {
  const std::string path = cat("/v1/", otlp_signal_name(signal));
  PostResult r;
  for (;;) {
    auto res = client.Post(path.c_str(), body, json ? "application/json" : "application/x-protobuf");
    RSLICER_CHECK(res, IoError, "POST ", url, path, ": ",
                  res.error() == httplib::Error::Connection
                      ? std::string("cannot connect (is rslicer serve or a Collector listening there?)")
                      : "HTTP client error: " + httplib::to_string(res.error()));
    if ((res->status == 503 || res->status == 429) && r.retries < max_retries) {  // back-pressure
      ++r.retries;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    RSLICER_CHECK(res->status == 200, IoError, "POST ", url, path, ": HTTP ", res->status, ": ", res->body);
    r.partial = !res->body.empty() && res->body != "{}";  // an empty response is full success
    return r;
  }
}

}  // namespace rslicer
