// Private to src/store: the uncompressed tar of a layer made from its tree.
//
// A build step's layer is kept only as its tree; the blob sha256:<diff_id> is that tree's tar,
// written again whenever it is read. writeTarFromDir's output depends only on what the tree holds
// (names in sorted order, modes, owners, mtimes, xattrs but overlayfs's own, file contents), so
// the same tree gives the same bytes; every regeneration is still checked against the diff_id.
#pragma once

#include <memory>
#include <string>

#include "layer/compression.h"
#include "layer/tar.h"
#include "util/error.h"

namespace strata::store {

// Writes the layer tar of tree (overlay form: whiteouts as 0:0 character devices, opaque
// directories marked by xattr, converted as Docker does) to sink; returns its sha256 and size.
Result<layer::WriteTarResult> writeLayerTar(const std::string& tree, const layer::Sink& sink);
Result<layer::WriteTarResult> writeLayerTar(const std::string& tree, int fd);

// A reader of the layer tar of tree, which must hash to diffIdHex and be size bytes long. The tar
// is written by a thread of the reader's own (joined when the reader is destroyed) into a socket
// the reader reads. The read that would end the stream instead fails, with one line naming the
// layer ("layer sha256:... changed on disk: its tar no longer matches its diff_id"), when the
// bytes read did not match; so does a read past size bytes.
Result<std::unique_ptr<layer::Reader>> openLayerTar(const std::string& tree,
                                                    const std::string& diffIdHex, uint64_t size);

// The error openLayerTar's reader gives for a layer whose tree no longer gives its tar.
Error layerChangedError(const std::string& diffIdHex);

}  // namespace strata::store
