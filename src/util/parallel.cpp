#include "util/parallel.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace strata {

Status runParallel(size_t count, unsigned threads, const std::function<Status(size_t)>& job) {
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  std::optional<Error> first;
  auto worker = [&] {
    for (size_t i; !failed && (i = next++) < count;) {
      if (auto st = job(i); !st) {
        std::lock_guard lock(mu);
        if (!first) first = st.error();
        failed = true;
      }
    }
  };
  std::vector<std::thread> pool;
  for (size_t t = 1; t < std::min<size_t>(threads, count); ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  if (first) return fail(*first);
  return {};
}

}  // namespace strata
