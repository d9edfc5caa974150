// Cgroups: the entry points of cgroups.h, the host layout from mountinfo, and the file helpers
// shared by the v1 (cgroups_v1.cpp) and v2 (cgroups_v2.cpp) backends.
#include "runtime/cgroups.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <thread>

#include "runtime/cgroups_internal.h"
#include "util/fs.h"

namespace strata::runtime::cgroups {
namespace detail {
namespace {

// Controllers whose v1 hierarchies hold a container's cgroup.
constexpr std::string_view kV1Controllers[] = {"memory", "cpu",     "cpuacct",
                                               "pids",   "freezer", "devices"};

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  while (true) {
    size_t at = s.find(sep);
    out.push_back(s.substr(0, at));
    if (at == std::string_view::npos) return out;
    s.remove_prefix(at + 1);
  }
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      auto isOct = [](char c) { return c >= '0' && c <= '7'; };
      if (isOct(s[i + 1]) && isOct(s[i + 2]) && isOct(s[i + 3])) {
        out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
        i += 3;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

bool contains(const std::vector<std::string>& v, std::string_view x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

}  // namespace

// A line: "id parent maj:min root mountpoint opts [optional...] - fstype source superopts".
std::vector<CgroupMount> parseMountInfo(std::string_view text) {
  std::vector<CgroupMount> out;
  for (std::string_view line : split(text, '\n')) {
    std::vector<std::string_view> f;
    for (std::string_view w : split(line, ' '))
      if (!w.empty()) f.push_back(w);
    auto dash = std::find(f.begin(), f.end(), "-");
    if (f.size() < 5 || dash == f.end() || f.end() - dash < 4 || dash - f.begin() < 6) continue;
    std::string_view type = dash[1];
    if (type != "cgroup" && type != "cgroup2") continue;
    CgroupMount m{unescape(f[3]), unescape(f[4]), std::string(type), {}};
    for (std::string_view o : split(dash[3], ',')) m.options.emplace_back(o);
    out.push_back(std::move(m));
  }
  return out;
}

Result<Layout> layoutFromMounts(const std::vector<CgroupMount>& mounts) {
  Layout l;
  for (std::string_view c : kV1Controllers) {
    const CgroupMount* best = nullptr;
    for (const CgroupMount& m : mounts) {
      if (m.fsType != "cgroup" || !contains(m.options, c)) continue;
      if (!best || (best->root != "/" && m.root == "/")) best = &m;
    }
    if (!best) continue;
    auto h = std::find_if(l.hierarchies.begin(), l.hierarchies.end(),
                          [&](const Hierarchy& x) { return x.mountPoint == best->mountPoint; });
    if (h == l.hierarchies.end())
      l.hierarchies.push_back({best->mountPoint, {std::string(c)}});
    else
      h->controllers.emplace_back(c);
  }
  if (!l.hierarchies.empty()) return l;
  const CgroupMount* best = nullptr;
  for (const CgroupMount& m : mounts) {
    if (m.fsType != "cgroup2") continue;
    if (!best || (best->mountPoint != "/sys/fs/cgroup" && m.mountPoint == "/sys/fs/cgroup"))
      best = &m;
  }
  if (!best) return failInvalid("no cgroup file system is mounted");
  l.unified = true;
  l.unifiedMount = best->mountPoint;
  return l;
}

Result<Layout> detectLayout() {
  std::string text = TRY_CTX(readFile("/proc/self/mountinfo"), "find cgroup mounts");
  return layoutFromMounts(parseMountInfo(text));
}

Status writeControl(const std::string& dir, const std::string& file, std::string_view value) {
  std::string path = dir + "/" + file;
  UniqueFd fd = TRY(openFile(path, O_WRONLY));
  // One write: cgroup files take a value per write(2), and a short write is an error here.
  for (;;) {
    ssize_t n = ::write(fd.get(), value.data(), value.size());
    if (n == static_cast<ssize_t>(value.size())) return {};
    if (n < 0 && errno == EINTR) continue;
    if (n >= 0) errno = EIO;
    return failErrno("write `" + std::string(value) + "` to `" + path + "`");
  }
}

Result<std::string> readControl(const std::string& dir, const std::string& file) {
  return readFile(dir + "/" + file);
}

std::optional<int64_t> keyedValue(std::string_view text, std::string_view key) {
  for (std::string_view line : split(text, '\n')) {
    if (!line.starts_with(key) || line.size() <= key.size() || line[key.size()] != ' ') continue;
    std::string_view v = line.substr(key.size() + 1);
    int64_t n = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec == std::errc()) return n;
  }
  return std::nullopt;
}

Result<std::vector<pid_t>> procsRecursive(const std::string& dir) {
  std::vector<pid_t> out;
  auto text = readControl(dir, "cgroup.procs");
  if (!text) {
    if (text.error().code() == ENOENT) return out;
    return fail(std::move(text).error());
  }
  for (std::string_view line : split(*text, '\n')) {
    pid_t p = 0;
    if (std::from_chars(line.data(), line.data() + line.size(), p).ec == std::errc() && p > 0)
      out.push_back(p);
  }
  for (const std::string& name : TRY(listDirectory(dir))) {
    std::string sub = dir + "/" + name;
    if (!isDirectory(sub)) continue;
    auto more = TRY(procsRecursive(sub));
    out.insert(out.end(), more.begin(), more.end());
  }
  return out;
}

void sortUnique(std::vector<pid_t>& pids) {
  std::sort(pids.begin(), pids.end());
  pids.erase(std::unique(pids.begin(), pids.end()), pids.end());
}

Status killAll(const std::vector<std::string>& dirs) {
  auto deadline = std::chrono::steady_clock::now() + kSettleTimeout;
  for (;;) {
    std::vector<pid_t> left;
    for (const std::string& d : dirs) {
      auto more = TRY(procsRecursive(d));
      left.insert(left.end(), more.begin(), more.end());
    }
    if (left.empty()) return {};
    sortUnique(left);
    // Someone put this very process in the container's cgroup: killing it would kill us.
    if (std::binary_search(left.begin(), left.end(), ::getpid()))
      return fail(Error(EBUSY, "cgroup `" + dirs.front() + "` holds the calling process"));
    if (std::chrono::steady_clock::now() > deadline)
      return fail(Error(EBUSY, "processes left in cgroup `" + dirs.front() + "` after SIGKILL"));
    for (pid_t p : left) ::kill(p, SIGKILL);  // ESRCH: it exited meanwhile
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

Status removeCgroupDir(const std::string& dir) {
  auto names = listDirectory(dir);
  if (!names) return fail(std::move(names).error().wrap("remove cgroup"));
  for (const std::string& name : *names) {
    std::string sub = dir + "/" + name;
    if (isDirectory(sub)) TRYV(removeCgroupDir(sub));
  }
  auto deadline = std::chrono::steady_clock::now() + kSettleTimeout;
  for (;;) {
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return {};
    if (errno != EBUSY || std::chrono::steady_clock::now() > deadline)
      return failErrno("remove cgroup `" + dir + "`");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace detail

namespace {

using detail::Backend;
using detail::Layout;

// The id becomes a directory name under the strata parent: nothing that could leave it.
Status checkId(const std::string& id) {
  if (id.empty() || id == "." || id == ".." || id.find('/') != std::string::npos ||
      id.find('\0') != std::string::npos || id.size() > 255)
    return failInvalid("invalid cgroup name `" + id + "`");
  return {};
}

const Backend& backendFor(const Layout& l) {
  return l.unified ? detail::kV2Backend : detail::kV1Backend;
}

// The cgroup the calling process is in, in the first hierarchy of l ("" when it cannot be
// found there, e.g. inside a cgroup namespace mounted elsewhere).
std::string ownCgroupDir(const Layout& l) {
  auto text = readFile("/proc/self/cgroup");
  if (!text) return "";
  for (std::string_view line : detail::split(*text, '\n')) {
    // "ID:CONTROLLERS:PATH"; v2's line is "0::PATH".
    size_t a = line.find(':'), b = a == std::string_view::npos ? a : line.find(':', a + 1);
    if (b == std::string_view::npos) continue;
    std::string_view controllers = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
    std::string dir;
    if (l.unified && controllers.empty()) {
      dir = l.unifiedMount + std::string(path);
    } else if (!l.unified && !l.hierarchies.empty()) {
      const detail::Hierarchy& h = l.hierarchies.front();
      for (std::string_view c : detail::split(controllers, ','))
        if (c == h.controllers.front()) dir = h.mountPoint + std::string(path);
    }
    if (!dir.empty()) return isDirectory(dir) ? dir : "";
  }
  return "";
}

}  // namespace

void warmUp() {
  // The thread blocks every signal from its first instruction (it inherits the mask it is
  // created with): a signal sent to strata must reach the thread that handles or forwards it
  // (run forwards SIGINT and SIGTERM to the container), never kill the process through this one.
  sigset_t all, old;
  ::sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);
  std::thread([] {
    auto l = detail::detectLayout();
    if (!l) return;
    // "0" is the writer itself, moved into the cgroup it is already in: nothing changes, but the
    // kernel takes (and starts the grace period for) the same lock as for a real move.
    if (std::string dir = ownCgroupDir(*l); !dir.empty()) (void)detail::writeControl(dir, "cgroup.procs", "0");
  }).detach();
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

Status create(const std::string& id, const Resources& r) {
  TRYV(checkId(id));
  Layout l = TRY_CTX(detail::detectLayout(), "create cgroup");
  auto made = backendFor(l).create(l, id, r);
  if (!made) {
    (void)backendFor(l).remove(l, id);  // leave nothing half-made behind
    return fail(std::move(made).error().wrap("create cgroup " + id));
  }
  return {};
}

Status addProcess(const std::string& id, pid_t pid) {
  TRYV(checkId(id));
  Layout l = TRY_CTX(detail::detectLayout(), "join cgroup");
  return backendFor(l).addProcess(l, id, pid);
}

Status remove(const std::string& id) {
  TRYV(checkId(id));
  Layout l = TRY_CTX(detail::detectLayout(), "remove cgroup");
  TRYV_CTX(backendFor(l).remove(l, id), "remove cgroup " + id);
  return {};
}

Status freeze(const std::string& id, bool frozen) {
  TRYV(checkId(id));
  Layout l = TRY_CTX(detail::detectLayout(), frozen ? "freeze" : "thaw");
  TRYV_CTX(backendFor(l).freeze(l, id, frozen), frozen ? "freeze " + id : "thaw " + id);
  return {};
}

bool oomKilled(const std::string& id) {
  if (!checkId(id)) return false;
  auto l = detail::detectLayout();
  return l && backendFor(*l).oomKilled(*l, id);
}

Result<std::vector<pid_t>> pids(const std::string& id) {
  TRYV(checkId(id));
  Layout l = TRY_CTX(detail::detectLayout(), "list cgroup processes");
  auto out = TRY_CTX(backendFor(l).pids(l, id), "list processes of cgroup " + id);
  detail::sortUnique(out);
  return out;
}

}  // namespace strata::runtime::cgroups
