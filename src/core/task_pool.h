// A small fixed pool of worker threads for file-level parallelism (parsing
// many files ahead of a consumer). Tasks run in submission order; waiting on
// a task that no worker has started runs it on the waiting thread, so a
// consumer never blocks behind work it did not ask for first.
#pragma once

#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace rslicer {

class TaskPool {
 public:
  class Task;
  using Handle = std::shared_ptr<Task>;

  // `threads` workers; 0 means none (every task runs when waited on).
  explicit TaskPool(size_t threads);
  ~TaskPool();  // pending tasks are dropped, running ones finish first
  TaskPool(const TaskPool&) = delete;
  TaskPool& operator=(const TaskPool&) = delete;

  Handle submit(std::function<void()> fn);
  // Blocks until the task ran (running it here when no worker took it yet);
  // rethrows what the task threw.
  void wait(const Handle& task);

  size_t threads() const { return workers_.size(); }
  // Worker count for reading: hardware threads, at most `cap`, at least 0.
  static size_t default_threads(size_t cap = 8);

 private:
  void worker_loop();
  bool claim(Task& t);  // true when the caller may run t

  std::mutex mu_;
  std::condition_variable cv_;       // work arrived / pool stopping
  std::condition_variable done_cv_;  // some task finished
  std::deque<Handle> queue_;
  std::vector<std::thread> workers_;
  bool stop_ = false;
};

class TaskPool::Task {
  friend class TaskPool;
  std::function<void()> fn;
  std::exception_ptr error;
  enum class State { kQueued, kRunning, kDone } state = State::kQueued;
};

}  // namespace rslicer
