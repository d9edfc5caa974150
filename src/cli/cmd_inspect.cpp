// inspect, container inspect, image inspect: Docker's JSON, or a Go template over it.
#include <cstdio>

#include "cli/common.h"
#include "container/views.h"
#include "image/images.h"
#include "image/views.h"

namespace strata::cli {

namespace {

enum class Kind { Any, Container, Image };

// The JSON of what arg names: a container first, then an image, as Docker's generic inspect
// looks them up. The error is Docker's "No such object/container/image: ARG".
Result<oci::Json> lookUp(store::Store& s, container::Containers& cs, const std::string& arg, Kind kind) {
  if (kind != Kind::Image) {
    if (auto rec = cs.resolve(arg)) return container::inspectJson(cs, *rec);
    if (kind == Kind::Container) return failInvalid("No such container: " + arg);
  }
  auto rec = image::resolve(s, arg);
  if (!rec) {
    if (kind == Kind::Image) return fail(std::move(rec).error());
    return failInvalid("No such object: " + arg);
  }
  image::Loaded img = TRY(image::load(s, *rec));
  return image::inspectJson(s, img);
}

int inspect(const Globals& g, const std::vector<std::string>& argv, Kind kind, const char* command) {
  std::string format, type;
  FlagSet flags(command);
  flags.string("format", 'f', &format, "Format the output using the given Go template");
  if (kind == Kind::Any) flags.string("type", 0, &type, "Return JSON for specified type");
  Parsed p = parseFlags(flags, argv, std::string(command) + " [OPTIONS] NAME|ID [NAME|ID...]",
                        "Return low-level information on strata objects");
  if (p.done) return p.status;
  int status = 0;
  if (!checkArgs(command, p.args, 1, SIZE_MAX, status)) return status;
  if (type == "container") kind = Kind::Container;
  else if (type == "image") kind = Kind::Image;
  else if (!type.empty()) return reportError("\"" + type + "\" is not a valid value for --type");
  auto tmpl = inspectTemplate(format);
  if (!tmpl) return reportError(tmpl.error());
  auto s = openStore(g);
  if (!s) return reportError(s.error());
  container::Containers cs(*s);
  return printInspected(p.args, *tmpl, [&](const std::string& arg) { return lookUp(*s, cs, arg, kind); });
}

}  // namespace

int cmdInspect(const Globals& g, const std::vector<std::string>& argv) {
  return inspect(g, argv, Kind::Any, "inspect");
}
int cmdContainerInspect(const Globals& g, const std::vector<std::string>& argv) {
  return inspect(g, argv, Kind::Container, "container inspect");
}
int cmdImageInspect(const Globals& g, const std::vector<std::string>& argv) {
  return inspect(g, argv, Kind::Image, "image inspect");
}

}  // namespace strata::cli
