// Private to src/runtime: resolving `--user` against the image's /etc/passwd and /etc/group the
// way Docker does (runc's GetExecUser, moby/sys/user), and the process identity that results.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.h"

namespace strata::runtime::detail {

struct ExecUser {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary: /etc/group membership, then additional groups
  std::string home = "/";
};

// spec is "", "user", "uid", "user:group", "uid:gid" (user and group by name or number).
// passwd/group are the files' contents, nullopt when the file does not exist. The rules:
//  - "" is root (uid 0, gid 0, home from root's passwd entry, else "/");
//  - a number is a uid whether or not passwd has it (gid 0 and home "/" when it has not);
//  - a name must be in passwd: "unable to find user NAME: no matching entries in passwd file";
//  - an explicit group replaces the user's gid (a name must be in group: "unable to find group
//    NAME: no matching entries in group file"); without one, the groups that list the user's
//    name become supplementary groups;
//  - additionalGroups (--group-add, by name or number) are appended.
Result<ExecUser> resolveUser(std::string_view spec, const std::optional<std::string>& passwd,
                             const std::optional<std::string>& group,
                             const std::vector<std::string>& additionalGroups);

// resolveUser against /etc/passwd and /etc/group of the calling process's root (the container
// after pivot_root).
Result<ExecUser> resolveUserInRoot(std::string_view spec,
                                   const std::vector<std::string>& additionalGroups);

// Sets supplementary groups, gid and uid (keeping capabilities across the uid change for
// caps::apply), with raw system calls: safe in a child made by a raw clone.
Status switchUser(const ExecUser& user, bool primaryAmongSupplementary);

}  // namespace strata::runtime::detail
