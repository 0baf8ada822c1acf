// Streams of telemetry records: the typed batches readers hand over, the
// RecordStream interface every reader and the simulator implement, and
// TelemetrySource (a dataset: its fault labels, its catalog, one merged
// stream). No reader lives here (ingest/ has them), so the simulator and
// the slicer depend on the record model only.
#pragma once

#include <algorithm>
#include <climits>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/parse_stats.h"
#include "telemetry/record.h"

namespace rslicer {

// Records of every modality, one vector each. Within a modality records
// keep the order of the stream they came from.
struct RecordBatch {
  std::vector<MetricPoint> metrics;
  std::vector<Span> spans;
  std::vector<LogRecord> logs;

  size_t size() const { return metrics.size() + spans.size() + logs.size(); }
  bool empty() const { return size() == 0; }
  void clear() {
    metrics.clear();
    spans.clear();
    logs.clear();
  }
  void push(Record&& r);
};

// Calls `fn` (overloaded or generic: MetricPoint&&, Span&&, LogRecord&&) on
// every record of `batch` in time order across modalities (a three-way
// merge; ties go metrics, spans, logs), moving them out.
template <typename Fn>
void for_each_in_time_order(RecordBatch& batch, Fn&& fn) {
  size_t i = 0, j = 0, k = 0;
  const size_t ni = batch.metrics.size(), nj = batch.spans.size(), nk = batch.logs.size();
  constexpr TimeUs kEnd = INT64_MAX;
  while (i < ni || j < nj || k < nk) {
    const TimeUs tm = i < ni ? batch.metrics[i].time : kEnd;
    const TimeUs ts = j < nj ? batch.spans[j].start : kEnd;
    const TimeUs tl = k < nk ? batch.logs[k].time : kEnd;
    if (tm <= ts && tm <= tl) {
      // Metric points come in runs of one row: stay on them while they lead.
      const TimeUs bound = std::min(ts, tl);
      do fn(std::move(batch.metrics[i++]));
      while (i < ni && batch.metrics[i].time <= bound);
    } else if (ts <= tl) {
      fn(std::move(batch.spans[j++]));
    } else {
      fn(std::move(batch.logs[k++]));
    }
  }
  batch.clear();
}

// A stream of records. Each stream yields records in (approximately)
// non-decreasing time; the slicer tolerates bounded disorder.
class RecordStream {
 public:
  virtual ~RecordStream() = default;
  // Next record, or false at end. Problems are counted in the ParseStats
  // the stream was created with.
  virtual bool next(Record& out) = 0;
  // Appends the next records (a bounded number, in stream order within each
  // modality) to `out`; false when the stream had none left. The default
  // calls next(); streams on the hot path produce typed records directly.
  // A stream is read through next() or next_batch(), not both.
  virtual bool next_batch(RecordBatch& out);
};

using StreamFactory = std::function<std::unique_ptr<RecordStream>()>;

// A stream that produces batches (next_batch); next() hands each batch's
// records out one by one, in time order across modalities.
class BatchedStream : public RecordStream {
 public:
  bool next(Record& out) final;
  bool next_batch(RecordBatch& out) override = 0;

 private:
  std::vector<Record> buffer_;  // the current batch, for next()
  size_t pos_ = 0;
};

// Reads all of `inner` (on the first next()) and hands its records back in
// time order (stable). For a file whose rows are not in time order; memory:
// that file's records.
class SortedStream : public RecordStream {
 public:
  explicit SortedStream(std::unique_ptr<RecordStream> inner) : inner_(std::move(inner)) {}
  bool next(Record& out) override;

 private:
  std::unique_ptr<RecordStream> inner_;
  std::vector<Record> records_;
  size_t pos_ = 0;
  bool loaded_ = false;
};

// Runs `inner` on a reader thread and hands its records over in batches, so
// parsing (one core) overlaps with whatever consumes the stream (the other).
// Contract: until next() has returned false, the reader thread writes the
// source's Catalog, ParseStats and ReadCounts; the consumer must not read
// them before then. Exceptions on the reader thread are rethrown by next().
class PrefetchStream : public BatchedStream {
 public:
  explicit PrefetchStream(std::unique_ptr<RecordStream> inner, size_t batch_size = 8192, size_t max_batches = 4);
  ~PrefetchStream() override;
  bool next_batch(RecordBatch& out) override;

 private:
  bool take(RecordBatch& out);  // the next ready batch, swapped into out
  struct State;
  std::unique_ptr<State> state_;
};
// Counts of what was read, per modality (after rejection, before dedup).
struct ReadCounts {
  std::int64_t metric_rows = 0;     // CSV rows / OTLP data points groups read
  std::int64_t metric_points = 0;   // (time, entity, kpi, value) points emitted
  std::int64_t metric_non_finite = 0;  // NaN / inf values counted and skipped
  std::int64_t spans = 0;
  std::int64_t log_records = 0;

  void add(const ReadCounts& o) {
    metric_rows += o.metric_rows;
    metric_points += o.metric_points;
    metric_non_finite += o.metric_non_finite;
    spans += o.spans;
    log_records += o.log_records;
  }
};

class TelemetrySource {
 public:
  virtual ~TelemetrySource() = default;
  virtual std::string format() const = 0;
  // All fault labels of the dataset, sorted by start time.
  virtual std::vector<FaultEvent> faults() = 0;
  // One merged stream over every modality and file. Call once.
  virtual std::unique_ptr<RecordStream> open() = 0;

  Catalog& catalog() { return catalog_; }
  ParseStats& stats() { return stats_; }
  ReadCounts& counts() { return counts_; }

 protected:
  Catalog catalog_;
  ParseStats stats_;
  ReadCounts counts_;
};

// Sees every record of a pass once (dataset/dataset.h calls it before the
// record is sliced): raw tables for the baselines and the root-cause
// evidence are built this way, in the same pass as the slices. `catalog` is
// the source's and may grow between calls.
class RecordObserver {
 public:
  virtual ~RecordObserver() = default;
  virtual void metric(const MetricPoint&, const Catalog&) {}
  virtual void span(const Span&, const Catalog&) {}
  virtual void log(const LogRecord&, const Catalog&) {}
  virtual void finish(const Catalog&) {}  // after the last record
};

// A stream over records already in memory (sorted by time on construction).
std::unique_ptr<RecordStream> make_vector_stream(std::vector<Record> records);

// The records of one dataset held in memory (the simulator's output, what
// the writers write). Names are resolved through `catalog`.
struct DatasetRecords {
  const Catalog* catalog = nullptr;
  std::vector<MetricPoint> metrics;
  std::vector<Span> spans;
  std::vector<LogRecord> logs;
  std::vector<FaultEvent> faults;
};

}  // namespace rslicer
