#include "container/monitor.h"

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <thread>
#include <vector>

#include "container/attach.h"
#include "container/create.h"
#include "container/networking.h"
#include "runtime/runtime.h"
#include "util/format.h"
#include "util/fs.h"

namespace strata::container {

namespace {

// Docker's json-file log: one JSON object per line of output.
class LogWriter {
 public:
  explicit LogWriter(const std::string& path) {
    auto fd = openFile(path, O_WRONLY | O_CREAT | O_APPEND, 0640);
    if (fd) fd_ = std::move(*fd);
  }
  void write(const std::string& stream, std::string& pending, const char* data, size_t n,
             bool flush) {
    pending.append(data, n);
    size_t start = 0;
    for (;;) {
      size_t nl = pending.find('\n', start);
      if (nl == std::string::npos) break;
      emit(stream, pending.substr(start, nl + 1 - start));
      start = nl + 1;
    }
    pending.erase(0, start);
    if ((flush || pending.size() >= 16384) && !pending.empty()) {
      emit(stream, pending);
      pending.clear();
    }
  }

 private:
  void emit(const std::string& stream, const std::string& line) {
    if (!fd_) return;
    oci::Json j = {{"log", line}, {"stream", stream}, {"time", nowRfc3339Nano()}};
    std::string text = j.dump(-1, ' ', false, oci::Json::error_handler_t::replace) + "\n";
    (void)writeAll(fd_.get(), text);
  }
  UniqueFd fd_;
};

// The monitor's side of one container run: the process, its stdio and the attach clients.
class Session {
 public:
  Session(Containers& cs, const Record& r, std::vector<int> clients)
      : cs_(cs), rec_(r), paths_(cs.paths(r.id)), log_(paths_.log()), clients_(std::move(clients)) {}

  // Starts the process; on failure returns the outcome to report.
  StartOutcome launch(runtime::Spec& spec, const runtime::BeforeGo& beforeGo);
  // Runs until the process exited and its output is drained; returns its exit status.
  int loop(int listenFd);
  pid_t pid() const { return pid_; }
  // Tells every attached client the exit status, then lets them go.
  void finish(int status);

 private:
  void broadcast(Frame f, const char* data, size_t n);
  void onOutput(int& fd, const char* stream, std::string& pending);
  void onClient(size_t i);

  Containers& cs_;
  const Record& rec_;
  Paths paths_;
  LogWriter log_;
  std::vector<int> clients_;
  pid_t pid_ = -1;
  UniqueFd out_, err_, in_, pty_;
  std::string outPending_, errPending_;
  std::vector<FrameParser> parsers_;
};

StartOutcome Session::launch(runtime::Spec& spec, const runtime::BeforeGo& beforeGo) {
  runtime::Stdio stdio;
  int outP[2] = {-1, -1}, errP[2] = {-1, -1}, inP[2] = {-1, -1};
  if (!spec.tty) {
    if (::pipe2(outP, O_CLOEXEC) < 0 || ::pipe2(errP, O_CLOEXEC) < 0)
      return {false, 125, "pipe: " + std::string(std::strerror(errno))};
    stdio.out = outP[1];
    stdio.err = errP[1];
    if (rec_.openStdin) {
      if (::pipe2(inP, O_CLOEXEC) < 0) return {false, 125, "pipe: " + std::string(std::strerror(errno))};
      stdio.in = inP[0];
    }
  }
  auto started = runtime::start(spec, stdio, beforeGo);
  for (int fd : {outP[1], errP[1], inP[0]})
    if (fd >= 0) ::close(fd);
  out_.reset(outP[0]);
  err_.reset(errP[0]);
  in_.reset(inP[1]);
  if (!started) {
    int code = 125;
    switch (runtime::execFailureOf(started.error())) {
      case runtime::ExecFailure::NotFound: code = 127; break;
      case runtime::ExecFailure::Permission: code = 126; break;
      default: break;
    }
    return {false, code, started.error().what()};
  }
  pid_ = started->pid;
  pty_ = std::move(started->ptyMaster);
  return {true, 0, ""};
}

void Session::broadcast(Frame f, const char* data, size_t n) {
  for (auto& c : clients_) {
    if (c >= 0 && !writeFrame(c, f, data, n)) {
      ::close(c);
      c = -1;
    }
  }
}

void Session::finish(int status) {
  unsigned char b[4] = {static_cast<unsigned char>(status >> 24), static_cast<unsigned char>(status >> 16),
                        static_cast<unsigned char>(status >> 8), static_cast<unsigned char>(status)};
  broadcast(Frame::Exit, reinterpret_cast<const char*>(b), 4);
  for (int c : clients_)
    if (c >= 0) ::close(c);
  clients_.clear();
}

void Session::onOutput(int& fd, const char* stream, std::string& pending) {
  char buf[65536];
  ssize_t n = ::read(fd, buf, sizeof buf);
  if (n < 0 && errno == EINTR) return;
  if (n <= 0) {  // EOF, or EIO from a pty whose other side is gone
    log_.write(stream, pending, "", 0, true);
    fd = -1;
    return;
  }
  log_.write(stream, pending, buf, static_cast<size_t>(n), false);
  broadcast(std::string(stream) == "stderr" ? Frame::Stderr : Frame::Stdout, buf, static_cast<size_t>(n));
}

void Session::onClient(size_t i) {
  char buf[65536];
  ssize_t n = ::read(clients_[i], buf, sizeof buf);
  if (n < 0 && errno == EINTR) return;
  if (n <= 0) {
    ::close(clients_[i]);
    clients_[i] = -1;
    return;
  }
  parsers_[i].feed(buf, static_cast<size_t>(n));
  while (auto f = parsers_[i].next()) {
    auto& [type, data] = *f;
    int inFd = pty_ ? pty_.get() : in_.get();
    if (type == Frame::Stdin && inFd >= 0) {
      (void)writeAll(inFd, data);
    } else if (type == Frame::StdinClose && !pty_) {
      in_.reset();
    } else if (type == Frame::Resize && pty_ && data.size() == 4) {
      auto u = [&](size_t k) { return static_cast<unsigned short>(static_cast<unsigned char>(data[k])); };
      winsize ws{};
      ws.ws_row = static_cast<unsigned short>((u(0) << 8) | u(1));
      ws.ws_col = static_cast<unsigned short>((u(2) << 8) | u(3));
      ::ioctl(pty_.get(), TIOCSWINSZ, &ws);
    }
  }
}

int Session::loop(int listenFd) {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  UniqueFd sigfd(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
  int outFd = pty_ ? pty_.get() : out_.get();
  int errFd = pty_ ? -1 : err_.get();
  bool exited = false;
  int status = 0;
  parsers_.resize(clients_.size());
  while (!exited || outFd >= 0 || errFd >= 0) {
    std::vector<pollfd> fds = {{sigfd.get(), POLLIN, 0}, {outFd, POLLIN, 0}, {errFd, POLLIN, 0},
                               {listenFd, POLLIN, 0}};
    for (int c : clients_) fds.push_back({c, POLLIN, 0});
    // After the process exited, output still buffered is drained without waiting forever.
    int timeout = exited ? 200 : -1;
    int n = ::poll(fds.data(), fds.size(), timeout);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0 && exited) break;
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo si;
      while (::read(sigfd.get(), &si, sizeof si) > 0) {
      }
      int ws = 0;
      pid_t p;
      // As a subreaper the monitor also collects orphans; only the container's pid 1 counts.
      while ((p = ::waitpid(-1, &ws, WNOHANG)) > 0) {
        if (p == pid_) {
          exited = true;
          status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
        }
      }
    }
    if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) onOutput(outFd, "stdout", outPending_);
    if (fds[2].revents & (POLLIN | POLLHUP | POLLERR)) onOutput(errFd, "stderr", errPending_);
    // Only the clients that were polled have revents; one accepted below waits for the next poll.
    const size_t polled = fds.size() - 4;
    if (fds[3].revents & POLLIN) {
      int c = ::accept4(listenFd, nullptr, nullptr, SOCK_CLOEXEC);
      if (c >= 0) {
        clients_.push_back(c);
        parsers_.emplace_back();
      }
    }
    for (size_t i = 0; i < polled; ++i)
      if (clients_[i] >= 0 && (fds[4 + i].revents & (POLLIN | POLLHUP | POLLERR))) onClient(i);
    // Forget closed clients.
    for (size_t i = clients_.size(); i-- > 0;) {
      if (clients_[i] < 0) {
        clients_.erase(clients_.begin() + static_cast<long>(i));
        parsers_.erase(parsers_.begin() + static_cast<long>(i));
      }
    }
  }
  return status;
}

UniqueFd listenOn(const Paths& p) {
  // Store paths can be longer than a socket address allows (108 bytes): bind through a
  // short /proc/self/fd path to the container directory instead.
  auto dir = openFile(p.dir, O_PATH | O_DIRECTORY);
  if (!dir) return UniqueFd();
  std::string path = socketPath(dir->get());
  ::unlink(p.attachSocket().c_str());
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  if (!fd || ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0 ||
      ::listen(fd.get(), 16) < 0)
    return UniqueFd();
  return fd;
}

bool shouldRestart(const Record& r, const State& s, const Paths& p) {
  if (pathExists(p.stopMarker())) return false;
  const std::string& policy = r.host.restartPolicy;
  if (policy == "always" || policy == "unless-stopped") return true;
  if (policy == "on-failure")
    return s.exitCode != 0 && (r.host.restartMaxRetries == 0 || s.restartCount < r.host.restartMaxRetries);
  return false;
}

void writeOutcome(int fd, const StartOutcome& o) {
  std::string msg = std::to_string(o.started ? 0 : o.exitCode) + "\n" + o.message;
  (void)writeAll(fd, msg);
}

// The monitor process body. Never returns.
[[noreturn]] void runMonitor(Containers& cs, const Record& r, int client, int statusFd) {
  ::setsid();
  ::prctl(PR_SET_NAME, "strata-monitor");
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  ::signal(SIGPIPE, SIG_IGN);
  ::signal(SIGHUP, SIG_IGN);
  ::signal(SIGINT, SIG_IGN);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  ::sigprocmask(SIG_BLOCK, &mask, nullptr);
  // Let go of the terminal and the caller's pipes ($(strata run -d ...) must see EOF).
  int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  for (int fd = 0; fd < 3; ++fd) ::dup2(devnull, fd);
  for (int fd = 3; fd < 1024; ++fd)
    if (fd != client && fd != statusFd) ::close(fd);

  Paths p = cs.paths(r.id);
  UniqueFd listenFd = listenOn(p);
  State st = cs.state(r.id).value_or(State{});
  st.monitorPid = ::getpid();
  st.monitorStartTime = startTimeOf(::getpid());
  std::vector<int> clients;
  if (client >= 0) clients.push_back(client);
  for (bool first = true;; first = false) {
    auto spec = specFor(cs, r);
    Session session(cs, r, clients);
    clients.clear();  // the session owns them now
    // The network is set up before each start and released after each exit.
    Result<NetworkRun> net = spec ? NetworkRun::prepare(cs, r, *spec) : Result<NetworkRun>(fail(spec.error()));
    StartOutcome o = net ? session.launch(*spec, net->hook()) : StartOutcome{false, 125, net.error().what()};
    if (!o.started) {
      st.status = first ? RunStatus::Created : RunStatus::Exited;
      st.exitCode = o.exitCode;
      st.error = o.message;
      st.pid = 0;
      st.monitorPid = 0;
      (void)cs.saveState(r.id, st);
      if (first) writeOutcome(statusFd, o);
      break;
    }
    st.status = RunStatus::Running;
    st.pid = session.pid();
    st.exitCode = 0;
    st.error.clear();
    st.oomKilled = false;
    st.startedAt = nowRfc3339Nano();
    st.finishedAt = "0001-01-01T00:00:00Z";
    if (auto ns = net->started(session.pid())) st.network = std::move(*ns);
    else st.error = ns.error().what();
    (void)cs.saveState(r.id, st);
    if (first) {
      writeOutcome(statusFd, o);
      ::close(statusFd);
    }
    int code = session.loop(listenFd.get());
    st.oomKilled = runtime::oomKilled(r.id);
    (void)runtime::cleanup(*spec);
    net->finish();
    st.network = NetworkState{};
    st.status = RunStatus::Exited;
    st.exitCode = code;
    st.pid = 0;
    st.finishedAt = nowRfc3339Nano();
    bool again = shouldRestart(r, st, p);
    if (again) {
      st.status = RunStatus::Restarting;
      ++st.restartCount;
    } else {
      st.monitorPid = 0;
    }
    (void)cs.saveState(r.id, st);
    session.finish(code);
    if (!again) break;
    // Docker backs off between restarts; a fixed short delay keeps a crash loop cheap.
    std::this_thread::sleep_for(std::chrono::milliseconds(100 * std::min(st.restartCount, 50)));
    if (pathExists(p.stopMarker())) {
      st.status = RunStatus::Exited;
      st.monitorPid = 0;
      (void)cs.saveState(r.id, st);
      break;
    }
  }
  ::unlink(p.attachSocket().c_str());
  if (r.host.autoRemove) (void)cs.remove(r.id);
  ::_exit(0);
}

}  // namespace

Result<StartOutcome> start(Containers& cs, const Record& r, int client) {
  int statusPipe[2];
  if (::pipe2(statusPipe, O_CLOEXEC) < 0) return failErrno("pipe");
  ::unlink(cs.paths(r.id).stopMarker().c_str());
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(statusPipe[0]);
    ::close(statusPipe[1]);
    return failErrno("fork container monitor");
  }
  if (pid == 0) {
    ::close(statusPipe[0]);
    runMonitor(cs, r, client, statusPipe[1]);
  }
  ::close(statusPipe[1]);
  UniqueFd rd(statusPipe[0]);
  std::string reply = TRY(readAll(rd.get()));
  // The monitor is not our child for long: it outlives us. Reap it if it already exited
  // (a failed start), otherwise leave it; init adopts it when we exit.
  ::waitpid(pid, nullptr, WNOHANG);
  auto nl = reply.find('\n');
  if (nl == std::string::npos) return failInvalid("container monitor died before starting " + r.id.substr(0, 12));
  int code = std::atoi(reply.substr(0, nl).c_str());
  if (code == 0) return StartOutcome{true, 0, "", pid};
  return StartOutcome{false, code, reply.substr(nl + 1), pid};
}

}  // namespace strata::container
