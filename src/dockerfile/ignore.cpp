// .dockerignore reading and matching. Layout of this file:
//   1. Path helpers (parent directories, patterns shown in messages).
//   2. The glob syntax check applied when a matcher is built (gomatch.h).
//   3. Classifying a pattern (whole string, prefix, suffix, or general) and, for general
//      patterns, the regular-expression text upstream derives from it; ignore_regex.cpp parses
//      and runs that text.
//   5. The compiled pattern, the matcher and the incremental walk API.
//   6. Reading and locating .dockerignore files.
#include "dockerfile/ignore.h"

#include <fcntl.h>

#include <algorithm>
#include <array>
#include <optional>
#include <utility>

#include "dockerfile/gomatch.h"
#include "dockerfile/ignore_regex.h"
#include "dockerfile/text.h"
#include "util/fs.h"
#include "util/path.h"

namespace strata::dockerfile {
// Internal types live in a named namespace because IgnoreMatcher::Impl (external linkage) holds
// them.
namespace ignore_internal {

using ignore_regex::Program;
using ignore_regex::quotePattern;

// ---------------------------------------------------------------------------------------------
// 1. Text helpers

// True when cleanPath(p) == p for a path without `.` or `..` elements (a cheap sufficient test).
bool isPlainClean(std::string_view p) {
  if (p.empty() || p.back() == '/') return p == "/";
  std::size_t start = 0;
  if (p[0] == '/') start = 1;
  while (start <= p.size()) {
    std::size_t end = p.find('/', start);
    if (end == std::string_view::npos) end = p.size();
    std::string_view elem = p.substr(start, end - start);
    if (elem.empty() || elem == "." || elem == "..") return false;
    start = end + 1;
  }
  return true;
}

// Go's filepath.Dir: the cleaned text before the last `/` ("." when there is none). Returns a
// view of `path` when that is already clean, else of `storage`.
std::string_view parentDir(std::string_view path, std::string& storage) {
  const std::size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  if (slash == 0) return "/";
  std::string_view head = path.substr(0, slash);
  if (isPlainClean(head)) return head;
  storage = cleanPath(path.substr(0, slash + 1));
  return storage;
}


Error patternError(std::string_view shownPattern, std::string_view reason) {
  return Error::invalid("invalid .dockerignore pattern `" + std::string(shownPattern) +
                        "`: " + std::string(reason));
}

// ---------------------------------------------------------------------------------------------
// 3. Pattern classification
//
// The pattern is read rune by rune (a byte-order mark as its very first rune is skipped). It is
// a plain string unless it holds `*`, `?`, `[`, `]` or a backslash escape. A trailing `**`
// after plain text makes it a prefix test; a leading `**` followed by plain text makes it a
// suffix test. Everything else becomes a regular expression between `^` and `$`: `*` is
// "[^/]*", `?` is "[^/]", a `**` (eating one following `/`) is "(.*/)?" or, at the end, ".*";
// `.+()$` are escaped; `\x` is copied as the escape `\x`; `[`, `]` and all other characters are
// copied as they are. So, as in BuildKit, `|` splits the expression into alternatives (only
// the first keeps the `^`, only the last the `$`), `{2}` repeats, `^` outside a class anchors,
// and class contents are read with regular-expression rules.

enum class MatchKind : uint8_t { kExact, kPrefix, kSuffix, kRegexp };

struct Classified {
  MatchKind kind = MatchKind::kExact;
  std::string regex;  // for kRegexp
};

bool escapedInRegex(char32_t c) {
  return c == '.' || c == '+' || c == '(' || c == ')' || c == '$';
}

Classified classify(std::string_view p) {
  Classified out;
  std::string& re = out.regex;
  re = "^";
  std::size_t i = 0;
  if (p.size() >= 3 && p.substr(0, 3) == "\xEF\xBB\xBF") i = 3;
  for (int token = 0; i < p.size(); ++token) {
    const text::Rune ch = text::decode(p, i);
    i += ch.width;
    if (ch.value == '*' && i < p.size() && p[i] == '*') {
      ++i;
      if (i < p.size() && p[i] == '/') ++i;
      if (i == p.size()) {
        if (out.kind == MatchKind::kExact) {
          out.kind = MatchKind::kPrefix;
        } else {
          re += ".*";
          out.kind = MatchKind::kRegexp;
        }
      } else {
        re += "(.*/)?";
        out.kind = MatchKind::kRegexp;
      }
      if (token == 0) out.kind = MatchKind::kSuffix;
    } else if (ch.value == '*') {
      re += "[^/]*";
      out.kind = MatchKind::kRegexp;
    } else if (ch.value == '?') {
      re += "[^/]";
      out.kind = MatchKind::kRegexp;
    } else if (escapedInRegex(ch.value)) {
      re += '\\';
      re += static_cast<char>(ch.value);
    } else if (ch.value == '\\') {
      re += '\\';
      if (i < p.size()) {
        const text::Rune next = text::decode(p, i);
        i += next.width;
        text::appendUtf8(re, next.value);
        out.kind = MatchKind::kRegexp;
      }
    } else if (ch.value == '[' || ch.value == ']') {
      re += static_cast<char>(ch.value);
      out.kind = MatchKind::kRegexp;
    } else {
      text::appendUtf8(re, ch.value);
    }
  }
  re += '$';
  return out;
}

// ---------------------------------------------------------------------------------------------
// 5. Compiled patterns and the matcher

bool startsWithDirSlash(std::string_view s, std::string_view dir) {
  return s.size() > dir.size() && s.substr(0, dir.size()) == dir && s[dir.size()] == '/';
}

struct CompiledPattern {
  std::string shown;        // as written (trimmed, control bytes escaped), for messages
  bool exclusion = false;
  MatchKind kind = MatchKind::kExact;
  std::string literal;      // the whole string, prefix or suffix for the plain kinds
  Program program;          // for kRegexp
  std::string unusable;     // why the pattern cannot be matched; empty when it can
  std::size_t components = 1;  // `/`-separated elements, for the legacy ancestor rule

  // Whether the pattern matches exactly this text.
  bool matches(std::string_view path) const {
    switch (kind) {
      case MatchKind::kExact: return path == literal;
      case MatchKind::kPrefix: return path.starts_with(literal);
      case MatchKind::kSuffix:
        return path.ends_with(literal) ||
               (!literal.empty() && literal[0] == '/' && path == std::string_view(literal).substr(1));
      case MatchKind::kRegexp: return program.matches(path);
    }
    return false;
  }

  // Whether it matches one of the ancestors named by a clean parent directory: each prefix of
  // `parent` that ends before a `/`, and `parent` itself.
  bool matchesAncestor(std::string_view parent) const {
    switch (kind) {
      case MatchKind::kExact:
        return parent.starts_with(literal) &&
               (parent.size() == literal.size() || parent[literal.size()] == '/');
      case MatchKind::kPrefix: return parent.starts_with(literal);
      case MatchKind::kSuffix:
        for (std::size_t k = 0; k <= parent.size(); ++k) {
          if ((k == parent.size() || parent[k] == '/') && matches(parent.substr(0, k))) return true;
        }
        return false;
      case MatchKind::kRegexp: return program.matchesSomeDirPrefix(parent);
    }
    return false;
  }

  // False only when no path strictly below `dir` can be hit (conservative). Usable patterns
  // only: an unusable one never hits.
  bool mayHitBelow(std::string_view dir) const {
    switch (kind) {
      case MatchKind::kExact: return startsWithDirSlash(literal, dir);
      case MatchKind::kPrefix:
        if (literal.size() > dir.size()) return startsWithDirSlash(literal, dir);
        return dir.starts_with(literal);  // literal is a prefix of dir + "/"
      case MatchKind::kSuffix: return true;
      case MatchKind::kRegexp: return program.mayMatchBelow(dir);
    }
    return true;
  }
};

Result<CompiledPattern> compilePattern(std::string_view trimmed) {
  CompiledPattern cp;
  cp.shown = quotePattern(trimmed);
  const std::string cleaned = cleanPath(trimmed);
  std::string_view body = cleaned;
  if (body[0] == '!') {
    if (body.size() == 1) return fail(patternError(cp.shown, "`!` must be followed by a pattern"));
    cp.exclusion = true;
    body.remove_prefix(1);
  }
  if (auto why = goPatternError(body)) return fail(patternError(cp.shown, *why));
  cp.components = 1 + static_cast<std::size_t>(std::count(body.begin(), body.end(), '/'));
  Classified c = classify(body);
  cp.kind = c.kind;
  // The literals are the pattern minus its last or first two bytes, as upstream cuts them
  // (which matters only for a pattern starting with a byte-order mark).
  switch (c.kind) {
    case MatchKind::kExact: cp.literal = body; break;
    case MatchKind::kPrefix: cp.literal = body.substr(0, body.size() - 2); break;
    case MatchKind::kSuffix: cp.literal = body.substr(2); break;
    case MatchKind::kRegexp: {
      auto program = Program::compile(c.regex);
      if (program) {
        cp.program = std::move(*program);
      } else {
        cp.unusable = program.error().message();
      }
      break;
    }
  }
  return cp;
}

// Runs the flag walk over the patterns in order: while not matched only inclusions are
// consulted, while matched only exclusions; a consulted pattern that hits sets the flag to its
// kind. `known(i)` reports a hit already established (from an ancestor) without consulting;
// `test(i)` consults pattern i. Consulting an unusable pattern fails.
template <typename Known, typename Test>
Result<bool> flagWalk(const std::vector<CompiledPattern>& ps, Known&& known, Test&& test) {
  bool matched = false;
  for (std::size_t i = 0; i < ps.size(); ++i) {
    const CompiledPattern& p = ps[i];
    bool hit = known(i);
    if (!hit) {
      if (p.exclusion != matched) continue;
      if (!p.unusable.empty()) return fail(patternError(p.shown, p.unusable));
      hit = test(i);
    }
    if (hit) matched = !p.exclusion;
  }
  return matched;
}

bool bit(const std::vector<uint64_t>& bits, std::size_t i) {
  return !bits.empty() && (bits[i / 64] >> (i % 64) & 1);
}

Status checkState(const std::vector<uint64_t>& hits, std::size_t patterns) {
  if (!hits.empty() && hits.size() != (patterns + 63) / 64) {
    return failInvalid("ignore walk state does not belong to this matcher");
  }
  return {};
}

}  // namespace ignore_internal

using namespace ignore_internal;

struct IgnoreMatcher::Impl {
  std::vector<CompiledPattern> patterns;
  bool exclusions = false;
  bool anyUnusable = false;
};

namespace {
const IgnoreMatcher::Impl& emptyImpl() {
  static const IgnoreMatcher::Impl kEmpty;
  return kEmpty;
}
}  // namespace

IgnoreMatcher::IgnoreMatcher() = default;

Result<IgnoreMatcher> IgnoreMatcher::create(const std::vector<std::string>& patterns) {
  auto impl = std::make_shared<Impl>();
  impl->patterns.reserve(patterns.size());
  for (const std::string& raw : patterns) {
    const std::string_view trimmed = text::trim(raw);
    if (trimmed.empty()) continue;
    CompiledPattern cp = TRY(compilePattern(trimmed));
    impl->exclusions = impl->exclusions || cp.exclusion;
    impl->anyUnusable = impl->anyUnusable || !cp.unusable.empty();
    impl->patterns.push_back(std::move(cp));
  }
  return IgnoreMatcher(std::move(impl));
}

bool IgnoreMatcher::hasExclusions() const { return impl_ && impl_->exclusions; }
std::size_t IgnoreMatcher::patternCount() const { return impl_ ? impl_->patterns.size() : 0; }

Result<bool> IgnoreMatcher::matchesOrParentMatches(std::string_view path) const {
  const Impl& im = impl_ ? *impl_ : emptyImpl();
  std::string storage;
  const std::string_view parent = parentDir(path, storage);
  const bool hasParent = parent != ".";
  return flagWalk(
      im.patterns, [](std::size_t) { return false; },
      [&](std::size_t i) {
        const CompiledPattern& p = im.patterns[i];
        return p.matches(path) || (hasParent && p.matchesAncestor(parent));
      });
}

Result<bool> IgnoreMatcher::matchFile(const IgnoreDirState& parent, std::string_view path) const {
  const Impl& im = impl_ ? *impl_ : emptyImpl();
  TRYV(checkState(parent.hits_, im.patterns.size()));
  return flagWalk(
      im.patterns, [&](std::size_t i) { return bit(parent.hits_, i); },
      [&](std::size_t i) { return im.patterns[i].matches(path); });
}

Result<IgnoreDirMatch> IgnoreMatcher::matchDir(const IgnoreDirState& parent,
                                               std::string_view path) const {
  const Impl& im = impl_ ? *impl_ : emptyImpl();
  TRYV(checkState(parent.hits_, im.patterns.size()));
  const std::size_t n = im.patterns.size();
  IgnoreDirMatch out;
  // Every pattern's hit is recorded (not only those the flag walk consults), so that entries
  // below see hits through this directory whatever their own flag walk consults.
  std::optional<std::size_t> lastHit;
  for (std::size_t i = 0; i < n; ++i) {
    const CompiledPattern& p = im.patterns[i];
    if (!bit(parent.hits_, i) && !(p.unusable.empty() && p.matches(path))) continue;
    if (out.state.hits_.empty()) out.state.hits_.assign((n + 63) / 64, 0);
    out.state.hits_[i / 64] |= uint64_t{1} << (i % 64);
    lastHit = i;
  }
  const auto& hits = out.state.hits_;
  out.excluded = TRY(flagWalk(
      im.patterns, [&](std::size_t i) { return bit(hits, i); }, [](std::size_t) { return false; }));
  // Excluded means the last hitting pattern is an inclusion; it hits everything below too, so
  // only a later exclusion that can hit something below could put an entry back. With an
  // unusable pattern around nothing is skipped: whether an entry below consults it (and so
  // fails) depends on the entry, and the walk must report what the direct call would.
  if (out.excluded && !im.anyUnusable) {
    out.skipSubtree = true;
    for (std::size_t i = *lastHit + 1; i < n && out.skipSubtree; ++i) {
      if (im.patterns[i].exclusion && im.patterns[i].mayHitBelow(path)) out.skipSubtree = false;
    }
  }
  return out;
}

Result<bool> legacyMatches(std::string_view path, const std::vector<std::string>& patterns) {
  const IgnoreMatcher matcher = TRY(IgnoreMatcher::create(patterns));
  const std::string file = cleanPath(path);
  if (file == ".") return false;
  std::string storage;
  const std::string_view parent = parentDir(file, storage);
  const std::size_t parentComponents =
      1 + static_cast<std::size_t>(std::count(parent.begin(), parent.end(), '/'));
  // The leading part of parent with k components.
  auto leading = [&](std::size_t k) {
    std::size_t end = 0;
    for (std::size_t seen = 0; end < parent.size(); ++end) {
      if (parent[end] == '/' && ++seen == k) break;
    }
    return parent.substr(0, end);
  };
  const auto& ps = matcher.impl_ ? matcher.impl_->patterns : emptyImpl().patterns;
  return flagWalk(
      ps, [](std::size_t) { return false; },
      [&](std::size_t i) {
        const CompiledPattern& p = ps[i];
        if (p.matches(file)) return true;
        return parent != "." && p.components <= parentComponents && p.matches(leading(p.components));
      });
}

// ---------------------------------------------------------------------------------------------
// 6. Ignore files

Result<std::vector<std::string>> readIgnoreFile(std::string_view content) {
  // BuildKit's line reader gives up on a line that fills its 64 KiB buffer.
  constexpr std::size_t kMaxLine = 64 * 1024;
  std::vector<std::string> patterns;
  std::size_t lineNo = 0;
  for (std::size_t start = 0; start < content.size();) {
    std::size_t nl = content.find('\n', start);
    const std::size_t end = nl == std::string_view::npos ? content.size() : nl;
    std::string_view line = content.substr(start, end - start);
    start = nl == std::string_view::npos ? content.size() : nl + 1;
    ++lineNo;
    if (line.size() >= kMaxLine) {
      return failInvalid("line " + std::to_string(lineNo) + " is longer than " +
                         std::to_string(kMaxLine - 1) + " bytes");
    }
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (lineNo == 1 && line.starts_with("\xEF\xBB\xBF")) line.remove_prefix(3);
    if (line.starts_with('#')) continue;
    line = text::trim(line);
    if (line.empty()) continue;
    const bool invert = line[0] == '!';
    if (invert) line = text::trim(line.substr(1));
    std::string pattern;
    if (!line.empty()) {
      pattern = cleanPath(line);
      if (pattern.size() > 1 && pattern[0] == '/') pattern.erase(0, 1);
    }
    patterns.push_back(invert ? "!" + pattern : std::move(pattern));
  }
  return patterns;
}

namespace {

// The file's bytes, or nullopt when nothing is there to read.
Result<std::optional<std::string>> readIfPresent(const std::filesystem::path& path) {
  auto fd = openFile(path.string(), O_RDONLY);
  if (!fd) {
    if (fd.error().code() == ENOENT || fd.error().code() == ENOTDIR) return std::nullopt;
    return fail(std::move(fd).error());
  }
  auto data = readAll(fd->get());
  if (!data) return fail(Error(data.error().code(), "read `" + path.string() + "`"));
  return std::optional<std::string>(std::move(*data));
}

bool pathPresent(const std::filesystem::path& p) {
  std::error_code ec;
  return std::filesystem::symlink_status(p, ec).type() != std::filesystem::file_type::not_found &&
         !ec;
}

}  // namespace

Result<std::vector<std::string>> loadIgnorePatterns(const std::filesystem::path& contextDir,
                                                    const std::filesystem::path& dockerfile) {
  std::vector<std::filesystem::path> candidates;
  if (!dockerfile.empty()) {
    std::filesystem::path named = dockerfile;
    if (named.filename() == "Dockerfile" && !pathPresent(named) &&
        pathPresent(named.parent_path() / "dockerfile")) {
      named = named.parent_path() / "dockerfile";
    }
    candidates.push_back(named.string() + ".dockerignore");
  }
  candidates.push_back(contextDir / ".dockerignore");
  for (const auto& path : candidates) {
    auto content = TRY(readIfPresent(path));
    if (!content) continue;
    return TRY_CTX(readIgnoreFile(*content), "parse `" + path.string() + "`");
  }
  return std::vector<std::string>{};
}

}  // namespace strata::dockerfile
