#include "dockerfile/json_args.h"

#include <optional>

#include "dockerfile/text.h"

namespace strata::dockerfile {
namespace {

constexpr std::size_t kMaxDepth = 10000;

bool isJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A single-pass scanner over the whole text. Containers are tracked on an explicit stack so deep
// nesting costs no native stack.
class Scanner {
 public:
  explicit Scanner(std::string_view s) : s_(s) {}

  JsonArgs run() {
    JsonArgs out;
    skipSpace();
    if (!at('[')) return out;
    bool allStrings = true;
    std::vector<std::string> values;
    ++pos_;
    skipSpace();
    if (at(']')) {
      ++pos_;
    } else {
      for (;;) {
        skipSpace();
        if (at('"')) {
          std::optional<std::string> str = string();
          if (!str) return out;
          values.push_back(std::move(*str));
        } else {
          allStrings = false;
          if (!value()) return out;
        }
        skipSpace();
        if (at(',')) { ++pos_; continue; }
        if (at(']')) { ++pos_; break; }
        return out;
      }
    }
    skipSpace();
    if (pos_ != s_.size()) return out;
    out.kind = allStrings ? JsonArgsKind::Strings : JsonArgsKind::NotStrings;
    if (allStrings) out.values = std::move(values);
    return out;
  }

 private:
  bool at(char c) const { return pos_ < s_.size() && s_[pos_] == c; }
  void skipSpace() {
    while (pos_ < s_.size() && isJsonSpace(s_[pos_])) ++pos_;
  }
  bool literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  bool digits() {
    std::size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
    return pos_ > start;
  }

  bool number() {
    if (at('-')) ++pos_;
    if (at('0')) {
      ++pos_;
    } else if (!digits()) {
      return false;
    }
    if (at('.')) {
      ++pos_;
      if (!digits()) return false;
    }
    if (at('e') || at('E')) {
      ++pos_;
      if (at('+') || at('-')) ++pos_;
      if (!digits()) return false;
    }
    return true;
  }

  bool hex4(char32_t& out) {
    if (pos_ + 4 > s_.size()) return false;
    out = 0;
    for (int i = 0; i < 4; ++i) {
      int h = hexValue(s_[pos_ + i]);
      if (h < 0) return false;
      out = out * 16 + static_cast<char32_t>(h);
    }
    pos_ += 4;
    return true;
  }

  // A string at pos_ (on its opening quote), decoded.
  std::optional<std::string> string() {
    std::string out;
    ++pos_;
    while (pos_ < s_.size()) {
      const unsigned char c = static_cast<unsigned char>(s_[pos_]);
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c < 0x20) return std::nullopt;
      if (c == '\\') {
        if (++pos_ >= s_.size()) return std::nullopt;
        const char e = s_[pos_++];
        switch (e) {
          case '"': out += '"'; break;
          case '\\': out += '\\'; break;
          case '/': out += '/'; break;
          case 'b': out += '\b'; break;
          case 'f': out += '\f'; break;
          case 'n': out += '\n'; break;
          case 'r': out += '\r'; break;
          case 't': out += '\t'; break;
          case 'u': {
            char32_t r;
            if (!hex4(r)) return std::nullopt;
            if (r >= 0xD800 && r < 0xDC00) {
              // A high surrogate pairs with an immediately following escaped low surrogate.
              char32_t low;
              std::size_t save = pos_;
              if (s_.substr(pos_, 2) == "\\u" && (pos_ += 2, hex4(low)) && low >= 0xDC00 &&
                  low < 0xE000) {
                r = 0x10000 + ((r - 0xD800) << 10) + (low - 0xDC00);
              } else {
                pos_ = save;
                r = 0xFFFD;
              }
            } else if (r >= 0xDC00 && r < 0xE000) {
              r = 0xFFFD;
            }
            text::appendUtf8(out, r);
            break;
          }
          default:
            return std::nullopt;
        }
        continue;
      }
      if (c < 0x80) {
        out += static_cast<char>(c);
        ++pos_;
        continue;
      }
      text::Rune r = text::decode(s_, pos_);
      text::appendUtf8(out, r.value);
      pos_ += r.width;
    }
    return std::nullopt;
  }

  // Any JSON value at pos_, validated and skipped.
  bool value() {
    std::vector<char> stack;  // '[' or '{' for each open container
    for (;;) {
      skipSpace();
      // A value.
      if (at('[') || at('{')) {
        if (stack.size() + 2 > kMaxDepth) return false;  // the top-level array is one level
        const char open = s_[pos_++];
        stack.push_back(open);
        skipSpace();
        if (at(open == '[' ? ']' : '}')) {
          ++pos_;
          stack.pop_back();
        } else {
          if (open == '{') {
            if (!at('"') || !string()) return false;
            skipSpace();
            if (!at(':')) return false;
            ++pos_;
          }
          continue;
        }
      } else if (at('"')) {
        if (!string()) return false;
      } else if (at('t')) {
        if (!literal("true")) return false;
      } else if (at('f')) {
        if (!literal("false")) return false;
      } else if (at('n')) {
        if (!literal("null")) return false;
      } else if (!number()) {
        return false;
      }
      // After a value: close containers or move to the next element.
      for (;;) {
        if (stack.empty()) return true;
        skipSpace();
        const char open = stack.back();
        if (at(',')) {
          ++pos_;
          if (open == '{') {
            skipSpace();
            if (!at('"') || !string()) return false;
            skipSpace();
            if (!at(':')) return false;
            ++pos_;
          }
          break;
        }
        if (at(open == '[' ? ']' : '}')) {
          ++pos_;
          stack.pop_back();
          continue;
        }
        return false;
      }
    }
  }

  std::string_view s_;
  std::size_t pos_ = 0;
};

}  // namespace

JsonArgs parseJsonArgs(std::string_view text) {
  // Leading whitespace in the Unicode sense, as the instruction text is trimmed before this.
  return Scanner(text::trimLeft(text)).run();
}

}  // namespace strata::dockerfile
