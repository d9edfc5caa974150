// What `images`, `image inspect`, `image history` and `system df` show, in Docker's shapes.
// Rows are JSON objects whose keys are the Go-template field names Docker's --format uses.
#pragma once

#include <string>
#include <vector>

#include "image/images.h"
#include "oci/image.h"
#include "store/store.h"

namespace strata::image {

// Sum of the unpacked sizes of the image's layers (Docker's "Size").
Result<uint64_t> imageSize(const store::Store& s, const oci::ImageConfig& config);

// One element of `image inspect`'s JSON array.
Result<oci::Json> inspectJson(const store::Store& s, const Loaded& image);

struct ListOptions {
  bool all = false;
  bool digests = false;
  bool noTrunc = false;
  std::string repository;            // REPOSITORY[:TAG] argument (matches familiar names)
  std::vector<std::string> filters;  // dangling=true|false, reference=PATTERN, label=K[=V]
};
// Rows for `images`, newest first: {ID, Repository, Tag, Digest, CreatedSince, CreatedAt, Size,
// ...}. ID is the 12-hex short ID unless noTrunc.
Result<std::vector<oci::Json>> listRows(const store::Store& s, const ListOptions& opt);

// Rows for `history`, newest first: {ID, CreatedSince, CreatedAt, CreatedBy, Size, Comment}.
Result<std::vector<oci::Json>> historyRows(const store::Store& s, const Loaded& image,
                                           bool noTrunc, bool human);

// Rows for `system df`: {Type, TotalCount, Active, Size, Reclaimable}.
Result<std::vector<oci::Json>> diskUsageRows(const store::Store& s);

}  // namespace strata::image
