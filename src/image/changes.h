// Dockerfile-style config changes for `import -c` and `commit -c` ("CMD [\"sh\"]", "ENV A=1").
#pragma once

#include <string>
#include <string_view>

#include "oci/image.h"
#include "util/error.h"

namespace strata::image {

// Applies one change to config. Accepted instructions (as Docker's): CMD, ENTRYPOINT, ENV,
// EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR. Anything else, or a malformed
// argument, is an error naming the change.
Status applyChange(oci::ContainerConfig& config, std::string_view change);

// Splits a shell-like argument list into words: whitespace separates, single and double quotes
// group, backslash escapes. Used for ENV/LABEL key=value pairs.
Result<std::vector<std::string>> splitWords(std::string_view text);

}  // namespace strata::image
