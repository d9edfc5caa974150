// `strata build`: a Dockerfile and a context become an image, step by step, with BuildKit's
// semantics for each instruction and a cache keyed by the chain of steps.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "build/progress.h"
#include "oci/reference.h"
#include "store/store.h"

namespace strata::build {

struct BuildOptions {
  std::string context;        // the context directory; "" with contextTar or without a context
  std::string contextTar;     // a file holding the context as a tar stream (`build -`)
  std::string dockerfile;     // "" = Dockerfile in the context; relative to a tar context's root
  std::optional<std::string> dockerfileText;  // the Dockerfile itself (`-f -`, `build - < Dockerfile`)
  std::vector<oci::Reference> tags;
  std::map<std::string, std::string> buildArgs;
  std::string target;         // --target; "" = the last stage
  bool noCache = false;
  std::map<std::string, std::string> labels;  // --label
  std::string network = "default";            // default, none or host (RUN steps)
  // Fetches an image the build names (FROM, COPY --from) that the store lacks, and with
  // pull set every FROM image, returning its record. Unset: a missing image is an error.
  std::function<Result<store::ImageRecord>(const std::string& name)> pullImage;
  bool pull = false;  // --pull: refresh FROM images even when the store has them
};

// Builds the image and records it with opt.tags. Errors name the Dockerfile line; a RUN whose
// command fails gives "Dockerfile:N: process \"...\" did not complete successfully: exit code: C".
// stepFailed tells a step that ran and failed (docker build's exit status 1) from bad input
// found before anything ran. Nothing of a failed build stays in the store except the cache
// records of the steps that succeeded (and their layers).
Result<store::ImageRecord> build(store::Store& s, const BuildOptions& opt, Progress& progress,
                                 bool& stepFailed);

}  // namespace strata::build
