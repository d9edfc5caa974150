#include "build/lower_stack.h"

#include "runtime/runtime.h"

namespace strata::build {

std::vector<std::string> LowerStack::lowerDirs(const std::vector<std::string>& trees) {
  std::vector<std::string> out(trees.rbegin(), trees.rend());
  if (trees.size() <= kDirect) return out;
  // The bottom `merged` layers come from one base: between kStride and kDirect - 1 stay direct.
  const std::size_t merged = (trees.size() - kStride) / kStride * kStride;
  std::vector<std::string> bottom(trees.begin(), trees.begin() + static_cast<std::ptrdiff_t>(merged));
  std::lock_guard lock(mutex_);
  if (unavailable_) return out;
  auto it = bases_.find(bottom);
  if (it == bases_.end()) {
    auto fd = runtime::mountDetachedLayers({bottom.rbegin(), bottom.rend()});
    // Only the kernel's support can fail here (the layers are the store's own); the steps then
    // mount every layer, as they do below kDirect.
    if (!fd) {
      unavailable_ = true;
      return out;
    }
    it = bases_.emplace(std::move(bottom), std::move(*fd)).first;
  }
  out.resize(trees.size() - merged);
  out.push_back("/proc/self/fd/" + std::to_string(it->second.get()));
  return out;
}

}  // namespace strata::build
