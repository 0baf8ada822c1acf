// Helpers shared by the aiops22 and otlp readers and the writers (private to
// src/ingest): a merge that opens files only when the stream reaches their
// first record, a sorted recursive file listing, the span error rule and
// shortest round-trip number formatting.
#pragma once

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/parse_stats.h"
#include "core/strings.h"
#include "core/time.h"
#include "ingest/source.h"

namespace rslicer::ingest_detail {

// One file's stream, opened lazily. `first_time` is the time of its first
// valid record (found by a cheap peek); files with no valid record use the
// minimum so they are read (and their bad lines counted) first.
struct LazyPart {
  TimeUs first_time = std::numeric_limits<TimeUs>::min();
  StreamFactory open;
};

// K-way merge that keeps only the files whose time range has been reached
// open: a part is opened when the earliest buffered record is not earlier
// than its first_time. Memory is bounded by the files overlapping in time,
// not by the number of files (a multi-day dataset with hundreds of files).
class LazyMergeStream : public RecordStream {
 public:
  explicit LazyMergeStream(std::vector<LazyPart> parts) : parts_(std::move(parts)) {
    std::stable_sort(parts_.begin(), parts_.end(),
                     [](const LazyPart& a, const LazyPart& b) { return a.first_time < b.first_time; });
  }

  bool next(Record& out) override {
    while (next_part_ < parts_.size() && (heap_.empty() || parts_[next_part_].first_time <= record_time(heap_.front().record))) {
      open_part(next_part_++);
    }
    if (heap_.empty()) return false;
    std::pop_heap(heap_.begin(), heap_.end(), Later{});
    Head& h = heap_.back();
    out = std::move(h.record);
    if (streams_[h.stream]->next(h.record)) {
      std::push_heap(heap_.begin(), heap_.end(), Later{});
    } else {
      streams_[h.stream].reset();
      heap_.pop_back();
    }
    return true;
  }

 private:
  struct Head {
    Record record;
    size_t stream;
  };
  struct Later {
    bool operator()(const Head& a, const Head& b) const {
      const TimeUs ta = record_time(a.record), tb = record_time(b.record);
      if (ta != tb) return ta > tb;
      return a.stream > b.stream;  // deterministic: earlier-opened stream first
    }
  };

  void open_part(size_t i) {
    std::unique_ptr<RecordStream> s = parts_[i].open();
    parts_[i].open = nullptr;  // release the factory's captures
    if (!s) return;
    Head h{Record{}, streams_.size()};
    const bool has = s->next(h.record);
    streams_.push_back(has ? std::move(s) : nullptr);
    if (has) {
      heap_.push_back(std::move(h));
      std::push_heap(heap_.begin(), heap_.end(), Later{});
    }
  }

  std::vector<LazyPart> parts_;
  size_t next_part_ = 0;
  std::vector<std::unique_ptr<RecordStream>> streams_;
  std::vector<Head> heap_;
};

// Regular files under `root` (recursive, symlinks followed, unreadable
// folders skipped) whose lower-cased name ends with one of `suffixes`,
// sorted by path. `root` may also be a single file.
inline std::vector<std::string> list_files(const std::string& root, const std::vector<std::string>& suffixes) {
  namespace fs = std::filesystem;
  std::vector<std::string> out;
  auto matches = [&](const fs::path& p) {
    const std::string name = to_lower(p.filename().string());
    for (const auto& s : suffixes)
      if (ends_with(name, s)) return true;
    return false;
  };
  std::error_code ec;
  if (fs::is_regular_file(root, ec)) {
    if (matches(root)) out.push_back(root);
    return out;
  }
  if (!fs::is_directory(root, ec)) return out;
  fs::recursive_directory_iterator it(root, fs::directory_options::follow_directory_symlink |
                                                fs::directory_options::skip_permission_denied, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code fec;
    if (it->is_regular_file(fec) && matches(it->path())) out.push_back(it->path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Entity names shared by the CSV readers.
inline bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

inline bool is_ipv4(std::string_view s) {
  const auto parts = split(s, '.');
  if (parts.size() != 4) return false;
  for (auto p : parts)
    if (!all_digits(p) || p.size() > 3) return false;
  return true;
}

// "node-1", "node1" or an IPv4 address.
inline bool is_node_name(std::string_view s) {
  if (is_ipv4(s)) return true;
  if (!starts_with(s, "node")) return false;
  std::string_view rest = s.substr(4);
  if (!rest.empty() && rest.front() == '-') rest.remove_prefix(1);
  return all_digits(rest);
}

// Entity kind of a bare name: node names as above; names with a pod suffix
// ("adservice-0", "ts-x-7f8d7d756d-k7b9j") are pods; anything else
// ("adservice") is a service.
inline EntityKind kind_of_name(std::string_view name) {
  if (is_node_name(name)) return EntityKind::kNode;
  if (service_of_pod(name) != name) return EntityKind::kPod;
  return EntityKind::kService;
}

// Sorting files whose time goes back: a file going back by more than this is
// read whole and sorted in memory before it joins the merge; smaller jitter
// is left to the slicer's allowed lateness (120 s by default).
constexpr TimeUs kSortThreshold = 60 * kUsPerSecond;

// One pass over a stream: its time range and its largest step back in time.
struct TimeScan {
  TimeUs min_time = std::numeric_limits<TimeUs>::min(), max_time = std::numeric_limits<TimeUs>::min();
  TimeUs max_back = 0;
  bool any = false;
};

inline TimeScan scan_times(RecordStream& s) {
  TimeScan o;
  Record r;
  TimeUs newest = std::numeric_limits<TimeUs>::min();
  while (s.next(r)) {
    const TimeUs t = record_time(r);
    if (!o.any) o.min_time = o.max_time = t;
    o.any = true;
    o.min_time = std::min(o.min_time, t);
    o.max_time = std::max(o.max_time, t);
    if (t < newest) o.max_back = std::max(o.max_back, newest - t);
    newest = std::max(newest, t);
  }
  return o;
}

// Whether a file going back in time by `max_back` is sorted; when it is, a note names it.
inline bool sort_when_disordered(const std::string& path, TimeUs max_back, const char* what, ParseStats& stats) {
  if (max_back <= kSortThreshold) return false;
  if (stats.notes.size() < ParseStats::max_examples)
    stats.notes.push_back(cat(path, ": ", what, " not in time order (time goes back by up to ",
                              max_back >= 86400 * kUsPerSecond
                                  ? cat(max_back / (86400 * kUsPerSecond), " days")
                                  : cat(std::llround(static_cast<double>(max_back) / kUsPerSecond), " s"),
                              "); the file is sorted in memory"));
  return true;
}

// `s`, sorted in memory when `sorted`.
inline std::unique_ptr<RecordStream> sorted_if(bool sorted, std::unique_ptr<RecordStream> s) {
  if (sorted) return std::make_unique<SortedStream>(std::move(s));
  return s;
}

// Lower-cased name of the folder holding `path` ("container" for
// .../metric/container/kpi_x.csv).
inline std::string parent_dir_name(const std::string& path) {
  return to_lower(std::filesystem::path(path).parent_path().filename().string());
}

// The span error rule shared by the aiops22 reader/writer and the otlp
// reader/writer, for a numeric protocol status: HTTP 5xx, or a gRPC code
// that OpenTelemetry marks as a server error (UNKNOWN 2, DEADLINE_EXCEEDED 4,
// UNIMPLEMENTED 12, INTERNAL 13, UNAVAILABLE 14, DATA_LOSS 15). HTTP 4xx and
// client-side gRPC codes (NOT_FOUND, INVALID_ARGUMENT, ...) are not errors.
inline bool status_implies_error(std::int64_t code) {
  return code >= 500 || code == 2 || code == 4 || code == 12 || code == 13 || code == 14 || code == 15;
}

// Shortest text that parses back to exactly `v` ("0.1", "1e+20", "NaN").
inline std::string format_double(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, res.ptr);
}

}  // namespace rslicer::ingest_detail
