// Slash-separated paths as Dockerfiles, image configs and .dockerignore files write them.
#pragma once

#include <string>
#include <string_view>

namespace strata {

// Lexical cleaning with Go's path.Clean rules: repeated `/` collapse, `.` elements go, `..`
// removes the element before it (or stays at the start of a relative path, or vanishes at the
// root), no trailing `/`; an empty result is ".".
std::string cleanPath(std::string_view path);

}  // namespace strata
