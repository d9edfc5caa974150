// `cp`: a child process reaches the container's files (joining its mount namespace, or mounting
// its layers), and a tar stream carries the copy through a pipe between that child and the host
// side. The stream starts with the source itself named "."; TarRewriter renames it (and its
// contents with it) to what the destination rules ask for on the way to the extractor.
#include "container/copy.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <locale.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <utility>

#include "container/create.h"
#include "layer/in_root.h"
#include "layer/tar.h"
#include "runtime/mounts_internal.h"
#include "util/fs.h"

namespace strata::container {

namespace {

constexpr size_t kChunk = size_t(1) << 20;
constexpr std::string_view kOverlayXattrPrefix = "trusted.overlay.";
constexpr std::string_view kWhiteoutPrefix = ".wh.";

// ---------------------------------------------------------------------------------------------
// Paths as typed

// A SRC or DEST path as the user typed it, taken apart.
struct PathParts {
  std::string rel;             // relative to the root it is resolved in ("" is the root itself)
  std::string shown;           // absolute, for messages
  std::string base;            // its last component, trailing '/' and "/." ignored
  bool endsWithSlash = false;  // ends in '/' or "/.": asserts a directory, follows a symlink
  bool contentsOnly = false;   // ends in "/.", or names the root: a directory's contents
};

std::string withoutLeadingSlashes(const std::string& path) {
  size_t start = path.find_first_not_of('/');
  return start == std::string::npos ? std::string() : path.substr(start);
}

PathParts splitPath(const std::string& absolute) {
  PathParts p;
  p.rel = withoutLeadingSlashes(absolute);
  p.shown = "/" + p.rel;
  bool dot = absolute == "." || absolute.ends_with("/.");
  p.endsWithSlash = dot || absolute.ends_with('/');
  std::string trimmed = p.rel;
  for (;;) {
    if (trimmed.ends_with('/'))
      trimmed.pop_back();
    else if (trimmed == "." || trimmed.ends_with("/."))
      trimmed.pop_back();
    else
      break;
  }
  p.base = baseName(trimmed);
  p.contentsOnly = dot || trimmed.empty() || p.base == "." || p.base == "..";
  return p;
}

// A path in the container: relative ones start at its root.
PathParts containerPath(const std::string& path) { return splitPath("/" + path); }

Result<PathParts> hostPath(const std::string& path) {
  if (path.starts_with('/')) return splitPath(path);
  char* cwd = ::getcwd(nullptr, 0);
  if (!cwd) return failErrno("getcwd");
  std::string dir(cwd);
  ::free(cwd);
  return splitPath(dir + "/" + path);
}

std::string fdPath(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

// ---------------------------------------------------------------------------------------------
// Helper processes

// A forked child running one function; its failure comes back as an Error over a pipe
// (int32 errno, uint32 length, message). Killed and reaped if dropped before wait().
class Helper {
 public:
  Helper(Helper&& o) noexcept : pid_(std::exchange(o.pid_, -1)), report_(std::move(o.report_)) {}
  Helper& operator=(Helper&&) = delete;
  ~Helper() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
  }

  // body runs in the child, which then _exits: no destructors, no return to the caller's stack.
  // Pipes the parent shares with the child are the body's to close (it gets copies of them).
  static Result<Helper> spawn(const std::function<Status()>& body) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) return failErrno("pipe");
    UniqueFd readEnd(p[0]), writeEnd(p[1]);
    pid_t pid = ::fork();
    if (pid < 0) return failErrno("fork");
    if (pid == 0) {
      readEnd.reset();
      // A reader that went away must fail our writes (EPIPE), not kill us without a report.
      ::signal(SIGPIPE, SIG_IGN);
      int code = 0;
      try {
        if (auto st = body(); !st) {
          report(writeEnd.get(), st.error());
          code = 1;
        }
      } catch (...) {
        report(writeEnd.get(), Error::invalid("unexpected exception in the copy helper"));
        code = 1;
      }
      ::_exit(code);
    }
    return Helper(pid, std::move(readEnd));
  }

  // Waits for the child; its error, if it failed.
  Status wait() {
    // The report comes before the exit; reading to the end of the pipe also waits for it.
    auto record = readAll(report_.get());
    report_.reset();
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0) {
      if (errno != EINTR) return failErrno("wait for the copy helper");
    }
    pid_ = -1;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
    if (WIFSIGNALED(status))
      return failInvalid("the copy helper was killed by signal " +
                         std::to_string(WTERMSIG(status)));
    int32_t code = 0;
    uint32_t len = 0;
    if (!record || record->size() < sizeof code + sizeof len)
      return failInvalid("the copy helper failed without a report");
    std::memcpy(&code, record->data(), sizeof code);
    std::memcpy(&len, record->data() + sizeof code, sizeof len);
    return fail(Error(code, record->substr(sizeof code + sizeof len, len)));
  }

 private:
  Helper(pid_t pid, UniqueFd report) : pid_(pid), report_(std::move(report)) {}

  static void report(int fd, const Error& e) {
    int32_t code = e.code();
    auto len = static_cast<uint32_t>(std::min<size_t>(e.message().size(), 1u << 15));
    std::string record(sizeof code + sizeof len, '\0');
    std::memcpy(record.data(), &code, sizeof code);
    std::memcpy(record.data() + sizeof code, &len, sizeof len);
    record.append(e.message(), 0, len);
    (void)writeAll(fd, record);
  }

  pid_t pid_ = -1;
  UniqueFd report_;
};

struct Pipe {
  UniqueFd read, write;
};

Result<Pipe> makePipe() {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) return failErrno("pipe");
  return Pipe{UniqueFd(p[0]), UniqueFd(p[1])};
}

// Of a writer's and a reader's results, the one that explains the failure: a writer that only
// saw its reader go away (EPIPE) defers to the reader.
Status firstCause(Status writer, Status reader) {
  if (!writer && writer.error().code() != EPIPE) return writer;
  if (!reader) return reader;
  return writer;
}

// ---------------------------------------------------------------------------------------------
// libarchive plumbing

struct ArchiveReadFree {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct ArchiveWriteFree {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryFree {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};
using ArchiveRead = std::unique_ptr<archive, ArchiveReadFree>;
using ArchiveWrite = std::unique_ptr<archive, ArchiveWriteFree>;

// Names go through the thread's locale: C.UTF-8 keeps non-ASCII names intact (as tar_write.cpp).
class Utf8Locale {
 public:
  Utf8Locale() : loc_(::newlocale(LC_CTYPE_MASK, "C.UTF-8", locale_t(0))) {
    if (loc_) old_ = ::uselocale(loc_);
  }
  ~Utf8Locale() {
    if (!loc_) return;
    ::uselocale(old_);
    ::freelocale(loc_);
  }
  Utf8Locale(const Utf8Locale&) = delete;
  Utf8Locale& operator=(const Utf8Locale&) = delete;

 private:
  locale_t loc_;
  locale_t old_ = LC_GLOBAL_LOCALE;
};

Error archiveError(archive* a, const std::optional<Error>& ours, const std::string& what) {
  if (ours) return *ours;
  const char* msg = archive_error_string(a);
  return Error::invalid(what + ": " + (msg ? msg : "unknown libarchive error"));
}

// A PAX writer (as writeTarFromDir's: SCHILY xattrs, no blocking) handing its output to cb.
Result<ArchiveWrite> openTarWriter(void* client, archive_write_callback* cb) {
  ArchiveWrite a(archive_write_new());
  if (!a) return fail(Error(ENOMEM, "libarchive: cannot allocate a writer"));
  archive_write_set_format_pax_restricted(a.get());
  if (archive_write_set_format_option(a.get(), "pax", "xattrheader", "SCHILY") < ARCHIVE_OK)
    return failInvalid(std::string("tar writer options: ") + archive_error_string(a.get()));
  archive_write_set_bytes_per_block(a.get(), 0);
  if (archive_write_open2(a.get(), client, nullptr, cb, nullptr, nullptr) != ARCHIVE_OK)
    return failInvalid(std::string("open tar writer: ") + archive_error_string(a.get()));
  return a;
}

// ---------------------------------------------------------------------------------------------
// The source side: the source itself as ".", then a directory's contents

struct Source {
  UniqueFd fd;  // O_PATH: the source itself (a symlink when not followed)
  struct stat st {};
};

// Opens rel inside rootfd, confined to it; the final symlink is followed only when asked.
Result<Source> openSource(int rootfd, const std::string& rel, bool follow) {
  Source s;
  s.fd = TRY(layer::detail::openInRoot(rootfd, rel, O_PATH | (follow ? 0 : O_NOFOLLOW)));
  if (::fstat(s.fd.get(), &s.st) < 0) return failErrno("stat `" + rel + "`");
  return s;
}

struct FdSink {
  int fd;
  std::optional<Error> error;
  static la_ssize_t callback(archive* a, void* self, const void* data, size_t n) {
    auto* sink = static_cast<FdSink*>(self);
    if (auto st = writeAll(sink->fd, data, n); !st) {
      archive_set_error(a, st.error().code(), "%s", st.error().what().c_str());
      sink->error = std::move(st).error().wrap("write tar");
      return -1;
    }
    return static_cast<la_ssize_t>(n);
  }
};

// The xattrs of the file open as fd, but overlayfs's own.
Status addXattrs(archive_entry* e, int fd) {
  std::string list;
  for (;;) {
    ssize_t len = ::flistxattr(fd, nullptr, 0);
    if (len < 0) return errno == ENOTSUP ? Status{} : failErrno("list xattrs");
    list.resize(static_cast<size_t>(len));
    len = ::flistxattr(fd, list.data(), list.size());
    if (len >= 0) {
      list.resize(static_cast<size_t>(len));
      break;
    }
    if (errno != ERANGE) return failErrno("list xattrs");
  }
  std::string value;
  for (size_t pos = 0; pos < list.size();) {
    std::string key(list.c_str() + pos);
    pos += key.size() + 1;
    if (key.empty() || key.starts_with(kOverlayXattrPrefix)) continue;
    ssize_t len = ::fgetxattr(fd, key.c_str(), nullptr, 0);
    if (len >= 0) {
      value.resize(static_cast<size_t>(len));
      len = ::fgetxattr(fd, key.c_str(), value.data(), value.size());
    }
    if (len < 0) {
      if (errno == ENODATA) continue;
      return failErrno("read xattr `" + key + "`");
    }
    archive_entry_xattr_add_entry(e, key.c_str(), value.data(), static_cast<size_t>(len));
  }
  return {};
}

Status copyFileData(archive* a, int fd, const struct stat& st, const FdSink& sink) {
  std::vector<char> buf(kChunk);
  auto remaining = static_cast<uint64_t>(st.st_size);
  while (remaining > 0) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(remaining, buf.size()));
    size_t n = TRY_CTX(readSome(fd, buf.data(), want), "read");
    if (n == 0) return failInvalid("the file shrank while it was copied");
    for (size_t off = 0; off < n;) {
      la_ssize_t w = archive_write_data(a, buf.data() + off, n - off);
      if (w <= 0) return fail(archiveError(a, sink.error, "write tar data"));
      off += static_cast<size_t>(w);
    }
    remaining -= n;
  }
  return {};
}

// A one-entry tar of the source itself, named ".": its type, mode, owner, mtime, xattrs and,
// for a regular file, its data.
Status writeTopEntry(const Source& s, int outFd) {
  Utf8Locale utf8;
  FdSink sink{outFd, std::nullopt};
  ArchiveWrite a = TRY(openTarWriter(&sink, &FdSink::callback));
  std::unique_ptr<archive_entry, EntryFree> owned(archive_entry_new());
  archive_entry* e = owned.get();
  const struct stat& st = s.st;
  mode_t type = st.st_mode & S_IFMT;
  archive_entry_set_filetype(e, type);
  archive_entry_set_perm(e, st.st_mode & 07777);
  archive_entry_set_uid(e, st.st_uid);
  archive_entry_set_gid(e, st.st_gid);
  archive_entry_set_mtime(e, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
  archive_entry_set_size(e, 0);
  archive_entry_copy_pathname(e, type == S_IFDIR ? "./" : ".");
  UniqueFd file;
  switch (type) {
    case S_IFREG:
    case S_IFDIR: {
      // Reopened through the O_PATH fd: the very file that was resolved, now readable.
      file = TRY(openFile(fdPath(s.fd.get()), O_RDONLY | (type == S_IFDIR ? O_DIRECTORY : 0)));
      TRYV(addXattrs(e, file.get()));
      if (type == S_IFREG) archive_entry_set_size(e, st.st_size);
      break;
    }
    case S_IFLNK: {
      std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
      ssize_t n = ::readlinkat(s.fd.get(), "", target.data(), target.size());
      if (n < 0) return failErrno("readlink");
      target.resize(static_cast<size_t>(n));
      archive_entry_copy_symlink(e, target.c_str());
      break;
    }
    case S_IFCHR:
    case S_IFBLK:
      archive_entry_set_rdev(e, st.st_rdev);
      break;
    case S_IFIFO:
      break;
    default:
      return failInvalid("cannot copy a socket");
  }
  if (archive_write_header(a.get(), e) < ARCHIVE_WARN)
    return fail(archiveError(a.get(), sink.error, "write tar header"));
  if (type == S_IFREG) TRYV(copyFileData(a.get(), file.get(), st, sink));
  if (archive_write_close(a.get()) != ARCHIVE_OK)
    return fail(archiveError(a.get(), sink.error, "finish tar"));
  return {};
}

// The source as a tar stream on outFd: writeTopEntry's one-entry tar, then for a directory a
// second tar of its contents (names relative to it). TarRewriter reads the two as one.
Status writeSourceTar(const Source& s, int outFd, layer::OverlayMarkers markers) {
  TRYV(writeTopEntry(s, outFd));
  if (!S_ISDIR(s.st.st_mode)) return {};
  layer::WriteTarOptions options;
  options.overlay = markers;
  TRYV(layer::writeTarFromDir(fdPath(s.fd.get()), outFd, options));
  return {};
}

// ---------------------------------------------------------------------------------------------
// Renaming on the way: TarRewriter

struct TarRewrite {
  std::string top = ".";  // what the stream's own root "." is called: "passwd", "d", "."
  std::optional<std::pair<uid_t, gid_t>> owner;  // every entry's owner, when set
  bool dropRoot = false;       // leave out the entry for "." itself (merging into a directory)
  bool dropWhiteouts = false;  // leave out ".wh.*" names, which the extractor would act on
};

// A Reader of a tar read from src with every entry renamed below how.top (and owned by
// how.owner): the stream pulls one header or data chunk through libarchive at a time.
// Concatenated tars in src come out as one.
class TarRewriter final : public layer::Reader {
 public:
  TarRewriter(std::unique_ptr<layer::Reader> src, TarRewrite how)
      : src_(std::move(src)), how_(std::move(how)), inBuf_(kChunk), data_(kChunk) {}

  Result<size_t> read(void* buf, size_t size) override {
    while (pos_ == out_.size()) {
      if (stage_ == Stage::Done) return 0;
      out_.clear();
      pos_ = 0;
      Utf8Locale utf8;
      if (stage_ == Stage::Start)
        TRYV(open());
      else if (stage_ == Stage::Header)
        TRYV(nextHeader());
      else
        TRYV(copyData());
    }
    size_t n = std::min(size, out_.size() - pos_);
    std::memcpy(buf, out_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  enum class Stage { Start, Header, Data, Done };

  Status open() {
    in_.reset(archive_read_new());
    if (!in_) return fail(Error(ENOMEM, "libarchive: cannot allocate a reader"));
    archive_read_support_format_tar(in_.get());
    // The source's own entry and its contents come as two tars, one after the other.
    if (archive_read_set_options(in_.get(), "tar:read_concatenated_archives") != ARCHIVE_OK)
      return failInvalid("libarchive cannot read concatenated tars");
    if (archive_read_open(in_.get(), this, nullptr, &TarRewriter::pull, nullptr) != ARCHIVE_OK) {
      if (!srcError_ && pulled_ == 0) {  // an empty stream: nothing to copy
        stage_ = Stage::Done;
        return {};
      }
      return fail(archiveError(in_.get(), srcError_, "read tar"));
    }
    out_writer_ = TRY(openTarWriter(this, &TarRewriter::push));
    stage_ = Stage::Header;
    return {};
  }

  Status nextHeader() {
    archive_entry* e;
    int r = archive_read_next_header(in_.get(), &e);
    if (r == ARCHIVE_EOF) {
      if (archive_write_close(out_writer_.get()) != ARCHIVE_OK)
        return fail(archiveError(out_writer_.get(), std::nullopt, "finish tar"));
      stage_ = Stage::Done;
      return {};
    }
    if (r < ARCHIVE_WARN) return fail(archiveError(in_.get(), srcError_, "read tar"));
    bool keep = TRY(rewrite(e));
    if (!keep) return {};           // the next header skips its data
    archive_entry_sparse_clear(e);  // holes come back from archive_read_data as zeros
    if (archive_write_header(out_writer_.get(), e) < ARCHIVE_WARN)
      return fail(archiveError(out_writer_.get(), std::nullopt, "write tar header"));
    bool hasData = archive_entry_filetype(e) == AE_IFREG && !archive_entry_hardlink(e) &&
                   archive_entry_size(e) > 0;
    stage_ = hasData ? Stage::Data : Stage::Header;
    return {};
  }

  Status copyData() {
    la_ssize_t n = archive_read_data(in_.get(), data_.data(), data_.size());
    if (n < 0) return fail(archiveError(in_.get(), srcError_, "read tar data"));
    if (n == 0) {
      stage_ = Stage::Header;
      return {};
    }
    for (la_ssize_t off = 0; off < n;) {
      la_ssize_t w =
          archive_write_data(out_writer_.get(), data_.data() + off, static_cast<size_t>(n - off));
      if (w < 0) return fail(archiveError(out_writer_.get(), std::nullopt, "write tar data"));
      if (w == 0) break;  // more data than the header declared
      off += w;
    }
    return {};
  }

  std::string renamed(const std::string& clean) const {
    if (clean.empty()) return how_.top;
    return how_.top == "." ? "./" + clean : how_.top + "/" + clean;
  }

  // Renames e in place; false to leave it out.
  Result<bool> rewrite(archive_entry* e) {
    const char* raw = archive_entry_pathname(e);
    if (!raw) raw = archive_entry_pathname_utf8(e);
    if (!raw) return failInvalid("tar entry without a name");
    std::string clean =
        TRY_CTX(layer::detail::cleanEntryPath(raw), "tar entry \"" + std::string(raw) + "\"");
    if (how_.dropRoot && clean.empty()) return false;
    if (how_.dropWhiteouts && baseName(clean).starts_with(kWhiteoutPrefix)) return false;
    std::string name = renamed(clean);
    if (archive_entry_filetype(e) == AE_IFDIR && !name.ends_with('/')) name += '/';
    archive_entry_copy_pathname(e, name.c_str());
    const char* link = archive_entry_hardlink(e);
    if (!link) link = archive_entry_hardlink_utf8(e);
    if (link) {
      std::string target = TRY_CTX(layer::detail::cleanEntryPath(link),
                                   "hardlink target \"" + std::string(link) + "\"");
      archive_entry_copy_hardlink(e, renamed(target).c_str());
    }
    if (how_.owner) {
      archive_entry_set_uid(e, how_.owner->first);
      archive_entry_set_gid(e, how_.owner->second);
      archive_entry_copy_uname(e, nullptr);
      archive_entry_copy_gname(e, nullptr);
    }
    return true;
  }

  static la_ssize_t pull(archive* a, void* self, const void** buf) {
    auto* r = static_cast<TarRewriter*>(self);
    auto n = r->src_->read(r->inBuf_.data(), r->inBuf_.size());
    if (!n) {
      archive_set_error(a, EIO, "%s", n.error().what().c_str());
      r->srcError_ = std::move(n).error();
      return -1;
    }
    r->pulled_ += *n;
    *buf = r->inBuf_.data();
    return static_cast<la_ssize_t>(*n);
  }

  static la_ssize_t push(archive*, void* self, const void* data, size_t n) {
    static_cast<TarRewriter*>(self)->out_.append(static_cast<const char*>(data), n);
    return static_cast<la_ssize_t>(n);
  }

  std::unique_ptr<layer::Reader> src_;
  TarRewrite how_;
  std::vector<char> inBuf_, data_;
  std::string out_;  // rewritten bytes not yet read
  size_t pos_ = 0;
  uint64_t pulled_ = 0;
  Stage stage_ = Stage::Start;
  std::optional<Error> srcError_;
  // Last, so destroyed first: freeing an unfinished writer still pushes its trailer to out_.
  ArchiveRead in_;
  ArchiveWrite out_writer_;
};

// Extracts the rewritten stream from fd into the directory open as dirfd.
Status extractInto(int fd, TarRewrite how, int dirfd) {
  auto reader = std::make_unique<TarRewriter>(layer::fdReader(fd), std::move(how));
  layer::ExtractOptions options;
  options.whiteouts = layer::WhiteoutMode::Apply;
  TRYV(layer::extractLayer(std::move(reader), fdPath(dirfd), options));
  return {};
}

// Copies the rewritten stream from fd to outFd.
Status streamTo(int fd, TarRewrite how, int outFd) {
  TarRewriter reader(layer::fdReader(fd), std::move(how));
  std::vector<char> buf(kChunk);
  for (;;) {
    size_t n = TRY(reader.read(buf.data(), buf.size()));
    if (n == 0) return {};
    TRYV_CTX(writeAll(outFd, buf.data(), n), "write the tar");
  }
}

// ---------------------------------------------------------------------------------------------
// The destination side

struct Dest {
  UniqueFd parent;    // the directory DEST is (or is to be) in
  std::string name;   // DEST's name there, after its symlinks ("" for the root)
  std::string shown;  // the path it resolved to, for messages
  UniqueFd self;      // DEST itself when it is an existing directory
  bool exists = false, isDir = false;
  mode_t type = 0;  // S_IFMT bits of an existing DEST
};

// Resolves DEST (rel, inside rootfd) as Docker's CopyInfoDestinationPath: symlinks on the way
// and at the end are followed (at most 10 at the end), all inside rootfd. A missing DEST is fine
// when its parent directory exists; otherwise the error has ENOENT (or ENOTDIR) and names the
// parent as its message ("/nodir").
Result<Dest> resolveDest(int rootfd, std::string rel) {
  for (int hops = 0; hops <= 10; ++hops) {
    while (rel.ends_with('/') || rel == "." || rel.ends_with("/.")) rel.pop_back();
    Dest d;
    d.shown = "/" + rel;
    auto [parent, base] = layer::detail::splitParent(rel);
    if (base.empty() || base == "..") {  // the root, or a path that ends going up
      d.self = TRY(layer::detail::openInRoot(rootfd, rel, O_PATH | O_DIRECTORY));
      d.exists = d.isDir = true;
      d.type = S_IFDIR;
      return d;
    }
    auto dir = layer::detail::openInRoot(rootfd, parent, O_PATH | O_DIRECTORY);
    if (!dir) return fail(Error(dir.error().code(), "/" + parent));
    d.parent = std::move(*dir);
    d.name = base;
    struct stat st;
    if (::fstatat(d.parent.get(), base.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
      if (errno == ENOENT) return d;
      return failErrno("lstat " + d.shown);
    }
    if (S_ISLNK(st.st_mode)) {
      std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
      ssize_t n = ::readlinkat(d.parent.get(), base.c_str(), target.data(), target.size());
      if (n < 0) return failErrno("readlink " + d.shown);
      target.resize(static_cast<size_t>(n));
      // Resolved again from the root, so a relative target starts where the link is.
      if (target.starts_with('/'))
        rel = withoutLeadingSlashes(target);
      else
        rel = parent.empty() ? target : parent + "/" + target;
      continue;
    }
    d.exists = true;
    d.type = st.st_mode & S_IFMT;
    d.isDir = S_ISDIR(st.st_mode);
    if (d.isDir) {
      int fd =
          ::openat(d.parent.get(), base.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) return failErrno("open " + d.shown);
      d.self.reset(fd);
    }
    return d;
  }
  return fail(Error(ELOOP, "too many symlinks"));
}

// Where the stream goes for a planned action, and what its root is called there.
struct Placement {
  int dirfd;
  std::string dirShown;
  TarRewrite how;
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

// ---------------------------------------------------------------------------------------------
// Reaching the container's files (in a helper child)

// Joins a private copy of the running container's mount namespace, drops its /proc, /sys and
// /dev (Docker's cp sees the root file system and volumes only), and goes back to the host's
// root, whose /proc the tar code needs for /proc/self/fd paths (the container's /proc belongs to
// its PID namespace, where this process has no /proc/self). Returns the container's root.
Result<UniqueFd> enterRunning(pid_t pid) {
  UniqueFd hostRoot = TRY(openFile("/", O_PATH | O_DIRECTORY));
  UniqueFd ns = TRY(openFile("/proc/" + std::to_string(pid) + "/ns/mnt", O_RDONLY));
  if (::setns(ns.get(), CLONE_NEWNS) < 0) return failErrno("join the container's mount namespace");
  if (::unshare(CLONE_NEWNS) < 0) return failErrno("unshare the mount namespace");
  // Private first: nothing unmounted below may propagate back to the container.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0)
    return failErrno("make / private");
  for (const char* path : {"/proc", "/sys", "/dev"}) {
    if (::umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL && errno != ENOENT)
      return failErrno(std::string("unmount ") + path);
  }
  UniqueFd root = TRY(openFile("/", O_PATH | O_DIRECTORY));
  if (::fchdir(hostRoot.get()) < 0 || ::chroot(".") < 0)
    return failErrno("return to the host root");
  return root;
}

// Mounts a stopped container's layers on mountPoint in a private mount namespace: writable with
// its upper dir, or read-only with the upper dir as the top lower layer. Then its binds.
Result<UniqueFd> mountLayers(const ContainerFs& c, const std::string& mountPoint, bool writable) {
  if (::unshare(CLONE_NEWNS) < 0) return failErrno("unshare the mount namespace");
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0)
    return failErrno("make / private");
  runtime::Overlay o;
  if (writable) {
    o = c.layers;
  } else {
    if (!c.layers.upperDir.empty()) o.lowerDirs.push_back(c.layers.upperDir);
    o.lowerDirs.insert(o.lowerDirs.end(), c.layers.lowerDirs.begin(), c.layers.lowerDirs.end());
  }
  if (o.lowerDirs.size() == 1 && o.upperDir.empty()) {  // overlayfs wants two layers then
    if (::mount(o.lowerDirs[0].c_str(), mountPoint.c_str(), nullptr, MS_BIND, nullptr) < 0)
      return failErrno("bind mount " + o.lowerDirs[0]);
    if (::mount(nullptr, mountPoint.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) <
        0)
      return failErrno("remount " + mountPoint + " read-only");
  } else {
    TRYV(runtime::detail::mountOverlay(o, mountPoint));
  }
  UniqueFd root = TRY(openFile(mountPoint, O_PATH | O_DIRECTORY));
  std::vector<runtime::Mount> mounts;
  for (const auto& m : c.mounts) {
    // The read-only view cannot make a missing mount point; what is not there is left out.
    if (writable || layer::detail::openInRoot(root.get(), m.destination, O_PATH))
      mounts.push_back(m);
  }
  TRYV(runtime::detail::mountAll(root.get(), mounts));
  return root;
}

// What the parent prepares for a helper that reaches the container: the mount point of a
// stopped container's layers (the mount itself lives and dies with the helper's namespace).
struct View {
  TempDir tmp;
  std::string mountPoint;
};

Result<View> prepareView(const ContainerFs& c) {
  View v;
  if (c.pid > 0) return v;
  v.tmp = TRY(TempDir::create(c.tmpDir, "strata-cp-"));
  v.mountPoint = joinPath(v.tmp.path(), "rootfs");
  if (::mkdir(v.mountPoint.c_str(), 0755) < 0) return failErrno("mkdir `" + v.mountPoint + "`");
  return v;
}

Result<UniqueFd> openContainerRoot(const ContainerFs& c, const View& v, bool writable) {
  if (c.pid > 0) return enterRunning(c.pid);
  return mountLayers(c, v.mountPoint, writable);
}

Error notFound(const ContainerFs& c, const std::string& shown) {
  return Error::invalid("Could not find the file " + shown + " in container " + c.name);
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
  return c;
}

Status copyFromContainer(const ContainerFs& c, const std::string& src, const std::string& dest,
                         const CopyOptions& opt, int outFd) {
  PathParts s = containerPath(src);
  bool toStream = dest == "-";
  // The host side first, as Docker's client checks it: a bad DEST fails before any work.
  PathParts dp;
  Dest d;
  if (!toStream) {
    dp = TRY(hostPath(dest));
    UniqueFd hostRoot = TRY(openFile("/", O_PATH | O_DIRECTORY));
    auto r = resolveDest(hostRoot.get(), dp.rel);
    if (!r && r.error().code() == ENOENT)
      return failInvalid("invalid output path: directory \"" + r.error().message() +
                         "\" does not exist");
    if (!r) return fail(std::move(r).error());
    d = std::move(*r);
    if (d.exists && !d.isDir && dp.endsWithSlash)
      return fail(Error(ENOTDIR, "invalid output path: " + dp.shown));
    // Never replace a host device, FIFO or socket (cp c1:/x /dev/null).
    if (d.exists && d.type != S_IFDIR && d.type != S_IFREG)
      return failInvalid("invalid output path: \"" + d.shown +
                         "\" must be a directory or a regular file");
  }

  View view = TRY(prepareView(c));
  Pipe p = TRY(makePipe());
  bool follow = opt.followLink || s.endsWithSlash || s.contentsOnly;
  Helper child = TRY(Helper::spawn([&]() -> Status {
    p.read.reset();
    UniqueFd root = TRY(openContainerRoot(c, view, false));
    auto source = openSource(root.get(), s.rel, follow);
    if (!source) {
      if (source.error().code() == ENOENT) return fail(notFound(c, s.shown));
      return fail(Error(source.error().code(), "lstat " + s.shown));
    }
    // One byte before the tar: what the source is, which decides where the tar goes.
    TRYV(writeAll(p.write.get(), S_ISDIR(source->st.st_mode) ? "D" : "F"));
    return writeSourceTar(*source, p.write.get(), layer::OverlayMarkers::Omit);
  }));
  p.write.reset();

  auto receive = [&]() -> Status {
    char kind = 0;
    size_t n = TRY(readSome(p.read.get(), &kind, 1));
    if (n == 0) return failInvalid("the copy helper sent nothing");
    bool srcIsDir = kind == 'D';
    if (toStream) {
      TarRewrite how;
      how.top = s.contentsOnly ? "." : s.base;
      return streamTo(p.read.get(), std::move(how), outFd);
    }
    CopyAction action =
        TRY(planCopy(srcIsDir, s.contentsOnly, d.exists, d.isDir, dp.endsWithSlash));
    Placement pl = place(action, d, s);
    if (action == CopyAction::Into) TRYV(checkOverwrite(pl, srcIsDir, s.shown));
    if (!opt.archive) pl.how.owner = std::pair(::getuid(), ::getgid());
    return extractInto(p.read.get(), std::move(pl.how), pl.dirfd);
  };
  Status received = receive();
  p.read.reset();  // a helper still writing gets EPIPE
  return firstCause(child.wait(), std::move(received));
}

Status copyToContainer(const ContainerFs& c, const std::string& src, const std::string& dest,
                       const CopyOptions& opt, int inFd) {
  PathParts dp = containerPath(dest);
  bool fromStream = src == "-";
  PathParts sp;
  Source source;
  if (!fromStream) {
    sp = TRY(hostPath(src));
    UniqueFd hostRoot = TRY(openFile("/", O_PATH | O_DIRECTORY));
    bool follow = opt.followLink || sp.endsWithSlash || sp.contentsOnly;
    auto r = openSource(hostRoot.get(), sp.rel, follow);
    if (!r) return fail(Error(r.error().code(), "lstat " + sp.shown));
    source = std::move(*r);
  }
  bool srcIsDir = !fromStream && S_ISDIR(source.st.st_mode);
  std::optional<std::pair<uid_t, gid_t>> owner;
  if (!opt.archive) owner = std::pair(uid_t(0), gid_t(0));

  View view = TRY(prepareView(c));
  Pipe p = TRY(makePipe());
  // In the container: resolve DEST, plan, extract what the producer (or stdin) sends.
  Helper consumer = TRY(Helper::spawn([&]() -> Status {
    p.write.reset();
    UniqueFd root = TRY(openContainerRoot(c, view, true));
    auto r = resolveDest(root.get(), dp.rel);
    if (!r && (r.error().code() == ENOENT || r.error().code() == ENOTDIR))
      return fail(notFound(c, r.error().message()));
    if (!r) return fail(std::move(r).error());
    Dest d = std::move(*r);
    if (fromStream) {
      if (!d.exists || !d.isDir)
        return failInvalid("destination \"" + c.name + ":" + dest + "\" must be a directory");
      TarRewrite how;
      how.owner = owner;
      how.dropRoot = how.dropWhiteouts = true;
      return extractInto(inFd, std::move(how), d.self.get());
    }
    CopyAction action =
        TRY(planCopy(srcIsDir, sp.contentsOnly, d.exists, d.isDir, dp.endsWithSlash));
    Placement pl = place(action, d, sp);
    if (action == CopyAction::Into) TRYV(checkOverwrite(pl, srcIsDir, sp.shown));
    pl.how.owner = owner;
    return extractInto(p.read.get(), std::move(pl.how), pl.dirfd);
  }));
  std::optional<Helper> producer;
  if (!fromStream) {
    producer.emplace(TRY(Helper::spawn([&]() -> Status {
      p.read.reset();
      return writeSourceTar(source, p.write.get(), layer::OverlayMarkers::AsIs);
    })));
  }
  p.read.reset();
  p.write.reset();
  Status consumed = consumer.wait();
  Status produced = producer ? producer->wait() : Status{};
  return firstCause(std::move(produced), std::move(consumed));
}

}  // namespace strata::container
