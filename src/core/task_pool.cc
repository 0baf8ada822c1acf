#include "core/task_pool.h"

#include <algorithm>

namespace rslicer {

TaskPool::TaskPool(size_t threads) {
  for (size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { worker_loop(); });
}

TaskPool::~TaskPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    queue_.clear();
  }
  cv_.notify_all();
  for (auto& w : workers_) w.join();
}

size_t TaskPool::default_threads(size_t cap) {
  const size_t hw = std::thread::hardware_concurrency();
  return std::min(cap, hw == 0 ? size_t{1} : static_cast<size_t>(hw));
}

TaskPool::Handle TaskPool::submit(std::function<void()> fn) {
  auto t = std::make_shared<Task>();
  t->fn = std::move(fn);
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(t);
  }
  cv_.notify_one();
  return t;
}

bool TaskPool::claim(Task& t) {
  if (t.state != Task::State::kQueued) return false;
  t.state = Task::State::kRunning;
  return true;
}

namespace {
void run_task(std::function<void()>& fn, std::exception_ptr& error) {
  try {
    fn();
  } catch (...) {
    error = std::current_exception();
  }
  fn = nullptr;  // free what the task captured as soon as it ran
}
}  // namespace

void TaskPool::worker_loop() {
  for (;;) {
    Handle t;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      t = std::move(queue_.front());
      queue_.pop_front();
      if (!claim(*t)) continue;  // a waiter ran it already
    }
    run_task(t->fn, t->error);
    {
      std::lock_guard<std::mutex> lock(mu_);
      t->state = Task::State::kDone;
    }
    done_cv_.notify_all();
  }
}

void TaskPool::wait(const Handle& t) {
  bool mine;
  {
    std::lock_guard<std::mutex> lock(mu_);
    mine = claim(*t);  // it stays in the queue; the worker that pops it skips it
  }
  if (mine) {
    run_task(t->fn, t->error);
    std::lock_guard<std::mutex> lock(mu_);
    t->state = Task::State::kDone;
  } else {
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, [&] { return t->state == Task::State::kDone; });
  }
  if (t->error) std::rethrow_exception(t->error);
}

}  // namespace rslicer
