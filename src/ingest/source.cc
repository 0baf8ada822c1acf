#include "ingest/source.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

namespace rslicer {

bool ChainStream::next(Record& out) {
  for (;;) {
    if (!current_) {
      if (index_ >= parts_.size()) return false;
      current_ = parts_[index_++]();
      if (!current_) continue;
    }
    if (current_->next(out)) return true;
    current_.reset();
  }
}

bool ReorderStream::next(Record& out) {
  auto later = [](const std::pair<TimeUs, std::uint64_t>& a, const std::pair<TimeUs, std::uint64_t>& b) {
    return a > b;
  };
  while (!inner_done_ && (heap_.empty() || heap_.front().first > max_seen_ - horizon_)) {
    Record r;
    if (!inner_->next(r)) {
      inner_done_ = true;
      break;
    }
    const TimeUs t = record_time(r);
    max_seen_ = std::max(max_seen_, t);
    std::uint64_t slot;
    if (!free_.empty()) {
      slot = free_.back();
      free_.pop_back();
      slots_[slot] = std::move(r);
    } else {
      slot = slots_.size();
      slots_.push_back(std::move(r));
    }
    // Ties keep arrival order: the slot index is not monotonic, so pack the
    // sequence number into the key's second half instead.
    heap_.emplace_back(t, (seq_++ << 24) | slot);
    std::push_heap(heap_.begin(), heap_.end(), later);
  }
  if (heap_.empty()) return false;
  std::pop_heap(heap_.begin(), heap_.end(), later);
  const std::uint64_t slot = heap_.back().second & 0xffffff;
  heap_.pop_back();
  out = std::move(slots_[slot]);
  free_.push_back(slot);
  return true;
}

struct PrefetchStream::State {
  std::unique_ptr<RecordStream> inner;
  size_t batch_size, max_batches;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::vector<Record>> ready;
  bool done = false;
  bool stop = false;
  std::exception_ptr error;
  std::thread worker;
};

PrefetchStream::PrefetchStream(std::unique_ptr<RecordStream> inner, size_t batch_size, size_t max_batches)
    : state_(std::make_unique<State>()) {
  State& st = *state_;
  st.inner = std::move(inner);
  st.batch_size = std::max<size_t>(1, batch_size);
  st.max_batches = std::max<size_t>(1, max_batches);
  st.worker = std::thread([&st]() {
    for (;;) {
      std::vector<Record> batch;
      batch.reserve(st.batch_size);
      std::exception_ptr error;
      bool last = false;
      try {
        Record r;
        while (batch.size() < st.batch_size && st.inner->next(r)) batch.push_back(std::move(r));
        last = batch.size() < st.batch_size;
      } catch (...) {
        error = std::current_exception();  // records read before the error are still handed over
        last = true;
      }
      std::unique_lock<std::mutex> lock(st.mu);
      st.cv.wait(lock, [&] { return st.ready.size() < st.max_batches || st.stop; });
      if (st.stop) return;
      if (!batch.empty()) st.ready.push_back(std::move(batch));
      if (last) {
        st.error = error;
        st.done = true;
      }
      st.cv.notify_all();
      if (last) return;
    }
  });
}

PrefetchStream::~PrefetchStream() {
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->stop = true;
  }
  state_->cv.notify_all();
  if (state_->worker.joinable()) state_->worker.join();
}

bool PrefetchStream::next(Record& out) {
  if (pos_ >= current_.size()) {
    std::unique_lock<std::mutex> lock(state_->mu);
    state_->cv.wait(lock, [&] { return !state_->ready.empty() || state_->done; });
    if (state_->ready.empty()) {
      if (state_->error) std::rethrow_exception(state_->error);
      return false;
    }
    current_ = std::move(state_->ready.front());
    state_->ready.pop_front();
    pos_ = 0;
    state_->cv.notify_all();
  }
  out = std::move(current_[pos_++]);
  return true;
}

MergeStream::MergeStream(std::vector<std::unique_ptr<RecordStream>> streams) : streams_(std::move(streams)) {}

bool MergeStream::next(Record& out) {
  // Ties break on the stream index: deterministic output order.
  auto later = [](const std::pair<TimeUs, std::uint32_t>& x, const std::pair<TimeUs, std::uint32_t>& y) {
    return x > y;
  };
  if (!primed_) {
    primed_ = true;
    heads_.resize(streams_.size());
    for (size_t i = 0; i < streams_.size(); ++i) {
      if (streams_[i] && streams_[i]->next(heads_[i]))
        heap_.emplace_back(record_time(heads_[i]), static_cast<std::uint32_t>(i));
      else
        streams_[i].reset();
    }
    std::make_heap(heap_.begin(), heap_.end(), later);
  }
  if (heap_.empty()) return false;
  std::pop_heap(heap_.begin(), heap_.end(), later);
  const std::uint32_t i = heap_.back().second;
  out = std::move(heads_[i]);
  if (streams_[i]->next(heads_[i])) {
    heap_.back().first = record_time(heads_[i]);
    std::push_heap(heap_.begin(), heap_.end(), later);
  } else {
    streams_[i].reset();
    heap_.pop_back();
  }
  return true;
}

}  // namespace rslicer

#include <filesystem>

#include "core/errors.h"
#include "ingest/formats.h"

namespace rslicer {

namespace {

class VectorStream : public RecordStream {
 public:
  explicit VectorStream(std::vector<Record> records) : records_(std::move(records)) {
    std::stable_sort(records_.begin(), records_.end(),
                     [](const Record& a, const Record& b) { return record_time(a) < record_time(b); });
  }
  bool next(Record& out) override {
    if (pos_ >= records_.size()) return false;
    out = std::move(records_[pos_++]);
    return true;
  }

 private:
  std::vector<Record> records_;
  size_t pos_ = 0;
};

struct FormatEntry {
  const char* name;
  int (*probe)(const std::string&);
  std::unique_ptr<TelemetrySource> (*open)(const std::string&, const ReadOptions&);
};

const std::vector<FormatEntry>& format_table() {
  static const std::vector<FormatEntry> table = {
      {"nezha", &probe_nezha, &open_nezha},
      {"aiops22", &probe_aiops22, &open_aiops22},
      {"otlp", &probe_otlp, &open_otlp},
  };
  return table;
}

std::string joined_formats() {
  std::string s;
  for (const auto& f : format_table()) s += (s.empty() ? "" : ", ") + std::string(f.name);
  return s;
}

}  // namespace

std::unique_ptr<RecordStream> make_vector_stream(std::vector<Record> records) {
  return std::make_unique<VectorStream>(std::move(records));
}

std::vector<std::string> known_formats() {
  std::vector<std::string> out;
  for (const auto& f : format_table()) out.emplace_back(f.name);
  return out;
}

std::string detect_format(const std::string& path) {
  std::error_code ec;
  RSLICER_CHECK(std::filesystem::exists(path, ec), IoError, path, ": no such file or folder");
  if (std::filesystem::is_directory(path, ec)) {
    RSLICER_CHECK(std::filesystem::directory_iterator(path, ec) != std::filesystem::directory_iterator(), InvalidInput,
                  path, ": the folder is empty");
  }
  int best = 0;
  std::string best_name;
  for (const auto& f : format_table()) {
    const int score = f.probe(path);
    if (score > best) {
      best = score;
      best_name = f.name;
    }
  }
  RSLICER_CHECK(best > 0, InvalidInput, path,
                ": no known telemetry format found (looked for nezha day folders with metric/trace/log CSV files, "
                "aiops22 CSV files with their headers, otlp JSON lines); name one with --format (",
                joined_formats(), ")");
  return best_name;
}

std::unique_ptr<TelemetrySource> open_source(const std::string& path, const std::string& format,
                                             const ReadOptions& options) {
  const std::string name = format.empty() || format == "auto" ? detect_format(path) : format;
  for (const auto& f : format_table())
    if (name == f.name) {
      std::error_code ec;
      RSLICER_CHECK(std::filesystem::exists(path, ec), IoError, path, ": no such file or folder");
      return f.open(path, options);
    }
  throw InvalidInput(cat("unknown format '", name, "'; known formats: ", joined_formats()));
}

}  // namespace rslicer
