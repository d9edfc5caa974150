// Docker's pull and push progress: one line per layer ("a3ed95caeb02: Pull complete").
//
// On a terminal the lines are redrawn in place with progress bars
// ("Downloading [=====>        ]  1.2MB/3.4MB"); otherwise each status change prints one plain
// line and byte counts are not printed. Thread safe: layers report from worker threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <vector>

namespace strata::registry {

class Progress {
 public:
  // out: where lines go (nullptr: nothing is printed, as for pull -q). tty: redraw in place.
  Progress(FILE* out, bool tty) : out_(out), tty_(tty) {}

  // A line without a layer ("latest: Pulling from library/busybox").
  void message(const std::string& text);
  // Sets layer id's status ("Pulling fs layer", "Already exists").
  void status(const std::string& id, const std::string& text);
  // Byte progress of layer id under action ("Downloading", "Pushing"); on a terminal only.
  void bytes(const std::string& id, const std::string& action, uint64_t current, uint64_t total);

 private:
  struct Line {
    std::string id, text;
    std::chrono::steady_clock::time_point drawn;
  };
  Line& lineFor(const std::string& id);  // creates it (and on a terminal prints it) if new
  void redraw(size_t index);

  FILE* out_;
  bool tty_;
  std::mutex mu_;
  std::vector<Line> lines_;
};

// Docker's progress bar text: "[=====>      ]  1.2MB/3.4MB".
std::string progressBar(uint64_t current, uint64_t total);

}  // namespace strata::registry
