// diff: a container's overlay upper dir read against its image's layer trees.
//
// The image is never mounted for diff: its merged view is resolved the way overlayfs resolves
// it, layer by layer, top-most first, where the first layer that has a name decides (a whiteout
// there means "absent"), and a directory merges the same directory of the layers below it until
// one of them is opaque or is not a directory.
#include "container/changes.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include <algorithm>
#include <set>

#include "layer/in_root.h"
#include "util/fd.h"
#include "util/fs.h"

namespace strata::container {

namespace {

constexpr const char* kOpaqueXattr = "trusted.overlay.opaque";

bool isWhiteout(const struct stat& st) {
  return S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0);
}

// Whether a directory carries trusted.overlay.opaque="y": the one open as fd, else the one at
// path (not following a final symlink).
Result<bool> isOpaque(int fd, const std::string& path, const std::string& display) {
  char value[2];
  ssize_t n = fd >= 0 ? ::fgetxattr(fd, kOpaqueXattr, value, sizeof value)
                      : ::lgetxattr(path.c_str(), kOpaqueXattr, value, sizeof value);
  if (n < 0) {
    if (errno == ENODATA || errno == ENOTSUP || errno == ERANGE) return false;
    return failErrno("read xattr `" + std::string(kOpaqueXattr) + "` of `" + display + "`");
  }
  return n == 1 && value[0] == 'y';
}

std::string displayPath(const std::string& rel) { return "/" + rel; }

// The image's merged tree, read from its layer directories without mounting them.
class ImageView {
 public:
  // Layers making up one directory of the merged tree, top-most first (indexes into the
  // layers). Every layer in a stack has the directory as a real directory, so paths below it
  // resolve without following a symlink in that layer.
  using Stack = std::vector<size_t>;

  struct Lookup {
    bool exists = false;
    struct stat top {};  // when it exists: the top-most layer's entry
    Stack stack;         // when the entry is a directory: the layers that make it up
  };

  static Result<ImageView> open(const std::vector<std::string>& lowerDirs) {
    ImageView view;
    for (const auto& dir : lowerDirs)
      view.roots_.push_back(TRY_CTX(openFile(dir, O_RDONLY | O_DIRECTORY), "open image layer"));
    return view;
  }

  Stack rootStack() const {
    Stack s(roots_.size());
    for (size_t i = 0; i < s.size(); ++i) s[i] = i;
    return s;
  }

  // Resolves rel (a child of the directory whose stack is parent) in the merged tree.
  Result<Lookup> lookup(const Stack& parent, const std::string& rel) const {
    Lookup out;
    for (size_t idx : parent) {
      struct stat st;
      if (::fstatat(roots_[idx].get(), rel.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno == ENOENT || errno == ENOTDIR) continue;
        return failErrno("stat `" + displayPath(rel) + "` in image layer " + std::to_string(idx));
      }
      if (isWhiteout(st)) break;  // hides this name in every layer below
      if (!out.exists) out.top = st;
      out.exists = true;
      // A non-directory ends the stack: the top-most entry, or hidden by a directory above.
      if (!S_ISDIR(st.st_mode)) break;
      out.stack.push_back(idx);
      std::string proc = layer::detail::procPathAt(roots_[idx].get(), rel);
      if (TRY(isOpaque(-1, proc, displayPath(rel)))) break;
    }
    return out;
  }

  // Names in the merged directory rel whose stack is given (whiteouts left out).
  Result<std::set<std::string>> list(const Stack& stack, const std::string& rel) const {
    std::set<std::string> names;
    std::set<std::string> seen;  // decided by a higher layer, present or whited out
    for (size_t idx : stack) {
      int raw = ::openat(roots_[idx].get(), rel.empty() ? "." : rel.c_str(),
                         O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (raw < 0) return failErrno("open `" + displayPath(rel) + "` in image layer");
      UniqueFd dir(raw);
      for (auto& name : TRY(layer::detail::listDir(dir.get(), displayPath(rel)))) {
        if (!seen.insert(name).second) continue;
        struct stat st;
        if (::fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0)
          return failErrno("stat `" + displayPath(rel + "/" + name) + "` in image layer");
        if (!isWhiteout(st)) names.insert(std::move(name));
      }
    }
    return names;
  }

 private:
  std::vector<UniqueFd> roots_;
};

std::string childRel(const std::string& rel, const std::string& name) {
  return rel.empty() ? name : rel + "/" + name;
}

class DiffWalker {
 public:
  explicit DiffWalker(const ImageView& image) : image_(image) {}

  // Reports the entries of the upper directory open as dirfd (at rel, "" for the root) and
  // below it. image is the stack of the same directory in the image (empty when the image has
  // none); hidesImage: the upper directory is opaque, or inside one, so nothing of the image's
  // directory shows through it.
  Status walk(int dirfd, const std::string& rel, const ImageView::Stack& image, bool hidesImage);

  std::vector<Change> take() { return std::move(changes_); }

 private:
  struct Item {
    std::string name;
    ChangeKind kind;
    bool descend = false;    // a directory of the upper dir
    bool listAlways = true;  // else only when something below it is listed
    ImageView::Stack image;  // its stack in the image
  };

  const ImageView& image_;
  std::vector<Change> changes_;
};

Status DiffWalker::walk(int dirfd, const std::string& rel, const ImageView::Stack& image,
                        bool hidesImage) {
  std::vector<Item> items;
  auto names = TRY(layer::detail::listDir(dirfd, displayPath(rel)));
  for (const auto& name : names) {
    std::string path = childRel(rel, name);
    struct stat st;
    if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0)
      return failErrno("stat `" + displayPath(path) + "` in the container's layer");
    if (isWhiteout(st)) {
      items.push_back({.name = name, .kind = ChangeKind::Deleted});
      continue;
    }
    auto found = TRY(image_.lookup(image, path));
    // A directory of the image is in the upper dir as soon as anything inside it changed, even
    // if that change was undone since: as Docker, list it for its own type, mode or owner
    // changing, or for what is listed below it.
    bool sameDir = found.exists && S_ISDIR(st.st_mode) && st.st_mode == found.top.st_mode &&
                   st.st_uid == found.top.st_uid && st.st_gid == found.top.st_gid;
    items.push_back({.name = name,
                     .kind = found.exists ? ChangeKind::Changed : ChangeKind::Added,
                     .descend = S_ISDIR(st.st_mode),
                     .listAlways = !sameDir,
                     .image = std::move(found.stack)});
  }
  // What an opaque directory hides: the image's entries it does not have itself.
  if (hidesImage && !image.empty()) {
    for (auto& name : TRY(image_.list(image, rel)))
      if (!std::binary_search(names.begin(), names.end(), name))
        items.push_back({.name = std::move(name), .kind = ChangeKind::Deleted});
    std::sort(items.begin(), items.end(),
              [](const Item& a, const Item& b) { return a.name < b.name; });
  }

  for (const auto& item : items) {
    std::string path = childRel(rel, item.name);
    changes_.push_back({item.kind, displayPath(path)});
    if (!item.descend) continue;
    size_t listedBefore = changes_.size();
    int raw = ::openat(dirfd, item.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (raw < 0) return failErrno("open `" + displayPath(path) + "` in the container's layer");
    UniqueFd child(raw);
    bool opaque = TRY(isOpaque(child.get(), "", displayPath(path)));
    TRYV(walk(child.get(), path, item.image, hidesImage || opaque));
    if (!item.listAlways && changes_.size() == listedBefore) changes_.pop_back();
  }
  return {};
}

}  // namespace

char changeLetter(ChangeKind k) {
  switch (k) {
    case ChangeKind::Added:
      return 'A';
    case ChangeKind::Changed:
      return 'C';
    case ChangeKind::Deleted:
      return 'D';
  }
  return '?';
}

Result<std::vector<Change>> diff(const std::string& upperDir,
                                 const std::vector<std::string>& lowerDirs) {
  auto image = TRY_CTX(ImageView::open(lowerDirs), "diff `" + upperDir + "`");
  auto upper = TRY_CTX(openFile(upperDir, O_RDONLY | O_DIRECTORY), "diff");
  bool rootOpaque = TRY_CTX(isOpaque(upper.get(), "", "/"), "diff `" + upperDir + "`");
  DiffWalker walker(image);
  TRYV_CTX(walker.walk(upper.get(), "", image.rootStack(), rootOpaque), "diff `" + upperDir + "`");
  return walker.take();
}


}  // namespace strata::container
