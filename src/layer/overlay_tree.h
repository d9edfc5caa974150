// An overlay upper directory as a layer's unpacked tree.
//
// A build step's upper dir is already in the form the store keeps layers in (whiteouts as 0:0
// character devices, opaque directories marked with trusted.overlay.opaque), so it can become
// the layer's tree directly instead of being unpacked again from the tar written from it.
#pragma once

#include <string>

#include "util/error.h"

namespace strata::layer {

// Makes the upper dir at root hold exactly what its layer tar holds: drops the trusted.overlay.*
// xattrs overlayfs keeps for itself (all but opaque) and the sockets tar cannot carry, keeping
// the mtimes of their directories, so that writeTarFromDir (OverlayMarkers::ToLayer) writes the
// same tar of the tree before and after. Returns false, changing nothing that matters, when the
// tree holds what only its own overlay mount can read: metacopy files (metadata without data) or
// redirected directories; the caller then unpacks the tar instead.
Result<bool> prepareUpperAsLayer(const std::string& root);

}  // namespace strata::layer
