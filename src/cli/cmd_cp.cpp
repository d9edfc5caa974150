// cp: copy files/folders between a container and the local filesystem.
#include "cli/common.h"
#include "container/copy.h"

namespace strata::cli {

namespace {

struct CpArg {
  std::string container;  // "" for a local path
  std::string path;
};

// Docker's splitCpArg: "CONTAINER:PATH", unless the argument is an absolute local path or an
// explicit relative one ("./file:name").
CpArg splitCpArg(const std::string& arg) {
  if (arg.starts_with('/')) return {"", arg};
  size_t colon = arg.find(':');
  if (colon == std::string::npos || arg.starts_with('.')) return {"", arg};
  return {arg.substr(0, colon), arg.substr(colon + 1)};
}

}  // namespace

int cmdCp(const Globals& g, const std::vector<std::string>& argv) {
  container::CopyOptions opt;
  bool quiet = false;
  FlagSet flags("cp");
  flags.boolean("archive", 'a', &opt.archive, "Archive mode (copy all uid/gid information)");
  flags.boolean("follow-link", 'L', &opt.followLink, "Always follow symbol link in SRC_PATH");
  flags.boolean("quiet", 'q', &quiet,
                "Suppress progress output during copy. Progress output is automatically "
                "suppressed if no terminal is attached");
  Parsed p = parseFlags(flags, argv,
                        "cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n"
                        "\tstrata cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
                        "Copy files/folders between a container and the local filesystem\n\n"
                        "Use '-' as the source to read a tar archive from stdin\n"
                        "and extract it to a directory destination in a container.\n"
                        "Use '-' as the destination to stream a tar archive of a\n"
                        "container source to stdout.");
  if (p.done) return p.status;
  int status = 0;
  if (!checkArgs("cp", p.args, 2, 2, status)) return status;
  CpArg src = splitCpArg(p.args[0]), dst = splitCpArg(p.args[1]);
  if (src.path.empty()) return reportError("source can not be empty");
  if (dst.path.empty()) return reportError("destination can not be empty");
  if (src.container.empty() == dst.container.empty()) {
    return reportError(src.container.empty() ? "must specify at least one container source"
                                             : "copying between containers is not supported");
  }

  auto s = openStore(g);
  if (!s) return reportError(s.error());
  container::Containers cs(*s);
  const std::string& name = src.container.empty() ? dst.container : src.container;
  auto rec = cs.resolve(name);
  if (!rec) return reportError(rec.error());
  auto fs = container::containerFs(cs, *rec, name);
  if (!fs) return reportError(fs.error());
  Status st = src.container.empty() ? container::copyToContainer(*fs, src.path, dst.path, opt)
                                    : container::copyFromContainer(*fs, src.path, dst.path, opt);
  if (!st) return reportError(st.error());
  return 0;
}

}  // namespace strata::cli
