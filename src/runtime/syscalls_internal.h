// Private to src/runtime: the raw system calls the runtime makes without a glibc wrapper, or
// where glibc's wrapper must be avoided in a child made by a raw clone (glibc's set*id wrappers
// signal every thread glibc believes exists; after a raw clone that list is stale).
#pragma once

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

namespace strata::runtime::sys {

// openat2(2), always O_CLOEXEC; retries the EAGAIN that RESOLVE_IN_ROOT returns when a rename
// raced with the lookup. Returns the fd or -1 with errno.
inline int openat2(int dirfd, const char* path, uint64_t flags, uint64_t resolve,
                   uint64_t mode = 0) {
  open_how how{};
  how.flags = flags | O_CLOEXEC;
  how.mode = mode;
  how.resolve = resolve;
  for (int attempt = 0;; ++attempt) {
    long fd = ::syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    if (fd >= 0) return static_cast<int>(fd);
    if ((errno != EAGAIN && errno != EINTR) || attempt >= 16) return -1;
  }
}

inline int pivotRoot(const char* newRoot, const char* putOld) {
  return static_cast<int>(::syscall(SYS_pivot_root, newRoot, putOld));
}

// struct clone_args, version 0 (64 bytes): spelled out here because <linux/sched.h> and glibc's
// <sched.h> do not mix in every version.
struct CloneArgs {
  uint64_t flags;
  uint64_t pidfd;
  uint64_t childTid;
  uint64_t parentTid;
  uint64_t exitSignal;
  uint64_t stack;
  uint64_t stackSize;
  uint64_t tls;
};

// fork() with namespace flags: clone3 (clone on kernels without it) with no new stack and no
// CLONE_VM, so the child runs on a copy-on-write copy of the caller's stack, as after fork().
// Returns 0 in the child, the child's pid in the caller, -1 with errno. glibc does not know about
// this child: it must not create threads, call pthread functions or raise(), and must end with
// _exit or exec.
inline pid_t cloneProcess(uint64_t flags, int exitSignal) {
  CloneArgs args{};
  args.flags = flags;
  args.exitSignal = static_cast<uint64_t>(exitSignal);
  long r = ::syscall(SYS_clone3, &args, sizeof args);
  if (r >= 0 || errno != ENOSYS) return static_cast<pid_t>(r);
  // x86_64 and arm64 argument order: flags, stack, parent_tid, child_tid, tls.
  return static_cast<pid_t>(::syscall(SYS_clone, flags | static_cast<uint64_t>(exitSignal), 0, 0, 0, 0));
}

inline int setresuid(uid_t r, uid_t e, uid_t s) {
  return static_cast<int>(::syscall(SYS_setresuid, r, e, s));
}
inline int setresgid(gid_t r, gid_t e, gid_t s) {
  return static_cast<int>(::syscall(SYS_setresgid, r, e, s));
}
inline int setgroups(size_t n, const gid_t* groups) {
  return static_cast<int>(::syscall(SYS_setgroups, n, groups));
}

// setfsuid/setfsgid return the previous id; -1 changes nothing and so reads the current one.
inline uid_t setfsuid(uid_t id) { return static_cast<uid_t>(::syscall(SYS_setfsuid, id)); }
inline gid_t setfsgid(gid_t id) { return static_cast<gid_t>(::syscall(SYS_setfsgid, id)); }

}  // namespace strata::runtime::sys
