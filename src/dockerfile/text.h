// Text helpers for the Dockerfile front end, with Go's notion of characters (the parser, the shell
// lexer and the .dockerignore matcher all mirror Go code): UTF-8 decoding with U+FFFD for each
// stray byte, Unicode letters, digits and whitespace, and Go's %q quoting.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace strata::dockerfile::text {

inline constexpr char32_t kBadRune = 0xFFFD;

// One decoded character: its code point (U+FFFD for a byte that starts no valid, shortest-form
// UTF-8 sequence) and how many bytes it took (1 for such a byte).
struct Rune {
  char32_t value;
  std::size_t width;
};
// Decodes the character at text[pos]; pos must be < text.size().
Rune decode(std::string_view text, std::size_t pos);
// Appends the UTF-8 form of r; surrogates and values above U+10FFFF append U+FFFD.
void appendUtf8(std::string& out, char32_t r);

// Unicode 15.0 classes as Go's unicode.IsLetter (L*), IsDigit (Nd) and IsSpace (\t \n \v \f
// \r, space, U+0085, U+00A0 and the space separators).
bool isLetter(char32_t r);
bool isDigit(char32_t r);
bool isSpace(char32_t r);
// The ASCII blanks that split arguments: space, \t, \v, \f, \r.
inline bool isBlank(char c) { return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r'; }

std::string_view trimLeft(std::string_view s);   // drops leading isSpace characters
std::string_view trimRight(std::string_view s);  // drops trailing isSpace characters
inline std::string_view trim(std::string_view s) { return trimRight(trimLeft(s)); }

// The text in double quotes with Go's %q escapes: \" \\ \a \b \f \n \r \t \v, \xHH for other
// control bytes and bytes that are not UTF-8, \uHHHH / \UHHHHHHHH for characters that are not
// printable (controls, separators, format characters, private use, noncharacters), everything
// else as it is.
std::string quote(std::string_view text);
// The text with its control characters (other than tab) written as escapes, so that it stays on
// one line inside an error message.
std::string escapeControls(std::string_view text);

std::string toLower(std::string_view s);  // ASCII only
std::string toUpper(std::string_view s);  // ASCII only

}  // namespace strata::dockerfile::text
