// save, load.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>

#include "archive/archive.h"
#include "cli/common.h"
#include "util/fs.h"

namespace strata::cli {

int cmdSave(const Globals& g, const std::vector<std::string>& argv) {
  std::string output, format = "docker-archive";
  FlagSet flags("save");
  flags.string("output", 'o', &output, "Write to a file, instead of STDOUT");
  flags.string("format", 0, &format, "Archive format: docker-archive (default) or oci-archive");
  Parsed p = parseFlags(flags, argv, "save [OPTIONS] IMAGE [IMAGE...]",
                        "Save one or more images to a tar archive (streamed to STDOUT by default)");
  if (p.done) return p.status;
  int status = 0;
  if (!checkArgs("save", p.args, 1, SIZE_MAX, status)) return status;
  auto fmt = archive::parseFormat(format);
  if (!fmt) return reportError(fmt.error());
  auto s = openStore(g);
  if (!s) return reportError(s.error());
  archive::SaveRequest req{p.args, *fmt};
  Status st = writeOutput(output, [&](int fd) { return archive::save(*s, req, fd); });
  if (!st) return reportError(st.error());
  return 0;
}

int cmdLoad(const Globals& g, const std::vector<std::string>& argv) {
  std::string input;
  bool quiet = false;
  FlagSet flags("load");
  flags.string("input", 'i', &input, "Read from tar archive file, instead of STDIN");
  flags.boolean("quiet", 'q', &quiet, "Suppress the load output");
  Parsed p = parseFlags(flags, argv, "load [OPTIONS]", "Load an image from a tar archive or STDIN");
  if (p.done) return p.status;
  int status = 0;
  if (!checkArgs("load", p.args, 0, 0, status)) return status;
  UniqueFd fd;
  if (input.empty()) {
    if (::isatty(STDIN_FILENO))
      return reportError("requested load from stdin, but stdin is empty");
    fd.reset(::dup(STDIN_FILENO));
  } else {
    auto f = openFile(input, O_RDONLY);
    if (!f) return reportError(f.error().wrap("load"));
    fd = std::move(*f);
  }
  auto s = openStore(g);
  if (!s) return reportError(s.error());
  auto r = archive::load(*s, fd.get());
  if (!r) return reportError(r.error().wrap("load" + (input.empty() ? std::string() : " `" + input + "`")));
  // Like Docker, -q only silences progress output; the "Loaded image" lines always print.
  for (const auto& l : r->lines) std::printf("%s\n", l.c_str());
  return 0;
}

}  // namespace strata::cli
