#include "telemetry/stream.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

namespace rslicer {

bool SortedStream::next(Record& out) {
  if (!loaded_) {
    loaded_ = true;
    Record r;
    while (inner_->next(r)) records_.push_back(std::move(r));
    inner_.reset();
    sort_by_time(records_);
  }
  if (pos_ >= records_.size()) {
    records_ = {};
    return false;
  }
  out = std::move(records_[pos_++]);
  return true;
}

void RecordBatch::push(Record&& r) {
  switch (r.index()) {
    case 0: metrics.push_back(std::move(std::get<MetricPoint>(r))); break;
    case 1: spans.push_back(std::move(std::get<Span>(r))); break;
    default: logs.push_back(std::move(std::get<LogRecord>(r))); break;
  }
}

bool BatchedStream::next(Record& out) {
  while (pos_ >= buffer_.size()) {
    buffer_.clear();
    pos_ = 0;
    RecordBatch b;
    if (!next_batch(b)) return false;
    for_each_in_time_order(b, [&](auto&& r) { buffer_.emplace_back(std::move(r)); });
  }
  out = std::move(buffer_[pos_++]);
  return true;
}

bool RecordStream::next_batch(RecordBatch& out) {
  constexpr size_t kBatch = 4096;
  Record r;
  size_t n = 0;
  while (n < kBatch && next(r)) {
    out.push(std::move(r));
    ++n;
  }
  return n > 0;
}

struct PrefetchStream::State {
  std::unique_ptr<RecordStream> inner;
  size_t batch_size, max_batches;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<RecordBatch> ready;
  std::vector<RecordBatch> spare;  // emptied batches handed back, reused for their capacity
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
      RecordBatch batch;
      {
        std::lock_guard<std::mutex> lock(st.mu);
        if (!st.spare.empty()) {
          batch = std::move(st.spare.back());
          st.spare.pop_back();
        }
      }
      std::exception_ptr error;
      bool last = false;
      try {
        while (batch.size() < st.batch_size) {
          if (!st.inner->next_batch(batch)) {
            last = true;
            break;
          }
        }
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

bool PrefetchStream::take(RecordBatch& out) {
  std::unique_lock<std::mutex> lock(state_->mu);
  state_->cv.wait(lock, [&] { return !state_->ready.empty() || state_->done; });
  if (state_->ready.empty()) {
    if (state_->error) std::rethrow_exception(state_->error);
    return false;
  }
  if (out.empty() && out.metrics.capacity() + out.spans.capacity() + out.logs.capacity() > 0 &&
      state_->spare.size() < state_->max_batches)
    state_->spare.push_back(std::move(out));
  out = std::move(state_->ready.front());
  state_->ready.pop_front();
  state_->cv.notify_all();
  return true;
}

bool PrefetchStream::next_batch(RecordBatch& out) {
  if (out.empty()) return take(out);
  RecordBatch more;
  if (!take(more)) return false;
  out.metrics.insert(out.metrics.end(), std::make_move_iterator(more.metrics.begin()),
                     std::make_move_iterator(more.metrics.end()));
  out.spans.insert(out.spans.end(), std::make_move_iterator(more.spans.begin()), std::make_move_iterator(more.spans.end()));
  out.logs.insert(out.logs.end(), std::make_move_iterator(more.logs.begin()), std::make_move_iterator(more.logs.end()));
  return true;
}

namespace {

class VectorStream : public RecordStream {
 public:
  explicit VectorStream(std::vector<Record> records) : records_(std::move(records)) { sort_by_time(records_); }
  bool next(Record& out) override {
    if (pos_ >= records_.size()) return false;
    out = std::move(records_[pos_++]);
    return true;
  }

 private:
  std::vector<Record> records_;
  size_t pos_ = 0;
};

}  // namespace

std::unique_ptr<RecordStream> make_vector_stream(std::vector<Record> records) {
  return std::make_unique<VectorStream>(std::move(records));
}

}  // namespace rslicer
