#include "build/progress.h"

#include <fmt/format.h>

namespace strata::build {
namespace {

double seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

}  // namespace

int Progress::begin(std::string_view name) {
  const int vertex = next_++;
  started_ = std::chrono::steady_clock::now();
  partial_.clear();
  if (!quiet_) fmt::print(out_, "#{} {}\n", vertex, name);
  return vertex;
}

void Progress::output(int vertex, std::string_view chunk) {
  if (quiet_) return;
  std::size_t pos = 0;
  while (pos < chunk.size()) {
    std::size_t nl = chunk.find('\n', pos);
    if (nl == std::string_view::npos) {
      partial_.append(chunk.substr(pos));
      return;
    }
    partial_.append(chunk.substr(pos, nl - pos));
    fmt::print(out_, "#{} {:.3f} {}\n", vertex, seconds(started_), partial_);
    partial_.clear();
    pos = nl + 1;
  }
  std::fflush(out_);
}

void Progress::flushPartial(int vertex) {
  if (quiet_ || partial_.empty()) return;
  fmt::print(out_, "#{} {:.3f} {}\n", vertex, seconds(started_), partial_);
  partial_.clear();
}

void Progress::cached(int vertex) {
  if (!quiet_) fmt::print(out_, "#{} CACHED\n", vertex);
}

void Progress::done(int vertex) {
  flushPartial(vertex);
  if (!quiet_) fmt::print(out_, "#{} DONE {:.1f}s\n", vertex, seconds(started_));
  std::fflush(out_);
}

void Progress::error(int vertex, std::string_view message) {
  flushPartial(vertex);
  if (!quiet_) fmt::print(out_, "#{} ERROR: {}\n", vertex, message);
  std::fflush(out_);
}

void Progress::note(int vertex, std::string_view text) {
  if (!quiet_) fmt::print(out_, "#{} {}\n", vertex, text);
}

}  // namespace strata::build
