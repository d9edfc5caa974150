// Linux capabilities: names <-> bits, and dropping to a set in the container process.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "util/error.h"

namespace strata::runtime::caps {

// "CAP_NET_ADMIN", "NET_ADMIN", "net_admin" -> bit; "ALL" -> every capability the kernel has.
Result<uint64_t> parse(const std::string& name);
std::vector<std::string> names(uint64_t set);  // "CAP_CHOWN", ... ascending
// The capabilities this process's bounding set still holds: what "ALL" can grant (a host that
// runs strata in a restricted sandbox may lack some).
uint64_t available();

// Sets the effective set to the permitted set (a change of fsuid away from 0 clears the file
// capabilities from the effective set; they stay permitted).
Status raiseEffective();

// In the container process, after setuid/setgid: drops every capability not in keep from the
// bounding set, sets permitted = effective = inheritable = keep, clears ambient. Call
// prctl(PR_SET_KEEPCAPS, 1) before setuid so that a non-root user keeps keep (then ambient is
// raised for keep so that exec keeps them, as Docker does for non-root users with caps).
Status apply(uint64_t keep, bool nonRootUser);

}  // namespace strata::runtime::caps
