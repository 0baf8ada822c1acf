#include "serve/replay.h"

#include <array>
#include <type_traits>

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

}  // namespace rslicer
