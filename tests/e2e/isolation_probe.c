/* A static probe for test_container_isolation.sh: makes one system call a busybox image has no
 * tool for, and prints "ok" or the errno's name (EPERM, ENOSYS, ...), so that the test sees which
 * layer refused it (seccomp answers EPERM before the kernel can say ENOSYS or EINVAL).
 *
 *   probe kexec_load      kexec_load with an invalid architecture in its flags (EINVAL when
 *                         allowed: nothing is loaded or unloaded)
 *   probe init_module     init_module of an empty image (ENOEXEC when allowed)
 *   probe ptrace PID      PTRACE_ATTACH to PID (detached again at once when it works)
 *   probe rawsock         socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)
 *   probe read PATH       "ok N" with the number of bytes PATH reads (up to 1 MiB)
 *
 * Built by the test with `cc -static`; exit status 0 whatever the call did, 2 on bad usage. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int report(long rc) {
  if (rc < 0) {
    const char* name = strerrorname_np(errno);
    printf("%s\n", name ? name : "EUNKNOWN");
  } else {
    printf("ok\n");
  }
  return 0;
}

static int readAll(const char* path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return report(-1);
  static char buf[65536];
  long total = 0;
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0) return report(-1);
    if (n == 0 || (total += n) >= 1 << 20) break;
  }
  printf("ok %ld\n", total);
  return 0;
}

int main(int argc, char** argv) {
  const char* what = argc > 1 ? argv[1] : "";
  if (strcmp(what, "kexec_load") == 0)
    return report(syscall(SYS_kexec_load, 0UL, 0UL, NULL, 0xdead0000UL));
  if (strcmp(what, "init_module") == 0) return report(syscall(SYS_init_module, NULL, 0UL, ""));
  if (strcmp(what, "ptrace") == 0 && argc > 2) {
    pid_t pid = (pid_t)atol(argv[2]);
    long rc = ptrace(PTRACE_ATTACH, pid, NULL, NULL);
    if (rc == 0) {
      waitpid(pid, NULL, __WALL);
      ptrace(PTRACE_DETACH, pid, NULL, NULL);
    }
    return report(rc);
  }
  if (strcmp(what, "rawsock") == 0) return report(socket(AF_INET, SOCK_RAW, IPPROTO_ICMP));
  if (strcmp(what, "read") == 0 && argc > 2) return readAll(argv[2]);
  fprintf(stderr, "usage: probe kexec_load|init_module|ptrace PID|rawsock|read PATH\n");
  return 2;
}
