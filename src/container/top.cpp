#include "container/top.h"

#include <sys/sysinfo.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <map>

#include "util/fs.h"

namespace strata::container {

namespace {

std::map<uid_t, std::string> hostUserNames() {
  std::map<uid_t, std::string> names;
  auto text = readFile("/etc/passwd");
  if (!text) return names;
  size_t pos = 0;
  while (pos < text->size()) {
    size_t nl = text->find('\n', pos);
    std::string line = text->substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? text->size() : nl + 1;
    size_t a = line.find(':'), b = a == std::string::npos ? a : line.find(':', a + 1);
    size_t c = b == std::string::npos ? b : line.find(':', b + 1);
    if (c == std::string::npos) continue;
    names.emplace(static_cast<uid_t>(std::strtoul(line.c_str() + b + 1, nullptr, 10)), line.substr(0, a));
  }
  return names;
}

std::string clock(long long seconds) {
  char buf[32];
  if (seconds >= 86400)
    std::snprintf(buf, sizeof buf, "%lld-%02lld:%02lld:%02lld", seconds / 86400, seconds / 3600 % 24,
                  seconds / 60 % 60, seconds % 60);
  else
    std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld", seconds / 3600, seconds / 60 % 60, seconds % 60);
  return buf;
}

}  // namespace

std::vector<std::vector<std::string>> processTable(const std::vector<pid_t>& pids) {
  std::vector<std::vector<std::string>> rows{{"UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"}};
  auto users = hostUserNames();
  long ticks = ::sysconf(_SC_CLK_TCK);
  struct sysinfo si {};
  ::sysinfo(&si);
  time_t now = ::time(nullptr);
  time_t boot = now - si.uptime;
  std::vector<pid_t> sorted = pids;
  std::sort(sorted.begin(), sorted.end());
  for (pid_t pid : sorted) {
    std::string base = "/proc/" + std::to_string(pid);
    auto stat = readFile(base + "/stat");
    auto status = readFile(base + "/status");
    if (!stat || !status) continue;  // exited meanwhile
    auto open = stat->find('('), close = stat->rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    std::string comm = stat->substr(open + 1, close - open - 1);
    std::vector<std::string> f;  // fields from 3 (state) on
    for (size_t p = close + 2; p < stat->size();) {
      size_t sp = stat->find(' ', p);
      f.push_back(stat->substr(p, sp == std::string::npos ? std::string::npos : sp - p));
      p = sp == std::string::npos ? stat->size() : sp + 1;
    }
    if (f.size() < 20) continue;
    long long utime = std::atoll(f[11].c_str()), stime = std::atoll(f[12].c_str());
    long long started = std::atoll(f[19].c_str());
    long long cpuSecs = (utime + stime) / ticks;
    time_t startTime = boot + static_cast<time_t>(started / ticks);
    long long elapsed = std::max<long long>(1, now - startTime);
    int ttyNr = std::atoi(f[4].c_str());
    int major = (ttyNr >> 8) & 0xfff, minor = (ttyNr & 0xff) | ((ttyNr >> 12) & 0xfff00);
    std::string tty = ttyNr == 0 ? "?" : major == 136 ? "pts/" + std::to_string(minor) : "tty" + std::to_string(minor);
    uid_t uid = 0;
    if (auto u = status->find("\nUid:"); u != std::string::npos)
      uid = static_cast<uid_t>(std::strtoul(status->c_str() + u + 5, nullptr, 10));
    auto name = users.find(uid);
    char stimeBuf[16];
    struct tm tm;
    ::localtime_r(&startTime, &tm);
    std::strftime(stimeBuf, sizeof stimeBuf, now - startTime < 86400 ? "%H:%M" : "%b%d", &tm);
    std::string cmd = readFile(base + "/cmdline").value_or("");
    for (auto& c : cmd)
      if (c == '\0') c = ' ';
    while (!cmd.empty() && cmd.back() == ' ') cmd.pop_back();
    if (cmd.empty()) cmd = "[" + comm + "]";
    rows.push_back({name != users.end() ? name->second : std::to_string(uid), std::to_string(pid),
                    f[1], std::to_string(cpuSecs * 100 / elapsed), stimeBuf, tty, clock(cpuSecs), cmd});
  }
  return rows;
}

}  // namespace strata::container
