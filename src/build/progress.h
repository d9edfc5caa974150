// Build progress in BuildKit's plain format: numbered vertices, their output, CACHED and DONE
// lines with timings, and an ERROR line for the failing step.
//
//   #5 [2/4] RUN make
//   #5 0.213 compiling...
//   #5 DONE 1.2s
//
// Safe to use from several threads (stages build in parallel): each line is written whole.
#pragma once

#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace strata::build {

class Progress {
 public:
  // Writes to out (stderr for `build`); quiet prints nothing.
  Progress(std::FILE* out, bool quiet) : out_(out), quiet_(quiet) {}

  // Starts a vertex; returns its number.
  int begin(std::string_view name);
  // Output of the vertex's process, as it comes; printed line by line with the time since begin.
  void output(int vertex, std::string_view chunk);
  void cached(int vertex);
  void done(int vertex);
  void error(int vertex, std::string_view message);
  // A line of its own under the vertex ("writing image sha256:... done").
  void note(int vertex, std::string_view text);

 private:
  struct Vertex {
    std::chrono::steady_clock::time_point started;
    std::string partial;  // output after its last newline
  };
  void flushPartial(int vertex, Vertex& v);
  double elapsed(const Vertex& v) const;

  std::FILE* out_;
  bool quiet_;
  std::mutex mutex_;
  int next_ = 1;
  std::map<int, Vertex> vertices_;
};

}  // namespace strata::build
