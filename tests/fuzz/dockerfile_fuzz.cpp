// libFuzzer target: the Dockerfile parser and instruction reader. Any input either fails with a
// one-line `Dockerfile:N: ...` error, or yields instructions whose line ranges are ordered and
// inside the file, and whose dump has one line per instruction.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "dockerfile/ast.h"
#include "dockerfile/instructions.h"

namespace {

void checkError(const strata::Error& e) {
  const std::string& msg = e.message();
  if (!msg.starts_with("Dockerfile:") || msg.find('\n') != std::string::npos) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto ast = strata::dockerfile::parse(text);
  if (!ast) {
    checkError(ast.error());
    return 0;
  }
  std::size_t physical = 0;
  for (char c : text) physical += c == '\n';
  if (!text.empty() && text.back() != '\n') ++physical;
  int previousEnd = 0;
  for (const auto& node : ast->instructions) {
    if (node.startLine <= previousEnd || node.endLine < node.startLine ||
        static_cast<std::size_t>(node.endLine) > physical)
      std::abort();
    previousEnd = node.endLine;
  }
  const std::string out = strata::dockerfile::dump(*ast);
  std::size_t lines = 0;
  for (char c : out) lines += c == '\n';
  if (lines != ast->instructions.size()) std::abort();
  auto read = strata::dockerfile::readInstructions(*ast);
  if (!read) checkError(read.error());
  return 0;
}
