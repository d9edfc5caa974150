// Where the shared conformance data lives: BuildKit's and moby's own test files, kept beside the
// repository in ../shared/conformance. STRATA_CONFORMANCE_DIR overrides the location.
#pragma once

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace strata::testing {

inline std::string conformanceDir() {
  if (const char* dir = std::getenv("STRATA_CONFORMANCE_DIR"); dir && *dir) return dir;
  return std::string(STRATA_SOURCE_DIR) + "/../shared/conformance";
}

// The whole file, byte for byte; empty when it cannot be read (callers assert on counts).
inline std::string readConformanceFile(const std::string& relative) {
  std::ifstream in(conformanceDir() + "/" + relative, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace strata::testing
