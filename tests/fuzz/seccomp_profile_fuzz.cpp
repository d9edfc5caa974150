// libFuzzer target: Docker seccomp profiles (--security-opt seccomp=FILE). Any input either
// fails with a message or parses into a profile that compiles or fails with a message; nothing
// crashes. Compiling builds BPF in memory and installs nothing.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "runtime/seccomp.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto profile = strata::runtime::seccomp::parseProfile(text);
  if (!profile) {
    if (profile.error().message().empty()) std::abort();
    return 0;
  }
  auto program = strata::runtime::seccomp::compile(*profile, ~uint64_t(0));
  if (!program && program.error().message().empty()) std::abort();
  return 0;
}
