// The regular-expression dialect .dockerignore patterns become (Go's RE2 syntax, as moby's
// pattern matcher derives it from a glob) and a Thompson automaton that runs it in time linear in
// the path. Private to src/dockerfile/ignore*.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/error.h"

namespace strata::dockerfile::ignore_regex {

struct Node;  // a parsed expression, defined in ignore_regex.cpp

// A pattern as error messages show it: control bytes escaped, cut after 256 bytes.
std::string quotePattern(std::string_view pattern);

using Ranges = std::vector<std::pair<char32_t, char32_t>>;  // sorted, disjoint, inclusive

enum class Assertion : uint8_t { kBeginText, kEndText, kWordBoundary, kNotWordBoundary };

struct Inst {
  enum class Op : uint8_t { kRune, kClass, kAnyNotNewline, kSplit, kAssert, kMatch };
  Op op;
  Assertion assertion = Assertion::kBeginText;
  char32_t rune = 0;
  uint32_t cls = 0;
  uint32_t out = 0;
  uint32_t alt = 0;
};

// A compiled expression: a Thompson automaton run by keeping the set of live states, so a match
// costs O(text length x states) whatever the pattern.
class Program {
 public:
  // Parses a regular expression of the dialect above and compiles it; the error says why the
  // expression is unusable.
  static Result<Program> compile(std::string_view regex);
  static Program compile(const Node& root) {
    Program p;
    p.insts_.push_back(Inst{Inst::Op::kMatch});
    p.start_ = p.emit(root, 0);
    const Inst& first = p.insts_[p.start_];
    p.anchored_ = first.op == Inst::Op::kAssert && first.assertion == Assertion::kBeginText;
    p.computeReach();
    p.findRequiredLiterals(root);
    return p;
  }

  std::size_t size() const { return insts_.size(); }

  // Whether the expression matches `text` (Go's MatchString).
  bool matches(std::string_view text) const;
  // Whether it matches text[0, k) for some k that is text.size() or the index of a `/`.
  bool matchesSomeDirPrefix(std::string_view text) const;
  // False only when it certainly matches no text that starts with dir + "/".
  bool mayMatchBelow(std::string_view dir) const;

 private:
  friend class Runner;

  uint32_t add(Inst inst) {
    insts_.push_back(inst);
    return static_cast<uint32_t>(insts_.size() - 1);
  }
  uint32_t emit(const Node& n, uint32_t next);
  // Runs the automaton over text; with dirPrefixes, a match of text[0, k) before a `/` counts.
  bool scan(std::string_view text, bool dirPrefixes) const;
  void computeReach();
  void findRequiredLiterals(const Node& root);
  // Cheap necessary conditions checked before running the automaton.
  bool mayMatch(std::string_view text) const {
    return text.starts_with(prefix_) && text.ends_with(suffix_) &&
           (infix_.empty() || text.find(infix_) != std::string_view::npos);
  }

  std::vector<Inst> insts_;
  std::vector<Ranges> classes_;
  std::vector<bool> reach_;  // a path to kMatch exists, ignoring rune labels and later-false \A
  uint32_t start_ = 0;
  bool anchored_ = false;    // every match starts at the beginning of the text
  std::string prefix_;       // every match is at the start of the text and begins with this
  std::string suffix_;       // every match is at the end of the text and ends with this
  std::string infix_;        // every match contains this
};

}  // namespace strata::dockerfile::ignore_regex
