// Private to src/runtime: the channel between the runtime (parent) and the process it clones.
//
// A SOCK_SEQPACKET socketpair, both ends CLOEXEC, one fixed-size message per packet:
//   parent -> child  Go         the child is in its cgroup (and plugged in): it may finish
//                               setting up and exec
//   child -> parent  Error      a setup step failed: {errno, stage, message}; the child exits
//   child -> parent  Pid        exec(): the pid of the process that will run the command
//   child -> parent  PtyMaster  spec.tty: the pty master, passed with SCM_RIGHTS
// End of file with no Error means every holder of the child's end exec'd (CLOEXEC) or exited
// cleanly: the command is running.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>

#include "util/error.h"
#include "util/fd.h"

namespace strata::runtime::detail {

enum class MsgType : char { Go = 'G', Error = 'E', Pid = 'P', PtyMaster = 'M' };

struct Message {
  MsgType type = MsgType::Go;
  int32_t value = 0;  // Error: errno (0 for none); Pid: the pid
  char stage[32] = {};
  char text[2048] = {};
};

struct Channel {
  UniqueFd parent;
  UniqueFd child;
};
Result<Channel> makeChannel();

// Sends one message; passFd >= 0 rides along with SCM_RIGHTS. Never raises SIGPIPE.
Status sendMessage(int fd, MsgType type, int32_t value = 0, int passFd = -1);
// Receives one message, or nullopt at end of file. A passed fd is stored in *passed (CLOEXEC).
Result<std::optional<Message>> receiveMessage(int fd, UniqueFd* passed);

// The Error a child's Error message stands for.
Error errorOf(const Message& m);

// In a child: blocks until the parent says Go. False when the parent closed its end instead.
bool waitForGo(int fd);
// In a child: reports e (truncated to fit) as failing in stage and _exits with status.
[[noreturn]] void failAndExit(int fd, const char* stage, const Error& e, int status);

// What the parent learnt from a child once the channel reached end of file (or an error came).
struct ChildReport {
  std::optional<Error> error;
  std::optional<pid_t> pid;
  UniqueFd ptyMaster;
};
// Reads messages until end of file, or until an Error arrived and (when waitPid) a Pid too.
Result<ChildReport> collectReport(int fd, bool waitPid);

}  // namespace strata::runtime::detail
