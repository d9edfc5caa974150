#include "build/progress.h"

#include <fmt/format.h>

namespace strata::build {

double Progress::elapsed(const Vertex& v) const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - v.started).count();
}

int Progress::begin(std::string_view name) {
  std::lock_guard lock(mutex_);
  const int vertex = next_++;
  vertices_[vertex] = Vertex{std::chrono::steady_clock::now(), {}};
  if (!quiet_) fmt::print(out_, "#{} {}\n", vertex, name);
  return vertex;
}

void Progress::output(int vertex, std::string_view chunk) {
  if (quiet_) return;
  std::lock_guard lock(mutex_);
  Vertex& v = vertices_[vertex];
  std::size_t pos = 0;
  while (pos < chunk.size()) {
    std::size_t nl = chunk.find('\n', pos);
    if (nl == std::string_view::npos) {
      v.partial.append(chunk.substr(pos));
      return;
    }
    v.partial.append(chunk.substr(pos, nl - pos));
    fmt::print(out_, "#{} {:.3f} {}\n", vertex, elapsed(v), v.partial);
    v.partial.clear();
    pos = nl + 1;
  }
  std::fflush(out_);
}

void Progress::flushPartial(int vertex, Vertex& v) {
  if (quiet_ || v.partial.empty()) return;
  fmt::print(out_, "#{} {:.3f} {}\n", vertex, elapsed(v), v.partial);
  v.partial.clear();
}

void Progress::cached(int vertex) {
  std::lock_guard lock(mutex_);
  if (!quiet_) fmt::print(out_, "#{} CACHED\n", vertex);
}

void Progress::done(int vertex) {
  std::lock_guard lock(mutex_);
  Vertex& v = vertices_[vertex];
  flushPartial(vertex, v);
  if (!quiet_) fmt::print(out_, "#{} DONE {:.1f}s\n", vertex, elapsed(v));
  std::fflush(out_);
}

void Progress::error(int vertex, std::string_view message) {
  std::lock_guard lock(mutex_);
  Vertex& v = vertices_[vertex];
  flushPartial(vertex, v);
  if (!quiet_) fmt::print(out_, "#{} ERROR: {}\n", vertex, message);
  std::fflush(out_);
}

void Progress::note(int vertex, std::string_view text) {
  std::lock_guard lock(mutex_);
  if (!quiet_) fmt::print(out_, "#{} {}\n", vertex, text);
}

}  // namespace strata::build
