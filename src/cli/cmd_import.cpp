// import: a root file system tarball becomes an image.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>

#include "cli/common.h"
#include "image/import.h"
#include "util/fs.h"

namespace strata::cli {

int cmdImport(const Globals& g, const std::vector<std::string>& argv) {
  image::ImportOptions opt;
  std::string platform;
  FlagSet flags("import");
  flags.list("change", 'c', &opt.changes, "Apply Dockerfile instruction to the created image");
  flags.string("message", 'm', &opt.message, "Set commit message for imported image");
  flags.string("platform", 0, &platform, "Set platform if server is multi-platform capable");
  Parsed p = parseFlags(flags, argv, "import [OPTIONS] file|URL|- [REPOSITORY[:TAG]]",
                        "Import the contents from a tarball to create a filesystem image");
  if (p.done) return p.status;
  int status = 0;
  if (!checkArgs("import", p.args, 1, 2, status)) return status;
  if (!platform.empty() && platform != "linux/amd64" && platform != "linux")
    return reportError("import: unsupported platform \"" + platform + "\" (only linux/amd64)");
  std::optional<oci::Reference> tag;
  if (p.args.size() == 2) {
    auto r = oci::Reference::parse(p.args[1]);
    if (!r) return reportError(r.error());
    tag = *r;
  }
  const std::string& src = p.args[0];
  if (src.rfind("http://", 0) == 0 || src.rfind("https://", 0) == 0)
    return reportError("import from a URL is not supported yet: " + src);
  UniqueFd fd;
  if (src == "-") {
    if (::isatty(STDIN_FILENO)) return reportError("import: refusing to read a tarball from a terminal");
    fd.reset(::dup(STDIN_FILENO));
  } else {
    auto f = openFile(src, O_RDONLY);
    if (!f) return reportError(f.error().wrap("import"));
    fd = std::move(*f);
  }
  auto s = openStore(g);
  if (!s) return reportError(s.error());
  auto rec = image::importTarball(*s, layer::fdReader(fd.get()), tag, opt);
  if (!rec) return reportError(rec.error().wrap("import `" + src + "`"));
  std::printf("%s\n", rec->id.str().c_str());
  return 0;
}

}  // namespace strata::cli
