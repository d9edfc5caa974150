// Pulling an image by name: shared by pull, run, create and build.
#include <unistd.h>

#include "cli/common.h"
#include "registry/pull.h"

namespace strata::cli {

Result<store::ImageRecord> pullImage(const Globals& g, store::Store& s, const std::string& name,
                                     const PullSettings& settings) {
  const oci::Reference ref = TRY(oci::Reference::parse(name));
  registry::PullOptions opt;
  opt.platform = TRY(registry::parsePlatform(settings.platform));
  auto client = TRY_CTX(registry::connectConfigured(ref.domain, g.insecureRegistries),
                        "pull " + ref.familiar());
  registry::Progress progress(settings.quiet ? nullptr : settings.out,
                              !settings.quiet && ::isatty(::fileno(settings.out)));
  auto r = TRY(registry::pull(s, *client, ref, opt, progress));
  progress.message(std::string("Status: ") +
                   (r.upToDate ? "Image is up to date for " : "Downloaded newer image for ") +
                   ref.familiar());
  return r.record;
}

}  // namespace strata::cli
