// debug dockerfile-ast: the Dockerfile parse tree in BuildKit's dump format.
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "cli/common.h"
#include "dockerfile/instructions.h"
#include "util/fs.h"

namespace strata::cli {

int cmdDebugDockerfileAst(const Globals&, const std::vector<std::string>& argv) {
  bool instructions = false;
  FlagSet flags("debug dockerfile-ast");
  flags.boolean("instructions", 0, &instructions,
                "Also read every instruction as build does, failing on the first bad one");
  Parsed p = parseFlags(flags, argv, "debug dockerfile-ast [OPTIONS] FILE|-",
                        "Print the parse tree of a Dockerfile");
  if (p.done) return p.status;
  int status = 0;
  if (!checkArgs("debug dockerfile-ast", p.args, 1, 1, status)) return status;
  const std::string& path = p.args[0];
  auto content = path == "-" ? readAll(STDIN_FILENO) : readFile(path);
  if (!content) return reportError(content.error());
  dockerfile::ParseOptions options;
  options.fileName = path == "-" ? "Dockerfile" : std::filesystem::path(path).filename().string();
  auto ast = dockerfile::parse(*content, options);
  if (!ast) return reportError(ast.error());
  if (instructions) {
    if (auto read = dockerfile::readInstructions(*ast, options); !read) return reportError(read.error());
  }
  for (const dockerfile::Warning& w : ast->warnings)
    std::fprintf(stderr, "WARNING: %s:%d: %s (%s)\n", options.fileName.c_str(), w.startLine,
                 w.message.c_str(), w.detail.c_str());
  std::string out = dockerfile::dump(*ast);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

}  // namespace strata::cli
