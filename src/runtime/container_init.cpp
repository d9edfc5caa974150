// What runs in the processes the runtime clones: the container's first process (start) and the
// process that joins a running container (exec). Each step's failure goes to the parent over the
// channel; nothing here returns or throws.
#include <fcntl.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "runtime/channel_internal.h"
#include "runtime/child_internal.h"
#include "runtime/mounts_internal.h"
#include "runtime/process_internal.h"
#include "runtime/syscalls_internal.h"
#include "runtime/userns_internal.h"

namespace strata::runtime::detail {

namespace {

// The container's file system, in the order runc sets it up. Returns the user to run as,
// resolved in the new root (which needs the root to be in place).
// A new network namespace starts with lo down; Docker's "none" network has it up (127.0.0.1).
Status loopbackUp() {
  UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock) return failErrno("socket for lo");
  struct ifreq ifr {};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  if (::ioctl(sock.get(), SIOCGIFFLAGS, &ifr) < 0) return failErrno("get flags of lo");
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
  if (::ioctl(sock.get(), SIOCSIFFLAGS, &ifr) < 0) return failErrno("bring lo up");
  return {};
}

// The container's end of its veth pair (plugged in by the parent before Go): address, netmask,
// up, default route through the gateway. ioctls, so nothing here needs a netlink socket.
Status interfaceUp(const Interface& itf) {
  UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock) return failErrno("socket for " + itf.name);
  auto inet = [](uint32_t a) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(a);
    return sin;
  };
  struct ifreq ifr {};
  std::strncpy(ifr.ifr_name, itf.name.c_str(), IFNAMSIZ - 1);
  sockaddr_in a = inet(itf.address);
  std::memcpy(&ifr.ifr_addr, &a, sizeof a);
  if (::ioctl(sock.get(), SIOCSIFADDR, &ifr) < 0) return failErrno("set the address of " + itf.name);
  const uint32_t mask = itf.prefix == 0 ? 0 : ~uint32_t{0} << (32 - itf.prefix);
  sockaddr_in m = inet(mask);
  std::memcpy(&ifr.ifr_netmask, &m, sizeof m);
  if (::ioctl(sock.get(), SIOCSIFNETMASK, &ifr) < 0) return failErrno("set the netmask of " + itf.name);
  if (::ioctl(sock.get(), SIOCGIFFLAGS, &ifr) < 0) return failErrno("get flags of " + itf.name);
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
  if (::ioctl(sock.get(), SIOCSIFFLAGS, &ifr) < 0) return failErrno("bring " + itf.name + " up");
  if (itf.gateway == 0) return {};
  struct rtentry rt {};
  sockaddr_in any = inet(0), gw = inet(itf.gateway);
  std::memcpy(&rt.rt_dst, &any, sizeof any);
  std::memcpy(&rt.rt_genmask, &any, sizeof any);
  std::memcpy(&rt.rt_gateway, &gw, sizeof gw);
  rt.rt_flags = RTF_UP | RTF_GATEWAY;
  if (::ioctl(sock.get(), SIOCADDRT, &rt) < 0) return failErrno("add the default route");
  return {};
}

// --network container:NAME: enter that container's network namespace, before /proc is replaced.
Status joinNetwork(const std::string& path) {
  UniqueFd ns(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns) return failErrno("open " + path);
  if (::setns(ns.get(), CLONE_NEWNET) < 0) return failErrno("join the network namespace " + path);
  return {};
}

Result<ExecUser> setupFilesystem(const Spec& spec, int usernsFd, const char*& stage) {
  if (spec.network == NetworkMode::Join) {
    stage = "network";
    TRYV(joinNetwork(spec.joinNetns));
  }
  stage = "rootfs";
  // Nothing mounted from here on may propagate back to the host.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) {
    return failErrno("make mounts private");
  }
  // In a user namespace, what is made in the root from here on belongs to the container's root.
  std::optional<ContainerRootFsIds> asContainerRoot;
  if (spec.userns) {
    asContainerRoot.emplace(TRY(ContainerRootFsIds::become(*spec.userns)));
    TRYV(mountIdmappedOverlay(spec.rootfs, spec.rootfsMountPoint, idmapTargets(spec.rootfs),
                              usernsFd));
  } else {
    TRYV(mountOverlay(spec.rootfs, spec.rootfsMountPoint));
  }
  int raw = ::open(spec.rootfsMountPoint.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (raw < 0) return failErrno("open the container root " + spec.rootfsMountPoint);
  UniqueFd root(raw);
  TRYV(mountDefaults(root.get(), spec.userns));
  stage = "mounts";
  TRYV(mountAll(root.get(), spec.mounts));
  stage = "rootfs";
  TRYV(pivotInto(root.get()));
  root.reset();

  stage = "user";
  ExecUser user = TRY(resolveUserInRoot(spec.user, spec.additionalGroups));
  stage = "cwd";
  // Still host root: the directories it makes get the user's host ids.
  TRYV(makeWorkdir(spec.cwd.empty() ? "/" : spec.cwd, hostUid(spec.userns, user.uid),
                   hostGid(spec.userns, user.gid)));

  stage = "rootfs";
  for (const std::string& p : spec.readonlyPaths) TRYV(readonlyPath(p));
  for (const std::string& p : spec.maskedPaths) TRYV(maskPath(p));
  if (spec.readonlyRootfs) TRYV(readonlyRoot());
  stage = "hostname";
  if (!spec.hostname.empty() && ::sethostname(spec.hostname.data(), spec.hostname.size()) < 0) {
    return failErrno("sethostname " + spec.hostname);
  }
  return user;
}

// The interfaces of a new network namespace; eth0 is plugged in by the parent before Go.
Status setupNetwork(const Spec& spec) {
  if (spec.network != NetworkMode::None && spec.network != NetworkMode::Bridge) return {};
  TRYV(loopbackUp());
  if (spec.network == NetworkMode::Bridge) TRYV(interfaceUp(spec.interface));
  return {};
}

// The seccomp filter, compiled before Go (nothing when the spec has none).
seccomp::Program compileFilter(const Spec& spec, int channel) {
  if (!spec.seccomp) return {};
  auto program = compileSeccomp(spec);
  if (!program) failAndExit(channel, "seccomp", program.error(), 125);
  return std::move(*program);
}

[[noreturn]] void containerMain(const Spec& spec, const Stdio& stdio, int channel, int usernsFd) {
  // The file system and the seccomp filter are made while the parent moves this process into
  // the container's cgroup (on cgroup v1 that move waits for an RCU grace period, about 10 ms)
  // and plugs in its network interface. Nothing runs in the container before Go.
  const char* stage = "rootfs";
  Result<ExecUser> user = setupFilesystem(spec, usernsFd, stage);
  if (!user) failAndExit(channel, stage, user.error(), 125);
  const seccomp::Program filter = compileFilter(spec, channel);
  if (!waitForGo(channel)) ::_exit(125);
  if (Status s = setupNetwork(spec); !s) failAndExit(channel, "network", s.error(), 125);
  Failure f = execProcess(spec, *user, stdio, channel,
                          {.runInit = spec.init,
                           .consoleMount = true,
                           .seccomp = &filter,
                           .usernsFd = usernsFd});
  failAndExit(channel, f.stage, f.error, std::string_view(f.stage) == "exec" ? 127 : 125);
}

// The process that will run an exec()'d command: in the container's pid namespace (it was
// cloned after setns), a child of the caller of exec() (CLONE_PARENT).
[[noreturn]] void execCommandMain(const Spec& spec, const Stdio& stdio, int channel,
                                  const seccomp::Program& filter, int usernsFd) {
  Result<ExecUser> user = resolveUserInRoot(spec.user, spec.additionalGroups);
  if (!user) failAndExit(channel, "user", user.error(), 125);
  Failure f = execProcess(spec, *user, stdio, channel, {.seccomp = &filter, .usernsFd = usernsFd});
  failAndExit(channel, f.stage, f.error, std::string_view(f.stage) == "exec" ? 127 : 125);
}

constexpr std::pair<int, const char*> kJoinOrder[] = {
    {CLONE_NEWIPC, "ipc"}, {CLONE_NEWUTS, "uts"}, {CLONE_NEWNET, "net"},
    {CLONE_NEWPID, "pid"}, {CLONE_NEWNS, "mnt"},
};

}  // namespace

std::vector<std::string> namespacesToJoin() {
  std::vector<std::string> out;
  for (auto [flag, name] : kJoinOrder) out.emplace_back(name);
  return out;
}

// Until it execs, a container process is strata's own binary and memory: not dumpable, so that
// the container's processes cannot ptrace it or open /proc/PID/exe (the runc CVE-2019-5736
// route to the host's binary). execve makes the command dumpable again; the --init never execs
// and stays protected.
static void hideFromTheContainer() { ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); }

void runContainerProcess(const Spec& spec, const Stdio& stdio, int channel, int usernsFd) noexcept {
  hideFromTheContainer();
  channel = moveAboveStdio(channel);
  try {
    containerMain(spec, stdio, channel, usernsFd);
  } catch (...) {
    failAndExit(channel, "rootfs", Error::invalid("container setup: unexpected exception"), 125);
  }
}

void runExecJoin(const Spec& spec, const Stdio& stdio, int channel,
                 const std::vector<UniqueFd>& namespaces, int usernsFd) noexcept {
  hideFromTheContainer();
  channel = moveAboveStdio(channel);
  try {
    const seccomp::Program filter = compileFilter(spec, channel);
    if (!waitForGo(channel)) ::_exit(125);
    size_t i = 0;
    for (auto [flag, name] : kJoinOrder) {
      if (::setns(namespaces[i++].get(), flag) < 0) {
        failAndExit(channel, "join",
                    Error::fromErrno(std::string("join the container's ") + name + " namespace"),
                    125);
      }
    }
    // A new pid namespace applies to children only: the command runs in a clone, which
    // CLONE_PARENT makes a child of exec()'s caller, so the caller can wait for it directly.
    pid_t pid = sys::cloneProcess(CLONE_PARENT, 0);
    if (pid < 0) failAndExit(channel, "join", Error::fromErrno("clone into the container"), 125);
    if (pid == 0) execCommandMain(spec, stdio, channel, filter, usernsFd);
    if (Status s = sendMessage(channel, MsgType::Pid, pid); !s) {
      ::kill(pid, SIGKILL);
      failAndExit(channel, "join", s.error(), 125);
    }
    ::_exit(0);
  } catch (...) {
    failAndExit(channel, "join", Error::invalid("exec setup: unexpected exception"), 125);
  }
}

}  // namespace strata::runtime::detail
