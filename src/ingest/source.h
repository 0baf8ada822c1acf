// Reading a dataset: a TelemetrySource (one per format) lists the dataset's
// fault labels and opens one merged, approximately time-ordered stream of
// records. Files are opened lazily, so memory is bounded by the open files'
// buffers and the merge heap, never by the dataset.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/parse_stats.h"
#include "ingest/record.h"

namespace rslicer {

// A stream of records. Each stream yields records in (approximately)
// non-decreasing time; the slicer tolerates bounded disorder.
class RecordStream {
 public:
  virtual ~RecordStream() = default;
  // Next record, or false at end. Problems are counted in the ParseStats
  // the stream was created with.
  virtual bool next(Record& out) = 0;
};

using StreamFactory = std::function<std::unique_ptr<RecordStream>()>;

// Reads streams one after another (for example per-minute files in order),
// opening each only when the previous one is exhausted.
class ChainStream : public RecordStream {
 public:
  explicit ChainStream(std::vector<StreamFactory> parts) : parts_(std::move(parts)) {}
  bool next(Record& out) override;

 private:
  std::vector<StreamFactory> parts_;
  size_t index_ = 0;
  std::unique_ptr<RecordStream> current_;
};

// K-way merge of streams by record time (min-heap on each stream's head).
class MergeStream : public RecordStream {
 public:
  explicit MergeStream(std::vector<std::unique_ptr<RecordStream>> streams);
  bool next(Record& out) override;

 private:
  // The heap orders small (time, stream) keys; each stream's head record
  // stays in heads_, so a pop moves one record, not O(log k) of them.
  std::vector<std::unique_ptr<RecordStream>> streams_;
  std::vector<Record> heads_;                          // heads_[i]: next record of stream i
  std::vector<std::pair<TimeUs, std::uint32_t>> heap_;  // min-heap via greater<>
  bool primed_ = false;
};

// Re-orders a stream whose records are out of order by at most `horizon`
// (per-minute files whose spans straddle minutes, grouped by trace): holds
// records in a min-heap until the newest time seen is `horizon` past them.
// Memory: the records of one horizon.
class ReorderStream : public RecordStream {
 public:
  ReorderStream(std::unique_ptr<RecordStream> inner, TimeUs horizon) : inner_(std::move(inner)), horizon_(horizon) {}
  bool next(Record& out) override;

 private:
  std::unique_ptr<RecordStream> inner_;
  TimeUs horizon_;
  std::vector<std::pair<TimeUs, std::uint64_t>> heap_;  // (time, slot), min-heap via greater<>
  std::vector<Record> slots_;
  std::vector<std::uint64_t> free_;
  TimeUs max_seen_ = 0;
  bool inner_done_ = false;
  std::uint64_t seq_ = 0;
};

// Runs `inner` on a reader thread and hands its records over in batches, so
// parsing (one core) overlaps with whatever consumes the stream (the other).
// Contract: until next() has returned false, the reader thread writes the
// source's Catalog, ParseStats and ReadCounts; the consumer must not read
// them before then. Exceptions on the reader thread are rethrown by next().
class PrefetchStream : public RecordStream {
 public:
  explicit PrefetchStream(std::unique_ptr<RecordStream> inner, size_t batch_size = 8192, size_t max_batches = 4);
  ~PrefetchStream() override;
  bool next(Record& out) override;

 private:
  struct State;
  std::unique_ptr<State> state_;
  std::vector<Record> current_;
  size_t pos_ = 0;
};

// Options shared by every reader.
struct ReadOptions {
  bool strict = false;                  // the first rejected record is an error
  double fault_duration_s = -1;         // label duration when the label has none; <0: the format's default
  bool read_metrics = true;             // skip a modality entirely when false
  bool read_traces = true;
  bool read_logs = true;
};

// Counts of what was read, per modality (after rejection, before dedup).
struct ReadCounts {
  std::int64_t metric_rows = 0;     // CSV rows / OTLP data points groups read
  std::int64_t metric_points = 0;   // (time, entity, kpi, value) points emitted
  std::int64_t metric_non_finite = 0;  // NaN / inf values counted and skipped
  std::int64_t spans = 0;
  std::int64_t log_records = 0;
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

// Known formats, for --format and error messages.
std::vector<std::string> known_formats();

// Guesses the format of a path (folder or file); throws InvalidInput naming
// the path and what was looked for when nothing matches.
std::string detect_format(const std::string& path);

// Opens a dataset. `format` empty or "auto" means detect. Throws
// InvalidInput for an unknown format or an empty/unreadable folder.
std::unique_ptr<TelemetrySource> open_source(const std::string& path, const std::string& format,
                                             const ReadOptions& options);

}  // namespace rslicer
