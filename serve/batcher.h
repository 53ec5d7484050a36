#pragma once
// Request batching: callers on many threads submit one item each and wait on
// a future; one worker thread takes the queue in batches of up to max_batch
// items, waiting at most max_wait after the first item of a batch for more to
// arrive, and runs each batch with one call. A batch that throws is run again
// item by item, so one bad item fails only its own caller.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

namespace attnzoo::serve {

struct BatcherStats {
  int64_t batches = 0;
  int64_t items = 0;
  int64_t largest = 0;  // items in the largest batch run
};

template <class Item, class Result>
class Batcher {
 public:
  // Results in the order of the items; as many as there are items.
  using Run = std::function<std::vector<Result>(const std::vector<Item>&)>;

  Batcher(Run run, int64_t max_batch, std::chrono::microseconds max_wait)
      : run_(std::move(run)),
        max_batch_(max_batch < 1 ? 1 : max_batch),
        max_wait_(max_wait),
        worker_([this] { loop(); }) {}

  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  // Fails the items still queued, then stops the worker.
  ~Batcher() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    worker_.join();
    for (auto& pending : queue_)
      pending.second.set_exception(
          std::make_exception_ptr(std::runtime_error("the server is stopping")));
  }

  std::future<Result> submit(Item item) {
    std::promise<Result> promise;
    auto future = promise.get_future();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) throw std::runtime_error("the server is stopping");
      queue_.emplace_back(std::move(item), std::move(promise));
    }
    wake_.notify_one();
    return future;
  }

  BatcherStats stats() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return stats_;
  }

 private:
  using Pending = std::pair<Item, std::promise<Result>>;

  void loop() {
    for (;;) {
      std::vector<Pending> batch;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (stopping_) return;
        // The first item starts the clock; the batch leaves when full or at the deadline.
        const auto deadline = std::chrono::steady_clock::now() + max_wait_;
        wake_.wait_until(lock, deadline, [&] {
          return stopping_ || static_cast<int64_t>(queue_.size()) >= max_batch_;
        });
        if (stopping_) return;
        const size_t n = std::min(queue_.size(), static_cast<size_t>(max_batch_));
        for (size_t i = 0; i < n; ++i) {
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
        stats_.batches += 1;
        stats_.items += static_cast<int64_t>(n);
        stats_.largest = std::max<int64_t>(stats_.largest, static_cast<int64_t>(n));
      }
      execute(batch);
    }
  }

  void execute(std::vector<Pending>& batch) {
    std::vector<Item> items;
    items.reserve(batch.size());
    for (auto& p : batch) items.push_back(p.first);
    try {
      auto results = run_(items);
      if (results.size() != batch.size())
        throw std::logic_error("batcher: the run gave a result count unlike the item count");
      for (size_t i = 0; i < batch.size(); ++i) batch[i].second.set_value(std::move(results[i]));
      return;
    } catch (...) {
      if (batch.size() == 1) {
        batch[0].second.set_exception(std::current_exception());
        return;
      }
    }
    for (auto& p : batch) {  // alone, each item meets only its own error
      try {
        auto results = run_({p.first});
        if (results.size() != 1)
          throw std::logic_error("batcher: the run gave a result count unlike the item count");
        p.second.set_value(std::move(results[0]));
      } catch (...) {
        p.second.set_exception(std::current_exception());
      }
    }
  }

  Run run_;
  const int64_t max_batch_;
  const std::chrono::microseconds max_wait_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  BatcherStats stats_;
  std::thread worker_;  // last: starts once every other member is ready
};

}  // namespace attnzoo::serve
