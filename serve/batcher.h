#pragma once
// Request batching: callers on many threads submit one item each and wait on
// a future; one worker thread takes the queue in batches of up to max_batch
// items, waiting at most max_wait after the first item of a batch for more to
// arrive, and runs each batch with one call. A batch that throws is run again
// item by item, so one bad item fails only its own caller.
//
// Admission: at most max_queue items wait (0: no limit); a submission that
// would pass it is refused whole (Overloaded) and nothing of it is queued.
// A caller may reserve() a place before it has its items (a request that
// waits for a worker) and give it back when it submits them; places held
// count as waiting. An item whose deadline passes while it waits, or would
// pass before a batch could finish (the recent batches' mean run time), fails
// with DeadlineExceeded and is never run. Each result comes with the time its
// item waited and the time its batch took.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <future>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace attnzoo::serve {

struct BatcherStats {
  int64_t batches = 0;
  int64_t items = 0;
  int64_t largest = 0;         // items in the largest batch run
  int64_t queued = 0;          // items waiting now, places reserved included
  int64_t refused = 0;         // items refused with Overloaded
  int64_t expired = 0;         // items failed with DeadlineExceeded
  std::vector<int64_t> sizes;  // [n]: batches of n items
};

// The queue is full: try again later (HTTP 503).
class Overloaded : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An item's deadline passed before it ran (HTTP 504).
class DeadlineExceeded : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

template <class Result>
struct Timed {
  Result value;
  double queue_ms = 0;    // from submission to the start of its batch
  double compute_ms = 0;  // its batch's run
  int64_t batch = 0;      // items in its batch
};

using BatchClock = std::chrono::steady_clock;

template <class Item, class Result>
class Batcher {
 public:
  // Results in the order of the items; as many as there are items.
  using Run = std::function<std::vector<Result>(const std::vector<Item>&)>;

  // `workers` batches may run at once, each on its own thread.
  Batcher(Run run, int64_t max_batch, std::chrono::microseconds max_wait, int64_t max_queue = 0,
          int workers = 1)
      : run_(std::move(run)),
        max_batch_(max_batch < 1 ? 1 : max_batch),
        max_wait_(max_wait),
        max_queue_(max_queue) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stats_.sizes.assign(static_cast<size_t>(max_batch_) + 1, 0);
    }
    for (int i = 0; i < std::max(1, workers); ++i) workers_.emplace_back([this] { loop(); });
  }

  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  // Fails the items still queued, then stops the worker.
  ~Batcher() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (auto& w : workers_) w.join();
    for (auto& pending : queue_)
      pending.promise.set_exception(std::make_exception_ptr(Overloaded("the server is stopping")));
  }

  // Queues every item or none (Overloaded); a future per item, in order.
  std::vector<std::future<Timed<Result>>> submit_all(
      std::vector<Item> items, BatchClock::time_point deadline = BatchClock::time_point::max()) {
    std::vector<std::future<Timed<Result>>> futures;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) throw Overloaded("the server is stopping");
      if (max_queue_ > 0 && static_cast<int64_t>(queue_.size() + items.size()) > max_queue_) {
        stats_.refused += static_cast<int64_t>(items.size());
        throw Overloaded("the model's queue is full (" + std::to_string(queue_.size()) +
                         " inputs waiting, at most " + std::to_string(max_queue_) + ")");
      }
      const auto now = BatchClock::now();
      for (auto& item : items) {
        Pending p{std::move(item), {}, now, deadline};
        futures.push_back(p.promise.get_future());
        queue_.push_back(std::move(p));
      }
    }
    wake_.notify_one();
    return futures;
  }

  // Holds a place for one item that will be submitted later: false (and
  // counted as refused) when max_queue items already wait.
  bool reserve() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return false;
    if (max_queue_ > 0 && static_cast<int64_t>(queue_.size()) + reserved_ + 1 > max_queue_) {
      stats_.refused += 1;
      return false;
    }
    reserved_ += 1;
    return true;
  }

  // Gives back a place from reserve().
  void unreserve() {
    std::lock_guard<std::mutex> lock(mutex_);
    reserved_ -= 1;
  }

  std::future<Timed<Result>> submit(
      Item item, BatchClock::time_point deadline = BatchClock::time_point::max()) {
    std::vector<Item> one;
    one.push_back(std::move(item));
    return std::move(submit_all(std::move(one), deadline)[0]);
  }

  BatcherStats stats() const {
    std::lock_guard<std::mutex> lock(mutex_);
    BatcherStats s = stats_;
    s.queued = static_cast<int64_t>(queue_.size()) + reserved_;
    return s;
  }

 private:
  struct Pending {
    Item item;
    std::promise<Timed<Result>> promise;
    BatchClock::time_point submitted, deadline;
  };

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
        const auto now = BatchClock::now();
        // An item that could not be answered in time is not run: its caller
        // would have given up on it.
        const auto finish = now + std::chrono::duration_cast<BatchClock::duration>(
                                      std::chrono::duration<double, std::milli>(run_ms_));
        while (!queue_.empty() && static_cast<int64_t>(batch.size()) < max_batch_) {
          Pending p = std::move(queue_.front());
          queue_.pop_front();
          if (p.deadline <= finish) {
            stats_.expired += 1;
            p.promise.set_exception(std::make_exception_ptr(DeadlineExceeded(
                p.deadline <= now
                    ? "the request's deadline passed while it waited for the model"
                    : "the request's deadline would pass before the model could answer it")));
            continue;
          }
          batch.push_back(std::move(p));
        }
        if (batch.empty()) continue;
        const size_t n = batch.size();
        stats_.batches += 1;
        stats_.items += static_cast<int64_t>(n);
        stats_.largest = std::max<int64_t>(stats_.largest, static_cast<int64_t>(n));
        if (n < stats_.sizes.size()) stats_.sizes[n] += 1;
      }
      execute(batch);
    }
  }

  static double ms(BatchClock::duration d) {
    return std::chrono::duration<double, std::milli>(d).count();
  }

  void execute(std::vector<Pending>& batch) {
    std::vector<Item> items;
    items.reserve(batch.size());
    for (auto& p : batch) items.push_back(p.item);
    const auto start = BatchClock::now();
    auto answer = [&](Pending& p, Result&& r, BatchClock::time_point end, int64_t size) {
      p.promise.set_value(
          Timed<Result>{std::move(r), ms(start - p.submitted), ms(end - start), size});
    };
    try {
      auto results = run_(items);
      if (results.size() != batch.size())
        throw std::logic_error("batcher: the run gave a result count unlike the item count");
      const auto end = BatchClock::now();
      {
        // A running mean of recent batches (a fifth of the newest each time).
        std::lock_guard<std::mutex> lock(mutex_);
        const double took = ms(end - start);
        run_ms_ = run_ms_ == 0 ? took : 0.8 * run_ms_ + 0.2 * took;
      }
      for (size_t i = 0; i < batch.size(); ++i)
        answer(batch[i], std::move(results[i]), end, static_cast<int64_t>(batch.size()));
      return;
    } catch (...) {
      if (batch.size() == 1) {
        batch[0].promise.set_exception(std::current_exception());
        return;
      }
    }
    for (auto& p : batch) {  // alone, each item meets only its own error
      try {
        auto results = run_({p.item});
        if (results.size() != 1)
          throw std::logic_error("batcher: the run gave a result count unlike the item count");
        answer(p, std::move(results[0]), BatchClock::now(), 1);
      } catch (...) {
        p.promise.set_exception(std::current_exception());
      }
    }
  }

  Run run_;
  const int64_t max_batch_;
  const std::chrono::microseconds max_wait_;
  const int64_t max_queue_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Pending> queue_;
  int64_t reserved_ = 0;  // places held by reserve()
  double run_ms_ = 0;     // recent batches' mean run time (0: none run yet)
  bool stopping_ = false;
  BatcherStats stats_;
  std::vector<std::thread> workers_;  // last: started once every other member is ready
};

}  // namespace attnzoo::serve
