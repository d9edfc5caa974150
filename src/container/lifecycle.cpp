#include "container/lifecycle.h"

#include <signal.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "runtime/runtime.h"
#include "util/fs.h"

namespace strata::container {

namespace {

bool active(RunStatus s) {
  return s == RunStatus::Running || s == RunStatus::Paused || s == RunStatus::Restarting;
}

// Polls the state until pred holds or the deadline passes; returns the last state read.
template <typename Pred>
Result<State> waitFor(Containers& cs, const std::string& id, Pred pred,
                      std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    State s = TRY(cs.state(id));
    if (pred(s) || std::chrono::steady_clock::now() >= deadline) return s;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

struct SignalName {
  const char* name;
  int number;
};
const SignalName kSignals[] = {
    {"HUP", SIGHUP},   {"INT", SIGINT},     {"QUIT", SIGQUIT}, {"ILL", SIGILL},   {"TRAP", SIGTRAP},
    {"ABRT", SIGABRT}, {"BUS", SIGBUS},     {"FPE", SIGFPE},   {"KILL", SIGKILL}, {"USR1", SIGUSR1},
    {"SEGV", SIGSEGV}, {"USR2", SIGUSR2},   {"PIPE", SIGPIPE}, {"ALRM", SIGALRM}, {"TERM", SIGTERM},
    {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD}, {"CONT", SIGCONT}, {"STOP", SIGSTOP}, {"TSTP", SIGTSTP},
    {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},   {"URG", SIGURG},   {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ},
    {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"IO", SIGIO}, {"PWR", SIGPWR},
    {"SYS", SIGSYS}};

}  // namespace

Result<int> parseSignal(const std::string& text) {
  if (!text.empty() && std::all_of(text.begin(), text.end(), ::isdigit)) {
    int n = std::atoi(text.c_str());
    if (n > 0 && n < 65) return n;
  }
  std::string up;
  for (char c : text) up += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (up.rfind("SIG", 0) == 0) up.erase(0, 3);
  for (const auto& s : kSignals)
    if (up == s.name) return s.number;
  return failInvalid("Invalid signal: " + text);
}

Status stop(Containers& cs, const Record& r, int timeoutSec) {
  State s = TRY(cs.state(r.id));
  // Marked first, so the monitor does not restart what the user stopped.
  TRYV(writeFileReplace(cs.paths(r.id).stopMarker(), ""));
  if (!active(s.status) || s.pid <= 0) return {};
  if (s.status == RunStatus::Paused) (void)runtime::freeze(r.id, false);
  int sig = r.config.stopSignal.empty() ? SIGTERM : TRY(parseSignal(r.config.stopSignal));
  auto exited = [](const State& x) { return !active(x.status); };
  if (timeoutSec > 0) {
    ::kill(s.pid, sig);
    s = TRY(waitFor(cs, r.id, exited, std::chrono::seconds(timeoutSec)));
    if (exited(s)) return {};
  }
  if (s.pid > 0) ::kill(s.pid, SIGKILL);
  s = TRY(waitFor(cs, r.id, exited, std::chrono::seconds(30)));
  if (!exited(s)) return failInvalid("container " + r.id.substr(0, 12) + " did not stop");
  return {};
}

Status kill(Containers& cs, const Record& r, int sig) {
  State s = TRY(cs.state(r.id));
  if (s.status != RunStatus::Running && s.status != RunStatus::Paused)
    return failInvalid("Container " + r.id + " is not running");
  if (sig == SIGKILL || sig == SIGTERM) (void)writeFileReplace(cs.paths(r.id).stopMarker(), "");
  if (::kill(s.pid, sig) < 0) return failErrno("kill container " + r.id.substr(0, 12));
  return {};
}

Result<int> wait(Containers& cs, const Record& r) {
  for (;;) {
    auto s = cs.state(r.id);
    if (!s) return failInvalid("No such container: " + r.id);  // removed (--rm) while waiting
    if (!active(s->status) && s->monitorPid == 0 && s->status != RunStatus::Created)
      return s->exitCode;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

Status remove(Containers& cs, const Record& r, bool force, bool volumes) {
  State s = TRY(cs.state(r.id));
  if (active(s.status)) {
    if (!force)
      return failInvalid("You cannot remove a running container " + r.id +
                         ". Stop the container before attempting removal or force remove");
    TRYV(writeFileReplace(cs.paths(r.id).stopMarker(), ""));
    if (s.status == RunStatus::Paused) (void)runtime::freeze(r.id, false);
    if (s.pid > 0) ::kill(s.pid, SIGKILL);
  }
  // Let the monitor record the exit and release the cgroup before the directory goes.
  s = TRY(waitFor(cs, r.id, [](const State& x) { return !active(x.status) && x.monitorPid == 0; },
                  std::chrono::seconds(30)));
  TRYV(cs.remove(r.id));
  if (volumes) {
    for (const auto& b : r.host.binds)
      if (b.isVolume && b.source.size() == 64)  // anonymous volumes are named by a random ID
        (void)removeAll(cs.store().layout().root() + "/volumes/" + b.source);
  }
  return {};
}

Status pause(Containers& cs, const Record& r, bool paused) {
  State s = TRY(cs.state(r.id));
  if (paused && s.status != RunStatus::Running)
    return failInvalid("Container " + r.id + " is not running");
  if (!paused && s.status != RunStatus::Paused)
    return failInvalid("Container " + r.id + " is not paused");
  TRYV(runtime::freeze(r.id, paused));
  s.status = paused ? RunStatus::Paused : RunStatus::Running;
  return cs.saveState(r.id, s);
}

}  // namespace strata::container
