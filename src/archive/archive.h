// Image archives: `save` and `load` in Docker's docker-archive format and as an OCI image layout
// in a tar (oci-archive).
//
//   docker-archive   <config-hex>.json, <diffid-hex>/{layer.tar,VERSION,json}, manifest.json,
//                    repositories (Docker 20.10's layout; what `docker load` and skopeo read)
//   oci-archive      oci-layout, index.json, blobs/sha256/<hex> (blobs verbatim)
//
// load also reads Docker >= 25 archives (an OCI layout plus manifest.json, with <id>/layer.tar as
// symlinks into blobs/), and the outer tar may be gzip- or zstd-compressed.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "store/store.h"
#include "util/error.h"

namespace strata::archive {

enum class Format { DockerArchive, OciArchive };

// "docker-archive" or "oci-archive" ("docker" and "oci" too); the error names the value.
Result<Format> parseFormat(std::string_view text);

struct SaveRequest {
  // What the user typed: references or image IDs, resolved like Docker (image::resolve). A
  // reference with a tag contributes that tag to the archive; a bare repository name ("busybox")
  // contributes every tag of that repository; an ID contributes the image without a tag.
  std::vector<std::string> args;
  Format format = Format::DockerArchive;
};

// Writes one archive holding the named images to fd (a file or a pipe), streaming: blobs are
// copied in 1 MiB chunks, never held whole, and no temporary copy of the archive is made.
// Every argument is resolved before the first byte is written, so an unknown image ("No such
// image: X") leaves fd untouched. An error later leaves a partial archive behind; the caller
// removes the output file. The same store and arguments give byte-identical archives.
// Thread safety: reads the store only; safe alongside other readers and writers.
Status save(const store::Store& s, const SaveRequest& req, int fd);

struct LoadResult {
  // Docker's lines: "Loaded image: busybox:latest" per tag, "Loaded image ID: sha256:<hex>" for
  // an untagged image, and "The image X already exists, renaming the old one with ID ... to
  // empty string" when a tag moves.
  std::vector<std::string> lines;
};

// Reads an archive (docker-archive, legacy or Docker >= 25, or oci-archive; plain, gzip or zstd)
// from fd to its end and adds its images to the store. Entries are staged under the store's
// tmp/ and layer blobs are moved into the store, not copied. Every layer is verified against
// its diff_id and every blob named by digest against that digest; if anything fails no image
// is recorded (blobs already moved in are left to garbage collection). Holds the store's
// ingest guard for the whole call. Errors are one line naming what failed ("invalid tar
// archive: Truncated tar archive", "layer `x/layer.tar`: ... does not match its diff_id ...");
// the caller adds the operation ("load `x.tar`").
Result<LoadResult> load(store::Store& s, int fd);

}  // namespace strata::archive
