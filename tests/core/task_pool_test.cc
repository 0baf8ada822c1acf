#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <thread>

#include "core/task_pool.h"

namespace rslicer {
namespace {

TEST(TaskPool, RunsEveryTaskAndWaitSeesItsEffects) {
  for (size_t threads : {0, 1, 3}) {
    TaskPool pool(threads);
    std::vector<int> out(200, 0);
    std::vector<TaskPool::Handle> tasks;
    for (int i = 0; i < 200; ++i) tasks.push_back(pool.submit([&out, i] { out[i] = i * i; }));
    for (int i = 0; i < 200; ++i) {
      pool.wait(tasks[i]);
      EXPECT_EQ(out[i], i * i) << threads << " threads";
    }
  }
}

TEST(TaskPool, WaitingOnAnUnstartedTaskRunsItOnTheWaitingThread) {
  TaskPool pool(1);
  std::atomic<bool> release{false};
  auto blocker = pool.submit([&] {
    while (!release) std::this_thread::yield();
  });
  std::thread::id ran_on;
  auto second = pool.submit([&] { ran_on = std::this_thread::get_id(); });
  pool.wait(second);  // the only worker is busy: the waiter runs it
  EXPECT_EQ(ran_on, std::this_thread::get_id());
  release = true;
  pool.wait(blocker);
}

TEST(TaskPool, WaitRethrowsWhatTheTaskThrew) {
  TaskPool pool(2);
  auto bad = pool.submit([] { throw std::runtime_error("parse failed"); });
  auto good = pool.submit([] {});
  EXPECT_THROW(pool.wait(bad), std::runtime_error);
  EXPECT_NO_THROW(pool.wait(good));
  EXPECT_GE(TaskPool::default_threads(), 1u);
}

TEST(TaskPool, DestroyingWithPendingTasksDropsThem) {
  std::atomic<int> ran{0};
  {
    TaskPool pool(1);
    for (int i = 0; i < 1000; ++i) pool.submit([&] { ++ran; });
  }
  EXPECT_LE(ran.load(), 1000);
}

}  // namespace
}  // namespace rslicer
