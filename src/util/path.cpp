#include "util/path.h"

#include <vector>

namespace strata {

std::string cleanPath(std::string_view path) {
  if (path.empty()) return ".";
  const bool rooted = path.front() == '/';
  std::vector<std::string_view> parts;
  std::size_t leadingDotDots = 0;  // `..` elements kept at the start of a relative path
  for (std::size_t pos = 0; pos <= path.size();) {
    std::size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view elem = path.substr(pos, end - pos);
    pos = end + 1;
    if (elem.empty() || elem == ".") continue;
    if (elem == "..") {
      if (parts.size() > leadingDotDots) {
        parts.pop_back();
      } else if (!rooted) {
        parts.push_back(elem);
        ++leadingDotDots;
      }
      continue;
    }
    parts.push_back(elem);
  }
  std::string out = rooted ? "/" : "";
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out.push_back('/');
    out.append(parts[i]);
  }
  return out.empty() ? "." : out;
}

}  // namespace strata
