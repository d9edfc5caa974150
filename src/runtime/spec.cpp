#include "runtime/spec.h"

#include <linux/capability.h>

#include <string_view>

#include "runtime/caps.h"
#include "util/fs.h"

namespace strata::runtime {

uint64_t defaultCapabilities() {
  // Docker's default set (moby oci/caps/defaults.go).
  constexpr int kCaps[] = {
      CAP_CHOWN,  CAP_DAC_OVERRIDE, CAP_FSETID,  CAP_FOWNER,           CAP_MKNOD,
      CAP_NET_RAW, CAP_SETGID,      CAP_SETUID,  CAP_SETFCAP,          CAP_SETPCAP,
      CAP_NET_BIND_SERVICE,         CAP_SYS_CHROOT, CAP_KILL,          CAP_AUDIT_WRITE,
  };
  uint64_t set = 0;
  for (int c : kCaps) set |= uint64_t{1} << c;
  return set;
}

std::vector<std::string> defaultMaskedPaths() {
  return {"/proc/asound",        "/proc/acpi",        "/proc/kcore",
          "/proc/keys",          "/proc/latency_stats", "/proc/timer_list",
          "/proc/timer_stats",   "/proc/sched_debug", "/proc/scsi",
          "/sys/firmware",       "/sys/devices/virtual/powercap"};
}

std::vector<std::string> defaultReadonlyPaths() {
  return {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
}

namespace {

// A list as `[a b c]` with each element quoted only when it has spaces or is empty.
std::string list(const std::vector<std::string>& items, std::string_view sep = " ") {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += sep;
    const std::string& s = items[i];
    bool quote = s.empty() || s.find_first_of(" \t\n\"") != std::string::npos;
    if (!quote) {
      out += s;
      continue;
    }
    out += '"';
    for (char c : s) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "]";
}

std::string yesNo(bool b) { return b ? "true" : "false"; }

}  // namespace

std::string describe(const Spec& spec) {
  std::string out;
  auto line = [&out](std::string_view key, const std::string& value) {
    out.append(key).append(": ").append(value).append("\n");
  };
  line("id", spec.id);
  line("args", list(spec.args));
  line("env", list(spec.env));
  line("cwd", spec.cwd.empty() ? "/" : spec.cwd);
  line("user", spec.user.empty() ? "root (default)" : spec.user);
  if (!spec.additionalGroups.empty()) line("additional groups", list(spec.additionalGroups));
  line("tty", yesNo(spec.tty));
  line("init", yesNo(spec.init));
  line("rootfs", "overlay lower=" + list(spec.rootfs.lowerDirs, ":") + " upper=" +
                     spec.rootfs.upperDir + " work=" + spec.rootfs.workDir + " on " +
                     spec.rootfsMountPoint + (spec.readonlyRootfs ? " (read-only)" : ""));
  line("mount", "proc /proc; tmpfs /dev + null zero full random urandom tty; devpts /dev/pts; "
                "tmpfs /dev/shm; mqueue /dev/mqueue; sysfs /sys (ro)");
  for (const Mount& m : spec.mounts) {
    line("mount", m.type + " " + m.source + " -> " + m.destination + " " + list(m.options, ","));
  }
  line("masked", list(spec.maskedPaths));
  line("readonly", list(spec.readonlyPaths));
  line("hostname", spec.hostname);
  const bool newNet = spec.network == NetworkMode::None || spec.network == NetworkMode::Bridge;
  switch (spec.network) {
    case NetworkMode::None: line("network", "none (new namespace)"); break;
    case NetworkMode::Host: line("network", "host"); break;
    case NetworkMode::Bridge: line("network", "bridge (new namespace, " + spec.interface.name + ")"); break;
    case NetworkMode::Join: line("network", "join " + spec.joinNetns); break;
  }
  line("namespaces", std::string("mount pid uts ipc") + (newNet ? " net" : "") +
                         (spec.userns ? " user" : ""));
  if (const auto& u = spec.userns) {
    line("userns", "uid 0 -> " + std::to_string(u->hostUid) + ", gid 0 -> " +
                       std::to_string(u->hostGid) + ", " + std::to_string(u->size) + " ids");
  }
  line("capabilities", list(caps::names(spec.capabilities), ","));
  line("no_new_privileges", yesNo(spec.noNewPrivileges));
  line("seccomp", !spec.seccomp ? "unconfined" : spec.seccompProfile ? "profile" : "default");
  const Resources& r = spec.resources;
  std::string res;
  if (r.memoryBytes) res += "memory=" + std::to_string(*r.memoryBytes) + " ";
  if (r.cpuQuotaUs) {
    res += "cpu=" + std::to_string(*r.cpuQuotaUs) + "/" + std::to_string(r.cpuPeriodUs) + "us ";
  }
  if (r.pidsLimit) res += "pids=" + std::to_string(*r.pidsLimit) + " ";
  if (!res.empty()) res.pop_back();
  line("resources", res.empty() ? "unlimited" : res);
  return out;
}

Status writeMountPointLayer(const std::string& dir) {
  for (const char* d : {"proc", "sys", "dev", "dev/pts", "dev/shm", "dev/mqueue", "etc"})
    TRYV(mkdirAll(dir + "/" + d, 0755));
  for (const char* f : {"etc/hostname", "etc/hosts", "etc/resolv.conf"})
    TRYV(writeFileReplace(dir + "/" + f, ""));
  return {};
}

std::string hostsFile(const std::string& hostname, bool hostNetwork) {
  if (hostNetwork) {
    if (auto h = readFile("/etc/hosts")) return *h;
  }
  return "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
         "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\n"
         "ff02::2\tip6-allrouters\n127.0.1.1\t" + hostname + "\n";
}

}  // namespace strata::runtime
