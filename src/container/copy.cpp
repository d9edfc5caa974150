// `cp`: planning a copy by Docker's rules, and the two directions. A helper child reaches the
// container's files (copy_session.cpp), and a tar stream carries the copy through a pipe between
// that child and the host side. The stream starts with the source itself named "."
// (layer::writePathTar); layer::renamingReader renames it (and its contents with it) to what the
// destination rules ask for on the way to the extractor.
#include "container/copy.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <utility>

#include "container/copy_internal.h"
#include "container/create.h"
#include "layer/tar.h"
#include "layer/tar_stream.h"
#include "util/fs.h"

namespace strata::container {

namespace {

using detail::Dest;
using detail::Helper;
using detail::PathParts;
using detail::Pipe;
using detail::Source;
using detail::View;

// Where the stream goes for a planned action, and what its root is called there.
struct Placement {
  int dirfd;
  std::string dirShown;
  layer::TarRename how;
};

Placement place(CopyAction action, const Dest& d, const PathParts& src) {
  Placement p;
  if (action == CopyAction::As) {
    p.dirfd = d.parent.get();
    p.dirShown = dirName(d.shown);
    p.how.top = d.name;
  } else {
    p.dirfd = d.self.get();
    p.dirShown = d.shown;
    p.how.top = action == CopyAction::ContentsInto ? "." : src.base;
    p.how.dropRoot = action == CopyAction::ContentsInto;
  }
  p.how.dropWhiteouts = true;
  return p;
}

// Docker's NoOverwriteDirNonDir for the copy's own top entry: a directory and a non-directory
// do not replace each other.
Status checkOverwrite(const Placement& p, bool srcIsDir, const std::string& srcShown) {
  if (p.how.top == ".") return {};
  struct stat st;
  if (::fstatat(p.dirfd, p.how.top.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) return {};
  std::string target = joinPath(p.dirShown, p.how.top);
  if (S_ISDIR(st.st_mode) && !srcIsDir)
    return failInvalid("cannot overwrite directory \"" + target + "\" with non-directory \"" +
                       srcShown + "\"");
  if (!S_ISDIR(st.st_mode) && srcIsDir)
    return failInvalid("cannot overwrite non-directory \"" + target + "\" with directory \"" +
                       srcShown + "\"");
  return {};
}

Error notFound(const ContainerFs& c, const std::string& shown) {
  return Error::invalid("Could not find the file " + shown + " in container " + c.name);
}

// DEST of copyFromContainer on the host, checked as Docker's client does before any work.
Result<Dest> hostDest(const PathParts& dp) {
  UniqueFd hostRoot = TRY(openFile("/", O_PATH | O_DIRECTORY));
  auto r = detail::resolveDest(hostRoot.get(), dp.rel);
  if (!r && r.error().code() == ENOENT)
    return failInvalid("invalid output path: directory \"" + r.error().message() +
                       "\" does not exist");
  if (!r) return fail(std::move(r).error());
  Dest d = std::move(*r);
  if (d.exists && !d.isDir && dp.endsWithSlash)
    return fail(Error(ENOTDIR, "invalid output path: " + dp.shown));
  // Never replace a host device, FIFO or socket (cp c1:/x /dev/null).
  if (d.exists && d.type != S_IFDIR && d.type != S_IFREG)
    return failInvalid("invalid output path: \"" + d.shown +
                       "\" must be a directory or a regular file");
  return d;
}

}  // namespace

Result<CopyAction> planCopy(bool srcIsDir, bool srcContentsOnly, bool destExists, bool destIsDir,
                            bool destEndsWithSlash) {
  if (destExists && destIsDir)
    return srcIsDir && srcContentsOnly ? CopyAction::ContentsInto : CopyAction::Into;
  if (destExists && srcIsDir) return failInvalid("cannot copy directory");
  if (destExists || srcIsDir) return CopyAction::As;
  if (destEndsWithSlash) return failInvalid("no such directory");
  return CopyAction::As;
}

Result<ContainerFs> containerFs(const Containers& cs, const Record& r,
                                const std::string& shownName) {
  ContainerFs c;
  c.name = shownName;
  c.userns = r.idMapping;
  State st = TRY(cs.state(r.id));
  bool live = st.status == RunStatus::Running || st.status == RunStatus::Paused ||
              st.status == RunStatus::Restarting;
  if (live && st.pid > 0 && ::kill(st.pid, 0) == 0) {
    c.pid = st.pid;
    return c;
  }
  runtime::Spec spec = TRY(specFor(cs, r));
  c.layers = spec.rootfs;
  c.mounts = spec.mounts;
  c.tmpDir = cs.store().tmpDir();
  c.tmpGuard = TRY(cs.store().ingestGuard());
  return c;
}

Status copyFromContainer(const ContainerFs& c, const std::string& src, const std::string& dest,
                         const CopyOptions& opt, int outFd) {
  PathParts s = detail::containerPath(src);
  bool toStream = dest == "-";
  // The host side first, as Docker's client checks it: a bad DEST fails before any work.
  PathParts dp;
  Dest d;
  if (!toStream) {
    dp = TRY(detail::hostPath(dest));
    d = TRY(hostDest(dp));
  }

  View view = TRY(detail::prepareView(c));
  Pipe p = TRY(detail::makePipe());
  bool follow = opt.followLink || s.endsWithSlash || s.contentsOnly;
  Helper child = TRY(Helper::spawn("the copy helper", [&]() -> Status {
    p.read.reset();
    UniqueFd root = TRY(detail::openContainerRoot(c, view, false));
    auto source = detail::openSource(root.get(), s.rel, follow);
    if (!source) {
      if (source.error().code() == ENOENT) return fail(notFound(c, s.shown));
      return fail(Error(source.error().code(), "lstat " + s.shown));
    }
    // One byte before the tar: what the source is, which decides where the tar goes.
    TRYV(writeAll(p.write.get(), S_ISDIR(source->st.st_mode) ? "D" : "F"));
    return layer::writePathTar(source->fd.get(), source->st, p.write.get(),
                               layer::OverlayMarkers::Omit);
  }));
  p.write.reset();

  auto receive = [&]() -> Status {
    char kind = 0;
    size_t n = TRY(readSome(p.read.get(), &kind, 1));
    if (n == 0) return failInvalid("the copy helper sent nothing");
    bool srcIsDir = kind == 'D';
    if (toStream) {
      layer::TarRename how;
      how.top = s.contentsOnly ? "." : s.base;
      return detail::streamTo(p.read.get(), std::move(how), outFd);
    }
    CopyAction action =
        TRY(planCopy(srcIsDir, s.contentsOnly, d.exists, d.isDir, dp.endsWithSlash));
    Placement pl = place(action, d, s);
    if (action == CopyAction::Into) TRYV(checkOverwrite(pl, srcIsDir, s.shown));
    if (!opt.archive) pl.how.owner = std::pair(::getuid(), ::getgid());
    return detail::extractInto(p.read.get(), std::move(pl.how), pl.dirfd);
  };
  Status received = receive();
  p.read.reset();  // a helper still writing gets EPIPE
  return detail::firstCause(child.wait(), std::move(received));
}

Status copyToContainer(const ContainerFs& c, const std::string& src, const std::string& dest,
                       const CopyOptions& opt, int inFd) {
  PathParts dp = detail::containerPath(dest);
  bool fromStream = src == "-";
  PathParts sp;
  Source source;
  if (!fromStream) {
    sp = TRY(detail::hostPath(src));
    UniqueFd hostRoot = TRY(openFile("/", O_PATH | O_DIRECTORY));
    bool follow = opt.followLink || sp.endsWithSlash || sp.contentsOnly;
    auto r = detail::openSource(hostRoot.get(), sp.rel, follow);
    if (!r) return fail(Error(r.error().code(), "lstat " + sp.shown));
    source = std::move(*r);
  }
  bool srcIsDir = !fromStream && S_ISDIR(source.st.st_mode);
  std::optional<std::pair<uid_t, gid_t>> owner;
  if (!opt.archive) owner = std::pair(uid_t(0), gid_t(0));

  View view = TRY(detail::prepareView(c));
  Pipe p = TRY(detail::makePipe());
  // In the container: resolve DEST, plan, extract what the producer (or stdin) sends.
  Helper consumer = TRY(Helper::spawn("the copy helper", [&]() -> Status {
    p.write.reset();
    UniqueFd root = TRY(detail::openContainerRoot(c, view, true));
    auto r = detail::resolveDest(root.get(), dp.rel);
    if (!r && (r.error().code() == ENOENT || r.error().code() == ENOTDIR))
      return fail(notFound(c, r.error().message()));
    if (!r) return fail(std::move(r).error());
    Dest d = std::move(*r);
    if (fromStream) {
      if (!d.exists || !d.isDir)
        return failInvalid("destination \"" + c.name + ":" + dest + "\" must be a directory");
      layer::TarRename how;
      how.owner = owner;
      how.dropRoot = how.dropWhiteouts = true;
      return detail::extractInto(inFd, std::move(how), d.self.get());
    }
    CopyAction action =
        TRY(planCopy(srcIsDir, sp.contentsOnly, d.exists, d.isDir, dp.endsWithSlash));
    Placement pl = place(action, d, sp);
    if (action == CopyAction::Into) TRYV(checkOverwrite(pl, srcIsDir, sp.shown));
    pl.how.owner = owner;
    return detail::extractInto(p.read.get(), std::move(pl.how), pl.dirfd);
  }));
  std::optional<Helper> producer;
  if (!fromStream) {
    producer.emplace(TRY(Helper::spawn("the copy helper", [&]() -> Status {
      p.read.reset();
      return layer::writePathTar(source.fd.get(), source.st, p.write.get(),
                                 layer::OverlayMarkers::AsIs);
    })));
  }
  p.read.reset();
  p.write.reset();
  Status consumed = consumer.wait();
  Status produced = producer ? producer->wait() : Status{};
  return detail::firstCause(std::move(produced), std::move(consumed));
}

}  // namespace strata::container
