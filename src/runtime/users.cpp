#include <sys/prctl.h>

#include <charconv>
#include <set>

#include "runtime/syscalls_internal.h"
#include "runtime/users_internal.h"
#include "util/fs.h"

namespace strata::runtime::detail {

namespace {

constexpr long long kMaxId = 2147483647;  // Docker: "uids and gids must be in range 0-2147483647"
const char kRangeError[] = "uids and gids must be in range 0-2147483647";
const char kNoPasswd[] = "no matching entries in passwd file";
const char kNoGroup[] = "no matching entries in group file";

struct PasswdEntry {
  std::string name;
  long long uid = 0;
  long long gid = 0;
  std::string home;
};

struct GroupEntry {
  std::string name;
  long long gid = 0;
  std::vector<std::string> members;
};

// A decimal integer filling all of s (Go's strconv.Atoi).
std::optional<long long> number(std::string_view s) {
  long long v = 0;
  const char* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data() + (!s.empty() && s[0] == '+'), end, v);
  if (s.empty() || ec != std::errc() || p != end) return std::nullopt;
  return v;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (;;) {
    size_t i = s.find(sep);
    out.push_back(s.substr(0, i));
    if (i == std::string_view::npos) return out;
    s.remove_prefix(i + 1);
  }
}

std::string_view trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

// Non-empty lines, trimmed, split into fields. Missing fields are empty; bad numbers are 0
// (as moby/sys/user parses them).
template <typename F>
void eachLine(const std::string& text, F f) {
  for (std::string_view line : split(text, '\n')) {
    line = trim(line);
    if (line.empty()) continue;
    std::vector<std::string_view> fields = split(line, ':');
    fields.resize(std::max<size_t>(fields.size(), 7));
    f(fields);
  }
}

std::vector<PasswdEntry> parsePasswd(const std::string& text) {
  std::vector<PasswdEntry> out;
  eachLine(text, [&](const std::vector<std::string_view>& f) {
    out.push_back(
        {std::string(f[0]), number(f[2]).value_or(0), number(f[3]).value_or(0), std::string(f[5])});
  });
  return out;
}

std::vector<GroupEntry> parseGroup(const std::string& text) {
  std::vector<GroupEntry> out;
  eachLine(text, [&](const std::vector<std::string_view>& f) {
    GroupEntry g{std::string(f[0]), number(f[2]).value_or(0), {}};
    if (!f[3].empty()) {
      for (std::string_view m : split(f[3], ',')) g.members.emplace_back(trim(m));
    }
    out.push_back(std::move(g));
  });
  return out;
}

bool inRange(long long id) { return id >= 0 && id <= kMaxId; }

std::optional<std::string> readIfExists(const std::string& path) {
  auto content = readFile(path);
  if (!content) return std::nullopt;
  return std::move(*content);
}

}  // namespace

Result<ExecUser> resolveUser(std::string_view spec, const std::optional<std::string>& passwd,
                             const std::optional<std::string>& group,
                             const std::vector<std::string>& additionalGroups) {
  size_t colon = spec.find(':');
  std::string userArg(spec.substr(0, colon));
  std::string groupArg(colon == std::string_view::npos ? "" : spec.substr(colon + 1));
  std::optional<long long> uidArg = number(userArg);
  std::optional<long long> gidArg = number(groupArg);

  ExecUser user;
  std::vector<PasswdEntry> users = passwd ? parsePasswd(*passwd) : std::vector<PasswdEntry>{};
  const PasswdEntry* match = nullptr;
  for (const PasswdEntry& u : users) {
    bool hit = userArg.empty() ? u.uid == 0 : uidArg ? u.uid == *uidArg : u.name == userArg;
    if (hit) {
      match = &u;  // first match wins
      break;
    }
  }
  std::string matchedName;
  if (match != nullptr) {
    matchedName = match->name;
    user.uid = static_cast<uid_t>(match->uid);
    user.gid = static_cast<gid_t>(match->gid);
    user.home = match->home;
  } else if (!userArg.empty()) {
    if (!uidArg) return failInvalid("unable to find user " + userArg + ": " + kNoPasswd);
    if (!inRange(*uidArg)) return failInvalid(kRangeError);
    user.uid = static_cast<uid_t>(*uidArg);
  }

  std::vector<GroupEntry> groups = group ? parseGroup(*group) : std::vector<GroupEntry>{};
  if (!groupArg.empty()) {
    const GroupEntry* g = nullptr;
    for (const GroupEntry& e : groups) {
      if (gidArg ? e.gid == *gidArg : e.name == groupArg) {
        g = &e;
        break;
      }
    }
    if (g != nullptr) {
      user.gid = static_cast<gid_t>(g->gid);
    } else {
      if (!gidArg) return failInvalid("unable to find group " + groupArg + ": " + kNoGroup);
      if (!inRange(*gidArg)) return failInvalid(kRangeError);
      user.gid = static_cast<gid_t>(*gidArg);
    }
  } else if (!matchedName.empty()) {
    // Supplementary groups only in the implicit form, as runc does.
    for (const GroupEntry& e : groups) {
      for (const std::string& m : e.members) {
        if (m == matchedName) {
          user.groups.push_back(static_cast<gid_t>(e.gid));
          break;
        }
      }
    }
  }

  std::set<gid_t> added;
  for (const std::string& ag : additionalGroups) {
    std::optional<long long> gid;
    for (const GroupEntry& e : groups) {
      if (e.name == ag || (number(ag) && e.gid == *number(ag))) {
        gid = e.gid;
        break;
      }
    }
    if (!gid) {
      gid = number(ag);
      if (!gid) return failInvalid("Unable to find group " + ag + ": " + kNoGroup);
      if (!inRange(*gid)) return failInvalid("Unable to find group " + ag + ": " + kRangeError);
    }
    if (added.insert(static_cast<gid_t>(*gid)).second) {
      user.groups.push_back(static_cast<gid_t>(*gid));
    }
  }
  if (user.home.empty()) user.home = "/";
  return user;
}

Result<ExecUser> resolveUserInRoot(std::string_view spec,
                                   const std::vector<std::string>& additionalGroups) {
  // Read even for the default user: root's HOME comes from passwd too.
  return resolveUser(spec, readIfExists("/etc/passwd"), readIfExists("/etc/group"),
                     additionalGroups);
}

Status switchUser(const ExecUser& user, bool primaryAmongSupplementary) {
  // Docker's containers carry their primary group among the supplementary ones too
  // (`id` shows "groups=0(root),10(wheel)" for root, "groups=65534(nogroup)" for nobody);
  // BuildKit's RUN steps do not.
  std::vector<gid_t> groups;
  if (primaryAmongSupplementary) groups.push_back(user.gid);
  for (gid_t g : user.groups)
    if (g != user.gid) groups.push_back(g);
  if (sys::setgroups(groups.size(), groups.data()) < 0) {
    return failErrno("setgroups");
  }
  if (sys::setresgid(user.gid, user.gid, user.gid) < 0) {
    return failErrno("setgid " + std::to_string(user.gid));
  }
  // Keep the permitted set across the uid change; caps::apply trims it afterwards.
  if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) return failErrno("prctl(PR_SET_KEEPCAPS)");
  if (sys::setresuid(user.uid, user.uid, user.uid) < 0) {
    return failErrno("setuid " + std::to_string(user.uid));
  }
  return {};
}

}  // namespace strata::runtime::detail
