// `system check`: whether a store is consistent, like fsck, without changing it.
//
// Consistent means every image record can be used: its manifest and config blobs are present and
// hash to their names, the manifest names the config, every layer the manifest lists is
// present, and every diff_id of the config is unpacked (meta.json and diff/). Every blob hashes
// to its name (a layer tar made from its tree is made and hashed, and counts as a blob), every
// container record parses and names an image the store has.
//
// What a killed operation leaves behind (files under tmp/, blobs and layers no image or build
// cache record refers to, a container directory without a record) is not an inconsistency: it is
// listed as a leftover, and garbage collection (`system prune`, or the next rmi) removes it.
// Leftovers are only looked for when no other strata process is adding content, since that
// process's partial writes look the same.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "store/store.h"

namespace strata::system {

struct CheckOptions {
  bool verifyContent = true;  // hash every blob (false: only that the files exist)
};

struct CheckReport {
  std::vector<std::string> problems;   // one line each, naming the object
  std::vector<std::string> leftovers;  // one line each, naming the path under the store
  bool leftoversChecked = false;       // false when another process was adding content
  std::size_t images = 0, blobs = 0, layers = 0, containers = 0, cacheRecords = 0;
};

Result<CheckReport> check(store::Store& s, const CheckOptions& opt);

}  // namespace strata::system
