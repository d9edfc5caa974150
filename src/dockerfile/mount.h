// `RUN --mount=type=cache,target=/root/.cache,...`: the comma-separated key=value list.
#pragma once

#include <string_view>

#include "dockerfile/instructions.h"

namespace strata::dockerfile {

// Parses one --mount value with BuildKit's keys: type (bind, cache, tmpfs, secret, ssh),
// target|dst|destination, source|src, from, readonly|ro, rw|readwrite, id, sharing
// (shared|private|locked), mode (octal), uid, gid, size (tmpfs), required, env. Fails naming
// the offending key or value.
Result<Mount> parseMount(std::string_view value);

}  // namespace strata::dockerfile
