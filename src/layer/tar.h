// Layer tarballs <-> directory trees.
//
// extractLayer applies one layer tar (as found in an image: plain, gzip or zstd) to a directory,
// never writing outside it: every parent path is resolved with openat2(RESOLVE_IN_ROOT), final
// components are created with *at() calls that do not follow symlinks, entries whose names
// escape ("../x", after cleaning) are rejected with an error naming the entry, and hardlink
// targets resolve inside the root too. Ownership, modes (including setuid, which is kept as
// data and never acted on), mtimes and xattrs are restored; device nodes are created when
// running as root.
//
// Whiteouts: with WhiteoutMode::Overlay (the store's snapshots, stacked later with overlayfs),
// ".wh.NAME" becomes a 0:0 character device NAME and ".wh..wh..opq" sets the
// trusted.overlay.opaque="y" xattr on its directory. With WhiteoutMode::Apply (flattening layers
// onto one tree, e.g. export or ADD), ".wh.NAME" removes NAME and an opaque marker empties the
// directory of what earlier layers put there.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "layer/compression.h"
#include "util/error.h"

namespace strata::layer {

enum class WhiteoutMode { Overlay, Apply };

// The most uncompressed bytes one layer, context or ADDed archive may hold (a decompression bomb
// guard): $STRATA_MAX_LAYER_SIZE ("500m", "20g", plain bytes), 1 TiB when unset. The error
// names the variable when its value is not a size.
Result<uint64_t> configuredMaxBytes();

struct ExtractOptions {
  WhiteoutMode whiteouts = WhiteoutMode::Overlay;
  // Refuse to extract more than this many uncompressed bytes (configuredMaxBytes(), or 1 TiB
  // when the variable is invalid: the CLI refuses to start then).
  uint64_t maxBytes = configuredMaxBytes().value_or(uint64_t(1) << 40);
  // When false (not root), ownership and device nodes are skipped instead of failing.
  bool restoreOwnership = true;
};

struct ExtractResult {
  std::string diffIdHex;          // sha256 of the uncompressed tar stream, all of it
  uint64_t uncompressedSize = 0;  // bytes of the uncompressed tar stream
  Compression compression = Compression::None;
};

// Extracts the layer read from src into the existing directory root. The whole stream is read
// (so the digest covers trailing padding). On error the directory may hold a partial tree; the
// caller extracts into a temporary directory and discards it.
Result<ExtractResult> extractLayer(std::unique_ptr<Reader> src, const std::string& root,
                                   const ExtractOptions& options = {});

// Digest of a layer's uncompressed tar stream without extracting it.
Result<ExtractResult> digestLayer(std::unique_ptr<Reader> src);

// What writeTarFromDir does with overlayfs's own markers: whiteouts (0:0 character devices) and
// opaque directories (xattr trusted.overlay.opaque="y").
enum class OverlayMarkers {
  // No special meaning: a 0:0 device is written as a device (trusted.overlay.* xattrs, which only
  // overlayfs may set, are never written in any mode).
  AsIs,
  // The tree is an overlay upper dir becoming an image layer, converted as Docker's overlay2
  // driver does: whiteout NAME -> empty regular file ".wh.NAME" (mode 0600, the device's
  // uid/gid and mtime); an opaque directory is followed by an empty regular file
  // "DIR/.wh..wh..opq" (the directory's permission bits and uid/gid, mtime 0).
  ToLayer,
  // The tree is one overlay layer on its own, or an overlay mount: whiteouts hide nothing and
  // are left out, and so is a listed name that cannot be found when stat'ed (overlayfs lists the
  // whiteouts of its bottom layer but resolves them to nothing).
  Omit,
};

struct WriteTarOptions {
  // Fixed mtime for every entry (reproducible output); -1 keeps the files' own.
  int64_t mtime = -1;
  OverlayMarkers overlay = OverlayMarkers::AsIs;
};

// Writes the tree under root as a POSIX (PAX) tar to fd: entries in sorted order, parents before
// children, names relative to root without a leading "./", directories with a trailing '/',
// hardlinks as type '1' entries, xattrs as PAX SCHILY.xattr records, uid/gid numeric. Returns the
// sha256 hex and size of what was written.
struct WriteTarResult {
  std::string sha256Hex;
  uint64_t size = 0;
};
Result<WriteTarResult> writeTarFromDir(const std::string& root, int fd,
                                       const WriteTarOptions& options = {});
// As above, handing the tar to sink in chunks of up to 1 MiB; an error from sink stops the
// walk and is returned as it is.
Result<WriteTarResult> writeTarFromDir(const std::string& root, const Sink& sink,
                                       const WriteTarOptions& options = {});

}  // namespace strata::layer
