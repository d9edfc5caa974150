#include "dockerfile/gomatch.h"

#include <utility>

#include "dockerfile/text.h"

namespace strata::dockerfile {
namespace {

std::optional<std::string> patternError(std::string_view p);
std::pair<bool, std::string_view> nextChunk(std::string_view& pattern);

// ---- syntax ----
//
// A pattern is accepted when every `*`-separated chunk is well formed: each `[` opens a class
// that holds at least one character or range before its `]`, class characters are not a bare
// `-` or `]`, are valid UTF-8 and may be escaped with `\`; outside classes a `\` must escape
// something. Chunks are split at `*` outside brackets, tracking brackets the simple way (a `[`
// opens, a `]` closes, a `\` hides the next byte), which decides whether a `*` belongs to a class.

// Checks one class character at chunk[j]; returns the index after it, or an error reason.
std::optional<std::size_t> classChar(std::string_view chunk, std::size_t j, std::string* why) {
  if (j >= chunk.size()) {
    *why = "unterminated character class";
    return std::nullopt;
  }
  if (chunk[j] == '-' || chunk[j] == ']') {
    *why = std::string("character class has a bare `") + chunk[j] + "` where a character belongs";
    return std::nullopt;
  }
  if (chunk[j] == '\\' && ++j >= chunk.size()) {
    *why = "unterminated character class";
    return std::nullopt;
  }
  const text::Rune d = text::decode(chunk, j);
  if (d.value == text::kBadRune && d.width == 1) {
    *why = "character class holds invalid UTF-8";
    return std::nullopt;
  }
  j += d.width;
  if (j >= chunk.size()) {
    *why = "unterminated character class";
    return std::nullopt;
  }
  return j;
}

std::optional<std::string> chunkSyntaxError(std::string_view chunk) {
  std::string why;
  std::size_t j = 0;
  while (j < chunk.size()) {
    switch (chunk[j]) {
      case '[': {
        ++j;
        if (j < chunk.size() && chunk[j] == '^') ++j;
        for (int ranges = 0;; ++ranges) {
          if (j < chunk.size() && chunk[j] == ']' && ranges > 0) {
            ++j;
            break;
          }
          auto next = classChar(chunk, j, &why);
          if (!next) return why;
          j = *next;
          if (chunk[j] == '-') {
            next = classChar(chunk, j + 1, &why);
            if (!next) return why;
            j = *next;
          }
        }
        break;
      }
      case '\\':
        if (++j >= chunk.size()) return std::string("trailing backslash escapes nothing");
        ++j;
        break;
      default:
        ++j;
    }
  }
  return std::nullopt;
}

std::optional<std::string> patternError(std::string_view p) {
  while (!p.empty()) {
    if (auto why = chunkSyntaxError(nextChunk(p).second)) return why;
  }
  return std::nullopt;
}

// ---- matching ----
//
// A pattern is a run of chunks, each an optional run of stars followed by stars-free text. A
// chunk is matched at the earliest place after the previous one where it fits, as Go does
// (no deeper backtracking); `?` and classes consume one UTF-8 sequence, an invalid byte counting
// as one U+FFFD.

using Glob = GlobMatch;

// The first rune of s and its length in bytes: (U+FFFD, 1) for an invalid sequence, (U+FFFD, 0)
// for an empty s.
std::pair<char32_t, std::size_t> firstRune(std::string_view s) {
  if (s.empty()) return {text::kBadRune, 0};
  const text::Rune r = text::decode(s, 0);
  return {r.value, r.width};
}

// One end of a class range, taken off the front of p. False for a missing, unescaped '-' or
// ']', or invalid character, or when the class text ends right after it.
bool classBound(std::string_view& p, char32_t& out) {
  if (p.empty() || p[0] == '-' || p[0] == ']') return false;
  if (p[0] == '\\') {
    p.remove_prefix(1);
    if (p.empty()) return false;
  }
  auto [r, len] = firstRune(p);
  if (r == text::kBadRune && len == 1) return false;
  p.remove_prefix(len);
  out = r;
  return !p.empty();
}

// Matches a star-free chunk against the front of s, leaving in s what follows. The whole chunk
// is always parsed, so that bad syntax is reported even after a mismatch.
Glob matchChunk(std::string_view chunk, std::string_view& s) {
  bool failed = false;
  while (!chunk.empty()) {
    if (s.empty()) failed = true;
    switch (chunk[0]) {
      case '[': {
        char32_t r = 0;
        if (!failed) {
          auto [c, len] = firstRune(s);
          r = c;
          s.remove_prefix(len);
        }
        chunk.remove_prefix(1);
        const bool negated = !chunk.empty() && chunk[0] == '^';
        if (negated) chunk.remove_prefix(1);
        bool in = false;
        for (int ranges = 0;; ++ranges) {
          if (ranges > 0 && !chunk.empty() && chunk[0] == ']') {
            chunk.remove_prefix(1);
            break;
          }
          char32_t lo, hi;
          if (!classBound(chunk, lo)) return Glob::Bad;
          hi = lo;
          if (chunk[0] == '-') {
            chunk.remove_prefix(1);
            if (!classBound(chunk, hi)) return Glob::Bad;
          }
          if (lo <= r && r <= hi) in = true;
        }
        if (in == negated) failed = true;
        break;
      }
      case '?':
        if (!failed) s.remove_prefix(firstRune(s).second);
        chunk.remove_prefix(1);
        break;
      case '\\':
        chunk.remove_prefix(1);
        if (chunk.empty()) return Glob::Bad;
        [[fallthrough]];
      default:
        if (!failed) {
          if (chunk[0] != s[0]) failed = true;
          s.remove_prefix(1);
        }
        chunk.remove_prefix(1);
    }
  }
  return failed ? Glob::NoMatch : Glob::Match;
}

// Splits the next chunk off the pattern: whether stars lead it, and its text up to the next
// star outside a class.
std::pair<bool, std::string_view> nextChunk(std::string_view& pattern) {
  bool star = false;
  while (!pattern.empty() && pattern[0] == '*') {
    pattern.remove_prefix(1);
    star = true;
  }
  bool inClass = false;
  std::size_t i = 0;
  for (; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\') {
      if (i + 1 < pattern.size()) ++i;
    } else if (c == '[') {
      inClass = true;
    } else if (c == ']') {
      inClass = false;
    } else if (c == '*' && !inClass) {
      break;
    }
  }
  std::string_view chunk = pattern.substr(0, i);
  pattern.remove_prefix(i);
  return {star, chunk};
}

Glob matchAll(std::string_view pattern, std::string_view name) {
  while (!pattern.empty()) {
    auto [star, chunk] = nextChunk(pattern);
    if (star && chunk.empty()) return Glob::Match;  // a trailing star takes the rest
    std::string_view rest = name;
    Glob g = matchChunk(chunk, rest);
    // The last chunk must also end the name.
    if (g == Glob::Match && (rest.empty() || !pattern.empty())) {
      name = rest;
      continue;
    }
    if (g == Glob::Bad) return g;
    bool moved = false;
    for (std::size_t skip = 1; star && skip <= name.size(); ++skip) {
      rest = name.substr(skip);
      g = matchChunk(chunk, rest);
      if (g == Glob::Bad) return g;
      if (g == Glob::Match && (pattern.empty() ? rest.empty() : true)) {
        name = rest;
        moved = true;
        break;
      }
    }
    if (moved) continue;
    return patternError(pattern) ? Glob::Bad : Glob::NoMatch;
  }
  return name.empty() ? Glob::Match : Glob::NoMatch;
}

}  // namespace

GlobMatch goMatch(std::string_view pattern, std::string_view name) { return matchAll(pattern, name); }

std::optional<std::string> goPatternError(std::string_view pattern) { return patternError(pattern); }

}  // namespace strata::dockerfile
