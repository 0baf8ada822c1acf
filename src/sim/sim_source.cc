#include "sim/sim_source.h"

#include <algorithm>
#include <cstdint>

namespace rslicer::sim {

namespace {

class SimStream : public RecordStream {
 public:
  SimStream(const Simulator& sim, ReadCounts& counts) : sim_(sim), counts_(counts) {}

  bool next(Record& out) override {
    while (pos_ >= ready_.size()) {
      if (next_chunk_ >= sim_.num_chunks() && pending_.empty()) return false;
      refill();
    }
    out = std::move(ready_[pos_++]);
    switch (record_modality(out)) {
      case Modality::kMetrics:
        ++counts_.metric_points;
        break;
      case Modality::kTraces:
        ++counts_.spans;
        break;
      case Modality::kLogs:
        ++counts_.log_records;
        break;
    }
    return true;
  }

 private:
  // Generates the next chunk and releases every record earlier than the
  // chunk after it; later ones (traces crossing the seam) wait for the merge.
  void refill() {
    ready_.clear();
    pos_ = 0;
    TimeUs release_before = INT64_MAX;
    if (next_chunk_ < sim_.num_chunks()) {
      SimChunk c = sim_.chunk(next_chunk_++);
      counts_.metric_rows += c.counts.metric_rows;
      for (auto& m : c.metrics) pending_.emplace_back(std::move(m));
      for (auto& s : c.spans) pending_.emplace_back(std::move(s));
      for (auto& l : c.logs) pending_.emplace_back(std::move(l));
      if (next_chunk_ < sim_.num_chunks()) release_before = c.end;
    }
    // stable sort by time through (time, index) keys: one pass of moves
    std::vector<std::pair<TimeUs, std::uint32_t>> keys(pending_.size());
    for (size_t i = 0; i < pending_.size(); ++i) keys[i] = {record_time(pending_[i]), static_cast<std::uint32_t>(i)};
    std::sort(keys.begin(), keys.end());
    std::vector<Record> sorted;
    sorted.reserve(pending_.size());
    for (const auto& k : keys) sorted.push_back(std::move(pending_[k.second]));
    pending_.swap(sorted);
    const auto split = std::partition_point(pending_.begin(), pending_.end(),
                                            [&](const Record& r) { return record_time(r) < release_before; });
    ready_.assign(std::make_move_iterator(pending_.begin()), std::make_move_iterator(split));
    pending_.erase(pending_.begin(), split);
  }

  const Simulator& sim_;
  ReadCounts& counts_;
  std::int64_t next_chunk_ = 0;
  std::vector<Record> pending_;
  std::vector<Record> ready_;
  size_t pos_ = 0;
};

class SimSource : public TelemetrySource {
 public:
  explicit SimSource(const SimConfig& config) : sim_(config) { catalog_ = sim_.catalog(); }
  std::string format() const override { return "sim"; }
  std::vector<FaultEvent> faults() override { return sim_.faults(); }
  std::unique_ptr<RecordStream> open() override { return std::make_unique<SimStream>(sim_, counts_); }

 private:
  Simulator sim_;
};

}  // namespace

std::unique_ptr<TelemetrySource> open_simulation(const SimConfig& config) {
  return std::make_unique<SimSource>(config);
}

}  // namespace rslicer::sim
