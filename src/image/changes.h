// Dockerfile-style config changes for `import -c` and `commit -c` ("CMD [\"sh\"]", "ENV A=1").
#pragma once

#include <string>
#include <vector>

#include "oci/image.h"
#include "util/error.h"

namespace strata::image {

// Applies changes to config in order, each read by the Dockerfile parser and applied as the
// builder applies the instruction (words expanded with the config's environment; a CMD given
// earlier in the list survives a later ENTRYPOINT, as in Docker). Accepted instructions, as
// Docker's: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR.
// Anything else, or a malformed argument, is an error naming the change; config is then
// unchanged.
Status applyChanges(oci::ContainerConfig& config, const std::vector<std::string>& changes);

}  // namespace strata::image
