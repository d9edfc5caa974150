#include <sys/mount.h>
#include <sys/statvfs.h>

#include <string_view>

#include "runtime/mounts_internal.h"

namespace strata::runtime::detail {

namespace {

struct FlagOption {
  std::string_view name;
  bool clear;  // the option clears the flag ("rw" clears MS_RDONLY)
  unsigned long flag;
};

constexpr FlagOption kFlags[] = {
    {"async", true, MS_SYNCHRONOUS},   {"atime", true, MS_NOATIME},
    {"defaults", false, 0},            {"dev", true, MS_NODEV},
    {"diratime", true, MS_NODIRATIME}, {"dirsync", false, MS_DIRSYNC},
    {"exec", true, MS_NOEXEC},         {"mand", false, MS_MANDLOCK},
    {"noatime", false, MS_NOATIME},    {"nodev", false, MS_NODEV},
    {"nodiratime", false, MS_NODIRATIME}, {"noexec", false, MS_NOEXEC},
    {"nomand", true, MS_MANDLOCK},     {"norelatime", true, MS_RELATIME},
    {"nostrictatime", true, MS_STRICTATIME}, {"nosuid", false, MS_NOSUID},
    {"relatime", false, MS_RELATIME},  {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},           {"strictatime", false, MS_STRICTATIME},
    {"suid", true, MS_NOSUID},         {"sync", false, MS_SYNCHRONOUS},
};

struct PropagationOption {
  std::string_view name;
  unsigned long flag;
};

constexpr PropagationOption kPropagation[] = {
    {"private", MS_PRIVATE},   {"rprivate", MS_PRIVATE | MS_REC},
    {"shared", MS_SHARED},     {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},       {"rslave", MS_SLAVE | MS_REC},
    {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

}  // namespace

MountOptions parseMountOptions(const Mount& m) {
  MountOptions out;
  out.bind = m.type == "bind";
  out.recursive = out.bind;  // binds are recursive unless "bind" says otherwise
  for (const std::string& opt : m.options) {
    if (opt == "bind" || opt == "rbind") {
      out.bind = true;
      out.recursive = opt == "rbind";
      continue;
    }
    bool known = false;
    for (const FlagOption& f : kFlags) {
      if (opt != f.name) continue;
      if (f.clear) {
        out.flags &= ~f.flag;
      } else {
        out.flags |= f.flag;
      }
      known = true;
    }
    for (const PropagationOption& p : kPropagation) {
      if (opt != p.name) continue;
      out.propagation = p.flag;
      known = true;
    }
    if (known) continue;
    if (!out.data.empty()) out.data += ',';
    out.data += opt;
  }
  return out;
}

unsigned long mountFlagsOf(const std::string& path) {
  struct statvfs st;
  if (::statvfs(path.c_str(), &st) < 0) return 0;
  constexpr std::pair<unsigned long, unsigned long> kMap[] = {
      {ST_RDONLY, MS_RDONLY},         {ST_NOSUID, MS_NOSUID},     {ST_NODEV, MS_NODEV},
      {ST_NOEXEC, MS_NOEXEC},         {ST_SYNCHRONOUS, MS_SYNCHRONOUS},
      {ST_MANDLOCK, MS_MANDLOCK},     {ST_NOATIME, MS_NOATIME},   {ST_NODIRATIME, MS_NODIRATIME},
      {ST_RELATIME, MS_RELATIME},
  };
  unsigned long flags = 0;
  for (auto [st_flag, ms_flag] : kMap) {
    if (st.f_flag & st_flag) flags |= ms_flag;
  }
  return flags;
}

Status bindRemount(const std::string& target, unsigned long flags, const std::string& display) {
  unsigned long base = MS_BIND | MS_REMOUNT;
  if (::mount(nullptr, target.c_str(), nullptr, base | flags, nullptr) == 0) return {};
  if (errno == EPERM) {
    // Flags locked by the kernel (nosuid, nodev, noexec, atime of the source mount) have to be
    // repeated on a remount.
    unsigned long keep = mountFlagsOf(target) & ~MS_RDONLY;
    if (::mount(nullptr, target.c_str(), nullptr, base | flags | keep, nullptr) == 0) return {};
  }
  return failErrno("remount " + display);
}

}  // namespace strata::runtime::detail
