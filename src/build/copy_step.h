// A COPY (or ADD of local files) step: files from the build context or from another image's
// file system are written into the image's file system through an overlay whose upper dir
// becomes the step's layer. The work happens in a child process chrooted into the merged view,
// so destination paths and their symlinks resolve inside the image, never on the host.
#pragma once

#include <sys/stat.h>

#include <optional>
#include <string>
#include <vector>

#include "build/context.h"
#include "util/error.h"

namespace strata::build {

// One source as written, with what it selected (context sources: resolved and walked by the
// caller, top entry first).
struct CopyItem {
  std::vector<ContextEntry> entries;  // the source itself, then what is below it
  std::string name;                   // the name it is copied under ("" = its own): a source
                                      // symlink is copied as what it points to, under its name
};

struct InlineFile {  // a heredoc source: `COPY <<EOF /dest`
  std::string name;
  std::string content;
};

struct FetchedFile {  // ADD of a URL, already downloaded: written with mode 0600 (or --chmod)
  std::string hostPath;
  std::string name;
  int64_t mtime = 0;
};

struct CopyStep {
  std::vector<std::string> lowerDirs;  // the image's layer trees, top-most first
  // Where sources come from: the context (contextRoot + items), or the layers of another stage
  // or image (sourceLowerDirs + patterns, resolved inside that file system).
  std::string contextRoot;
  std::vector<CopyItem> items;
  std::optional<std::vector<std::string>> sourceLowerDirs;
  std::vector<std::string> patterns;
  std::vector<InlineFile> inlineFiles;
  std::vector<FetchedFile> fetched;
  std::string dest;                // absolute; a trailing '/' means "a directory"
  std::string chown;               // "user[:group]" by name or id; "" keeps the source owner
                                   // (context files: root)
  std::optional<mode_t> chmod;     // permission bits for everything copied
  bool unpackArchives = false;     // ADD: a local tar (plain, gzip or zstd) source is unpacked
                                   // into the destination directory instead of copied
};

// Carries out step with its writable layer in upperDir (empty on entry). scratchDir holds
// temporary mount points. Fails naming the source or destination path. Needs root.
Status copyStep(const CopyStep& step, const std::string& upperDir, const std::string& scratchDir);

}  // namespace strata::build
