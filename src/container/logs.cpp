#include "container/logs.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <deque>
#include <thread>

#include "util/fs.h"

namespace strata::container {

namespace {

struct Line {
  bool err = false;
  std::string time, text;
};

std::optional<Line> parseLine(const std::string& raw) {
  auto j = oci::Json::parse(raw, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return Line{j.value("stream", "stdout") == "stderr", j.value("time", ""), j.value("log", "")};
}

// The log keeps Go's RFC3339Nano (trailing zeros trimmed); `logs -t` prints Docker's fixed
// nine-digit form.
std::string fixedNano(const std::string& t) {
  auto dot = t.find('.');
  auto end = t.find_first_of("Z+-", dot == std::string::npos ? 19 : dot);
  if (end == std::string::npos) return t;
  std::string frac = dot == std::string::npos ? "" : t.substr(dot + 1, end - dot - 1);
  frac.resize(9, '0');
  return t.substr(0, dot == std::string::npos ? end : dot) + "." + frac + t.substr(end);
}

Status emit(const Line& l, bool timestamps) {
  std::string out = timestamps ? fixedNano(l.time) + " " + l.text : l.text;
  return writeAll(l.err ? STDERR_FILENO : STDOUT_FILENO, out);
}

}  // namespace

Status printLogs(Containers& cs, const Record& r, const LogOptions& opt) {
  std::string path = cs.paths(r.id).log();
  UniqueFd fd;
  if (auto f = openFile(path, O_RDONLY)) fd = std::move(*f);
  std::string pending;
  char buf[65536];
  // First everything there is (keeping only the tail when asked), then follow.
  std::deque<Line> tail;
  auto drain = [&](bool keepTail) -> Status {
    if (!fd) return {};
    for (;;) {
      ssize_t n = ::read(fd.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return failErrno("read `" + path + "`");
      if (n == 0) return {};
      pending.append(buf, static_cast<size_t>(n));
      size_t start = 0;
      for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
        auto line = parseLine(pending.substr(start, nl - start));
        if (!line) continue;
        if (keepTail) {
          tail.push_back(std::move(*line));
          if (opt.tail && tail.size() > *opt.tail) tail.pop_front();
        } else {
          TRYV(emit(*line, opt.timestamps));
        }
      }
      pending.erase(0, start);
    }
  };
  TRYV(drain(true));
  for (const auto& l : tail) TRYV(emit(l, opt.timestamps));
  if (!opt.follow) return {};
  for (;;) {
    auto s = cs.state(r.id);
    bool running = s && (s->status == RunStatus::Running || s->status == RunStatus::Paused ||
                         s->status == RunStatus::Restarting);
    if (!fd) {
      if (auto f = openFile(path, O_RDONLY)) fd = std::move(*f);
    }
    TRYV(drain(false));
    if (!running) return drain(false);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace strata::container
