// libFuzzer target: .dockerignore reading and matching. The input is a path, a newline, then
// either the bytes of a .dockerignore file or (when the path starts with `@`) raw patterns, one
// per line. Any input either fails with a one-line error or gives answers on which the direct
// matcher, the incremental walk API and, for plain `*`/`?` globs, a naive reference matcher all
// agree; a subtree the walk may skip holds only excluded paths.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "dockerfile/ignore.h"

namespace {

using strata::Result;
using namespace strata::dockerfile;

void checkMessage(const strata::Error& e) {
  const std::string& msg = e.message();
  if (msg.empty() || msg.find('\n') != std::string::npos || msg.find('\r') != std::string::npos)
    std::abort();
}

int outcome(const Result<bool>& r) {
  if (!r) {
    checkMessage(r.error());
    return 2;
  }
  return *r ? 1 : 0;
}

// The path's `/`-separated elements without empty, "." and ".." ones, joined again.
std::string cleanRelative(std::string_view path) {
  std::string out;
  while (!path.empty()) {
    const std::size_t slash = path.find('/');
    const std::string_view elem = path.substr(0, slash);
    if (!elem.empty() && elem != "." && elem != "..") {
      if (!out.empty()) out += '/';
      out += elem;
    }
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

// Compares the walk API with the direct call at every ancestor of a clean relative path.
void checkWalk(const IgnoreMatcher& m, const std::string& path) {
  IgnoreDirState state;
  bool skipped = false;
  for (std::size_t k = 0; k < path.size(); ++k) {
    if (path[k] != '/') continue;
    const std::string dir = path.substr(0, k);
    auto d = m.matchDir(state, dir);
    const int want = outcome(m.matchesOrParentMatches(dir));
    if (!d) {
      checkMessage(d.error());
      if (want != 2) std::abort();
      return;
    }
    if (want != (d->excluded ? 1 : 0)) std::abort();
    if (skipped && !d->excluded) std::abort();
    skipped = skipped || d->skipSubtree;
    state = std::move(d->state);
  }
  const int want = outcome(m.matchesOrParentMatches(path));
  if (outcome(m.matchFile(state, path)) != want) std::abort();
  auto asDir = m.matchDir(state, path);
  if ((asDir ? (asDir->excluded ? 1 : 0) : (checkMessage(asDir.error()), 2)) != want) std::abort();
  if (skipped && want != 1) std::abort();
}

// Plain globs: only `*` (never doubled), `?` and characters without meaning (upstream passes
// `|{}` to its regular expression unescaped, so those are excluded too). The reference
// compares UTF-8 sequences naively (an invalid byte counts as one character, like the matcher).
bool plainGlob(std::string_view p) {
  if (p.empty() || p[0] == '!' || p.find("**") != std::string_view::npos) return false;
  for (unsigned char c : p)
    if (c == '[' || c == ']' || c == '\\' || c == '^' || c == '|' || c == '{' || c == '}' ||
        c <= 0x20 || c >= 0x80) {
      return false;
    }
  return true;
}

bool globMatch(std::string_view p, std::string_view s) {
  // dp[j]: p[0, i) matches s[0, j); characters are bytes (both sides are ASCII here or the
  // path's bytes, which `?` treats as characters only when ASCII; non-ASCII paths are skipped).
  std::vector<char> dp(s.size() + 1, 0), next(s.size() + 1);
  dp[0] = 1;
  for (char pc : p) {
    std::fill(next.begin(), next.end(), 0);
    for (std::size_t j = 0; j <= s.size(); ++j) {
      if (pc == '*') {
        next[j] = dp[j] || (j > 0 && next[j - 1] && s[j - 1] != '/');
      } else if (j > 0 && dp[j - 1]) {
        next[j] = pc == '?' ? s[j - 1] != '/' : s[j - 1] == pc;
      }
    }
    dp.swap(next);
  }
  return dp[s.size()];
}

void checkPlainGlob(const std::string& pattern, const std::string& path) {
  for (unsigned char c : path)
    if (c >= 0x80 || c == '\n') return;
  auto m = IgnoreMatcher::create({pattern});
  if (!m) std::abort();  // a plain glob is always valid
  // The cleaned pattern is what is matched; plain globs here are already clean or skipped.
  if (cleanRelative(pattern) != pattern) return;
  bool want = globMatch(pattern, path);
  for (std::size_t k = 0; k < path.size() && !want; ++k)
    if (path[k] == '/' && k > 0) want = globMatch(pattern, path.substr(0, k));
  auto got = m->matchesOrParentMatches(path);
  if (!got || *got != want) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;  // matching is O(path x pattern); keep runs quick
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::size_t nl = text.find('\n');
  std::string path(text.substr(0, nl));
  const std::string_view rest = nl == std::string_view::npos ? "" : text.substr(nl + 1);

  std::vector<std::string> patterns;
  if (!path.empty() && path[0] == '@') {
    path.erase(0, 1);
    std::size_t start = 0;
    while (start <= rest.size()) {
      const std::size_t end = std::min(rest.find('\n', start), rest.size());
      patterns.emplace_back(rest.substr(start, end - start));
      start = end + 1;
    }
  } else {
    auto read = readIgnoreFile(rest);
    if (!read) {
      checkMessage(read.error());
      return 0;
    }
    patterns = std::move(*read);
  }

  (void)outcome(legacyMatches(path, patterns));
  auto m = IgnoreMatcher::create(patterns);
  if (!m) {
    checkMessage(m.error());
    if (m.error().message().rfind("invalid .dockerignore pattern `", 0) != 0) std::abort();
    return 0;
  }
  (void)outcome(m->matchesOrParentMatches(path));
  checkWalk(*m, cleanRelative(path));
  for (const std::string& p : patterns)
    if (plainGlob(p)) checkPlainGlob(p, cleanRelative(path));
  return 0;
}
