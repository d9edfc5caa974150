// Capabilities by raw syscalls (capget/capset, prctl), no libcap.
#include "runtime/caps.h"

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <string_view>

#include "util/fs.h"

namespace strata::runtime::caps {
namespace {

// Index = capability number, as in <linux/capability.h>.
// clang-format off
constexpr std::array<std::string_view, 41> kNames = {
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
    "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID",
    "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
    "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
    "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};
// clang-format on
static_assert(CAP_SETPCAP == 8 && CAP_MKNOD == 27 && CAP_SETFCAP == 31);
#ifdef CAP_CHECKPOINT_RESTORE
static_assert(CAP_CHECKPOINT_RESTORE == 40);
#endif

// The kernel's highest capability number. /proc may be missing or the container's by the time
// apply() runs, so when the file is unreadable, probe the bounding set: PR_CAPBSET_READ fails
// with EINVAL past the last capability.
int lastCap() {
  if (auto s = readFile("/proc/sys/kernel/cap_last_cap")) {
    int n = -1;
    std::from_chars(s->data(), s->data() + s->size(), n);
    if (n >= 0 && n < 64) return n;
  }
  int n = 0;
  while (n < 63 && ::prctl(PR_CAPBSET_READ, n + 1, 0, 0, 0) >= 0) ++n;
  return n;
}

uint64_t maskUpTo(int last) { return last >= 63 ? ~uint64_t{0} : (uint64_t{1} << (last + 1)) - 1; }

std::string capName(unsigned bit) {
  return bit < kNames.size() ? std::string(kNames[bit]) : "CAP_" + std::to_string(bit);
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

struct CapSets {
  uint64_t effective = 0, permitted = 0, inheritable = 0;
};

Result<CapSets> capget() {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (::syscall(SYS_capget, &hdr, data) < 0) return failErrno("capget");
  auto join = [](uint32_t lo, uint32_t hi) { return uint64_t{lo} | uint64_t{hi} << 32; };
  return CapSets{join(data[0].effective, data[1].effective),
                 join(data[0].permitted, data[1].permitted),
                 join(data[0].inheritable, data[1].inheritable)};
}

Status capset(const CapSets& s) {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  for (int i = 0; i < 2; ++i) {
    data[i].effective = static_cast<uint32_t>(s.effective >> (32 * i));
    data[i].permitted = static_cast<uint32_t>(s.permitted >> (32 * i));
    data[i].inheritable = static_cast<uint32_t>(s.inheritable >> (32 * i));
  }
  if (::syscall(SYS_capset, &hdr, data) < 0) return failErrno("capset");
  return {};
}

}  // namespace

Status raiseEffective() {
  CapSets now = TRY_CTX(capget(), "raise effective capabilities");
  now.effective = now.permitted;
  TRYV_CTX(capset(now), "raise effective capabilities");
  return {};
}

Result<uint64_t> parse(const std::string& name) {
  std::string n = upper(name);
  if (n == "ALL" || n == "CAP_ALL") return maskUpTo(lastCap());
  if (!n.starts_with("CAP_")) n = "CAP_" + n;
  auto it = std::find(kNames.begin(), kNames.end(), n);
  if (it == kNames.end()) return failInvalid("unknown capability: " + name);
  return uint64_t{1} << (it - kNames.begin());
}

uint64_t available() {
  uint64_t set = 0;
  const unsigned last = static_cast<unsigned>(lastCap());
  for (unsigned bit = 0; bit <= last && bit < 64; ++bit)
    if (::prctl(PR_CAPBSET_READ, bit, 0, 0, 0) == 1) set |= uint64_t{1} << bit;
  return set;
}

std::vector<std::string> names(uint64_t set) {
  std::vector<std::string> out;
  for (unsigned bit = 0; bit < 64; ++bit) {
    if (!(set & (uint64_t{1} << bit))) continue;
    out.push_back(capName(bit));
  }
  return out;
}

// Order matters. After setuid with PR_SET_KEEPCAPS the permitted set survives but the effective
// set is empty, and dropping from the bounding set needs CAP_SETPCAP in effective: so first
// raise effective to permitted, then shrink the bounding set, then set the final sets.
//
// Docker (since 20.10.14, CVE-2022-24769) leaves inheritable and ambient empty for every user:
// at exec a root process gets permitted = effective = bounding (root's files count as fully
// capable), a non-root one gets nothing unless a file grants it. So both cases set inheritable
// to empty and never raise ambient; nonRootUser changes nothing here, the kernel's exec rules
// make the difference.
Status apply(uint64_t keep, bool nonRootUser) {
  (void)nonRootUser;
  int last = lastCap();
  keep &= maskUpTo(last);

  TRYV_CTX(raiseEffective(), "apply capabilities");

  for (int c = 0; c <= last; ++c) {
    if (keep & (uint64_t{1} << c)) continue;
    if (::prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
      return failErrno("drop " + capName(c) + " from the bounding set");
  }
  // EINVAL: a kernel without ambient capabilities (< 4.3) has none to clear.
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
    return failErrno("clear ambient capabilities");

  TRYV_CTX(capset(CapSets{keep, keep, 0}), "apply capabilities");
  // keepcaps has done its job; a later setuid in this process should drop capabilities again.
  if (::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) return failErrno("clear keepcaps");
  return {};
}

}  // namespace strata::runtime::caps
