#include "util/process.h"

#include <cstdlib>
#include <string>

#include "util/fs.h"

namespace strata {

uint64_t processStartTime(pid_t pid) {
  if (pid <= 0) return 0;
  auto text = readFile("/proc/" + std::to_string(pid) + "/stat");
  if (!text) return 0;
  auto close = text->rfind(')');
  if (close == std::string::npos) return 0;
  // Fields after the command: state is field 3; start time is field 22.
  size_t pos = close + 2;
  for (int field = 3; field < 22 && pos != std::string::npos; ++field) {
    pos = text->find(' ', pos);
    if (pos != std::string::npos) ++pos;
  }
  if (pos == std::string::npos) return 0;
  return std::strtoull(text->c_str() + pos, nullptr, 10);
}

bool processAlive(pid_t pid, uint64_t startTime) {
  uint64_t now = processStartTime(pid);
  if (now == 0 || (startTime != 0 && now != startTime)) return false;
  // A zombie has exited; only its parent has not collected it yet.
  auto text = readFile("/proc/" + std::to_string(pid) + "/stat");
  auto close = text ? text->rfind(')') : std::string::npos;
  if (close == std::string::npos || close + 2 >= text->size()) return false;
  char state = (*text)[close + 2];
  return state != 'Z' && state != 'X';
}

}  // namespace strata
