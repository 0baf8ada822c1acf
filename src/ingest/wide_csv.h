// Wide CSV metrics (private to src/ingest), shared by the widecsv and rcaeval
// readers: a time column and one column per entity x KPI, named
// <entity>_<kpi> (split at the first '_') unless a mapping file
// (columns.csv / columns.json) says otherwise. Also the row-by-row CSV
// stream both readers build on (field counts, time units, rejections with
// file:line) and a scan of a stream's time range. See docs/formats.md.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/csv.h"
#include "core/parse_stats.h"
#include "core/time.h"
#include "telemetry/stream.h"

namespace rslicer::ingest_detail {

// Where a stream puts what it reads; scans use throw-away counters.
struct CsvSink {
  Catalog* catalog;
  ParseStats* stats;
  ReadCounts* counts;
  bool account_file;  // count files_read / bytes_read at the end
};

// Reads a CSV file row by row: skips the header, counts and skips blank,
// unterminated and wrong-length rows, and hands each well-formed row to
// row(). Subclasses emit records (several per row through pending_).
class CsvRowStream : public RecordStream {
 public:
  CsvRowStream(std::string path, size_t field_count, CsvSink sink, std::int64_t row_limit = -1);
  bool next(Record& out) override;

 protected:
  // Turns the current row (fields_) into records: true with `out` set,
  // false when the row gave none (after counting why).
  virtual bool row(Record& out) = 0;

  std::string_view field(int i) const { return fields_[static_cast<size_t>(i)]; }
  void reject(const char* category, const std::string& detail);
  // An epoch number (unit by magnitude, fixed per column by its first row)
  // or date-time text; false after rejecting the row ("bad_time", "time_unit").
  bool parse_time(int column, const char* name, TimeUs& out);

  // Reads rows until one has the header's field count, counting and skipping
  // blank, unterminated and short or long rows; false at the end of the file,
  // at the row limit or after a read error (counted).
  bool next_well_formed_row();
  std::int64_t line_number() const { return csv_ ? csv_->line_number() : 0; }  // of the current row

  std::string path_;
  CsvSink sink_;
  std::deque<Record> pending_;
  std::vector<std::string_view> fields_;

 private:
  void finish();

  size_t count_;
  std::int64_t row_limit_, rows_ = 0;
  std::unique_ptr<CsvReader> csv_;
  std::unordered_map<int, EpochUnit> units_;
  bool done_ = false;
};

// The header of a CSV file: fields trimmed, BOM removed, case kept. False
// for an empty file; throws IoError when unreadable.
bool read_csv_header(const std::string& path, std::vector<std::string>& out);

// time, timestamp, ts, date, datetime (any case).
bool is_time_column_name(std::string_view name);

// Entity kind of a wide-CSV entity: node for an IPv4 address, node-<n> or
// a KPI starting with "node-"/"node_"; pod when the name has a Kubernetes
// pod suffix (service_of_pod(name) != name); else service.
EntityKind wide_entity_kind(std::string_view entity, std::string_view kpi);

// A mapping file's entry for one column.
struct ColumnMapping {
  std::string entity, kpi;
  std::optional<EntityKind> kind;
};
using ColumnMap = std::unordered_map<std::string, ColumnMapping>;  // column name -> mapping

// columns.csv (header column,entity,kpi[,kind]) or columns.json (an object
// {"<column>": {"entity": .., "kpi": .., "kind": ..}} or an array of objects
// with a "column" key). Bad entries are counted (bad_mapping) and left out.
ColumnMap read_column_map(const std::string& path, ParseStats& stats);
bool is_column_map_name(const std::string& path);

// A wide CSV file's columns.
struct WideFile {
  std::string path;
  size_t count = 0;  // fields in the header
  int time_col = -1;
  struct Kpi {
    int col;
    std::string entity, kpi;
    EntityKind kind;
  };
  std::vector<Kpi> kpis;
  std::vector<std::string> unmapped;    // names of columns no rule or mapping maps
  std::vector<std::string> extra_time;  // time columns after the first (pandas' duplicate "time.1")
};

// The layout of a header, nullopt when it has no time column. `map` (may be
// null) overrides the <entity>_<kpi> rule column by column.
std::optional<WideFile> wide_layout(const std::string& path, const std::vector<std::string>& header,
                                    const ColumnMap* map);
// Counts each unmapped column (unmapped_column, at the header line) and
// notes ignored extra time columns.
void report_wide_layout(const WideFile& f, ParseStats& stats);

// Streams a wide file's points, one per finite cell.
std::unique_ptr<RecordStream> open_wide_stream(const WideFile& f, CsvSink sink, std::int64_t row_limit = -1);

}  // namespace rslicer::ingest_detail
