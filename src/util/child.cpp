#include "util/child.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "util/fs.h"

namespace strata {

ChildProcess::ChildProcess(ChildProcess&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)), report_(std::move(o.report_)), what_(std::move(o.what_)) {}

ChildProcess::ChildProcess(pid_t pid, UniqueFd report, std::string what)
    : pid_(pid), report_(std::move(report)), what_(std::move(what)) {}

ChildProcess::~ChildProcess() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
  }
}

Result<ChildProcess> ChildProcess::spawn(std::string_view what, const std::function<Status()>& body) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) return failErrno("pipe");
  UniqueFd readEnd(p[0]), writeEnd(p[1]);
  pid_t pid = ::fork();
  if (pid < 0) return failErrno("fork");
  if (pid == 0) {
    readEnd.reset();
    // A reader that went away must fail our writes (EPIPE), not kill us without a report.
    ::signal(SIGPIPE, SIG_IGN);
    int code = 0;
    try {
      if (auto st = body(); !st) {
        report(writeEnd.get(), st.error());
        code = 1;
      }
    } catch (...) {
      report(writeEnd.get(), Error::invalid("unexpected exception in " + std::string(what)));
      code = 1;
    }
    ::_exit(code);
  }
  return ChildProcess(pid, std::move(readEnd), std::string(what));
}

Status ChildProcess::wait() {
  // The report comes before the exit; reading to the end of the pipe also waits for it.
  auto record = readAll(report_.get());
  report_.reset();
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0) {
    if (errno != EINTR) return failErrno("wait for " + what_);
  }
  pid_ = -1;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  if (WIFSIGNALED(status))
    return failInvalid(what_ + " was killed by signal " + std::to_string(WTERMSIG(status)));
  int32_t code = 0;
  uint32_t len = 0;
  if (!record || record->size() < sizeof code + sizeof len)
    return failInvalid(what_ + " failed without a report");
  std::memcpy(&code, record->data(), sizeof code);
  std::memcpy(&len, record->data() + sizeof code, sizeof len);
  return fail(Error(code, record->substr(sizeof code + sizeof len, len)));
}

void ChildProcess::report(int fd, const Error& e) {
  int32_t code = e.code();
  auto len = static_cast<uint32_t>(std::min<size_t>(e.message().size(), 1u << 15));
  std::string record(sizeof code + sizeof len, '\0');
  std::memcpy(record.data(), &code, sizeof code);
  std::memcpy(record.data() + sizeof code, &len, sizeof len);
  record.append(e.message(), 0, len);
  (void)writeAll(fd, record);
}

}  // namespace strata
