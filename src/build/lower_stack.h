// The lower directories of a build step's root.
//
// A step's overlay takes one lower directory per layer, so a build of n steps would hand the
// kernel n(n+1)/2 of them, each looked up and checked at mount time. Past kDirect layers the
// bottom ones are merged once by a detached read-only overlay (runtime::mountDetachedLayers)
// that the steps above reuse as a single lower directory; a new base is made every kStride
// layers. Each step then mounts at most kDirect lower directories, and the bases cost
// n²/(2·kStride) in all. Where the kernel cannot stack so, every step gets every layer.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "util/fd.h"

namespace strata::build {

class LowerStack {
 public:
  static constexpr std::size_t kDirect = 32;
  static constexpr std::size_t kStride = 16;

  // trees: a step's layer trees, bottom first. Returns its lower directories, top first.
  // Thread-safe; the merged bases last as long as this object.
  std::vector<std::string> lowerDirs(const std::vector<std::string>& trees);

 private:
  std::mutex mutex_;
  bool unavailable_ = false;
  std::map<std::vector<std::string>, UniqueFd> bases_;  // keyed by the trees each merges
};

}  // namespace strata::build
