// The build context: what COPY sources name (literal paths, wildcards, the root), what the
// .dockerignore patterns hide, symlinks that are never followed, walk order, the checksum and its
// stat cache, and contexts read from tar streams.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "build/context.h"
#include "util/fs.h"

namespace strata::build {
namespace {

// A context directory under a temp dir, with helpers that build its tree.
class ContextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto t = TempDir::create("/tmp", "strata-context-test-");
    ASSERT_TRUE(t) << t.error().what();
    tmp_ = std::move(*t);
    dir_ = tmp_.path() + "/ctx";
    ASSERT_EQ(::mkdir(dir_.c_str(), 0755), 0);
  }

  std::string at(const std::string& rel) const { return dir_ + "/" + rel; }

  void file(const std::string& rel, const std::string& content, mode_t mode = 0644) {
    ASSERT_TRUE(mkdirAll(dirName(at(rel))));
    auto fd = openFile(at(rel), O_WRONLY | O_CREAT | O_TRUNC, mode);
    ASSERT_TRUE(fd) << fd.error().what();
    ASSERT_TRUE(writeAll(fd->get(), content));
    ASSERT_EQ(::chmod(at(rel).c_str(), mode), 0);
  }
  void dir(const std::string& rel, mode_t mode = 0755) {
    ASSERT_TRUE(mkdirAll(at(rel)));
    ASSERT_EQ(::chmod(at(rel).c_str(), mode), 0);
  }
  void link(const std::string& target, const std::string& rel) {
    ASSERT_TRUE(mkdirAll(dirName(at(rel))));
    ASSERT_EQ(::symlink(target.c_str(), at(rel).c_str()), 0);
  }

  Context open(const std::vector<std::string>& patterns = {}) {
    auto c = Context::open(dir_, patterns);
    EXPECT_TRUE(c) << c.error().what();
    if (!c) std::abort();
    return std::move(*c);
  }

  static std::vector<std::string> paths(const std::vector<ContextEntry>& entries) {
    std::vector<std::string> out;
    for (const auto& e : entries) out.push_back(e.path);
    return out;
  }
  static std::vector<std::string> resolved(const Context& c, std::string_view source) {
    auto r = c.resolve(source);
    EXPECT_TRUE(r) << source << ": " << r.error().what();
    return r ? paths(*r) : std::vector<std::string>{"<error>"};
  }
  static std::string resolveError(const Context& c, std::string_view source) {
    auto r = c.resolve(source);
    EXPECT_FALSE(r) << source << " resolved";
    return r ? "" : r.error().what();
  }
  static std::vector<std::string> walked(const Context& c, std::string_view source) {
    auto r = c.resolve(source);
    EXPECT_TRUE(r) << source << ": " << (r ? "" : r.error().what());
    if (!r || r->size() != 1) return {"<bad resolve>"};
    auto w = c.walk(r->front());
    EXPECT_TRUE(w) << w.error().what();
    return w ? paths(*w) : std::vector<std::string>{"<error>"};
  }
  static std::string digest(const Context& c, const std::vector<std::string>& sources) {
    auto d = c.checksum(sources);
    EXPECT_TRUE(d) << d.error().what();
    return d ? d->str() : "<error>";
  }
  // Waits until files just written are old enough for the stat cache to keep their hashes.
  static void ageFiles() { std::this_thread::sleep_for(std::chrono::milliseconds(250)); }

  TempDir tmp_;
  std::string dir_;
};

using Paths = std::vector<std::string>;

TEST_F(ContextTest, OpenChecksItsArguments) {
  file("f", "x");
  EXPECT_FALSE(Context::open(tmp_.path() + "/missing", {}));
  auto notDir = Context::open(at("f"), {});
  ASSERT_FALSE(notDir);
  EXPECT_NE(notDir.error().what().find(at("f")), std::string::npos) << notDir.error().what();
  auto badPattern = Context::open(dir_, {"[a"});
  ASSERT_FALSE(badPattern);
  EXPECT_NE(badPattern.error().what().find("[a"), std::string::npos);
  EXPECT_FALSE(Context::open(dir_, {"!"}));
  // The root is canonical and absolute.
  auto c = Context::open(dir_ + "/./", {});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->root(), dir_);
}

TEST_F(ContextTest, LiteralSources) {
  file("a.txt", "a");
  file("dir/sub/x", "x");
  Context c = open();
  EXPECT_EQ(resolved(c, "a.txt"), Paths{"a.txt"});
  EXPECT_EQ(resolved(c, "./a.txt"), Paths{"a.txt"});
  EXPECT_EQ(resolved(c, "/a.txt"), Paths{"a.txt"});
  EXPECT_EQ(resolved(c, "dir/sub/x"), Paths{"dir/sub/x"});
  EXPECT_EQ(resolved(c, "dir//sub/./x"), Paths{"dir/sub/x"});
  EXPECT_EQ(resolved(c, "dir/sub/"), Paths{"dir/sub"});
  auto r = c.resolve("dir/sub/x");
  ASSERT_TRUE(r);
  EXPECT_TRUE(S_ISREG(r->front().st.st_mode));
  EXPECT_EQ(r->front().st.st_size, 1);
}

TEST_F(ContextTest, RootNames) {
  file("a", "a");
  Context c = open();
  for (const char* s : {".", "/", "./", "", "/..", "dir/..", "/./."}) {
    auto r = c.resolve(s);
    ASSERT_TRUE(r) << s << ": " << r.error().what();
    ASSERT_EQ(r->size(), 1u) << s;
    EXPECT_EQ(r->front().path, "") << s;
    EXPECT_TRUE(S_ISDIR(r->front().st.st_mode));
  }
}

TEST_F(ContextTest, NotFound) {
  file("a", "a");
  Context c = open();
  EXPECT_EQ(resolveError(c, "nothere"), "\"/nothere\": not found");
  EXPECT_EQ(resolveError(c, "/x/y/z"), "\"/x/y/z\": not found");
  EXPECT_EQ(resolveError(c, "a/below"), "\"/a/below\": not found");  // a is a file
  // A wildcard below a missing directory names the directory.
  EXPECT_EQ(resolveError(c, "missing/*.txt"), "\"/missing\": not found");
  // A wildcard that matches nothing selects nothing: BuildKit copies nothing and goes on.
  EXPECT_EQ(resolved(c, "*.nothere"), Paths{});
  EXPECT_EQ(resolved(c, "a/*"), Paths{});  // nothing lies below a file
}

TEST_F(ContextTest, SourcesCannotLeaveTheContext) {
  file("a", "a");
  file("../outside", "secret");  // beside the context, in the temp dir
  Context c = open();
  EXPECT_EQ(resolveError(c, "../outside"), "forbidden path outside the build context: ../outside");
  EXPECT_EQ(resolveError(c, ".."), "forbidden path outside the build context: ..");
  EXPECT_EQ(resolveError(c, "a/../../outside"),
            "forbidden path outside the build context: a/../../outside");
  EXPECT_EQ(resolveError(c, "../*"), "forbidden path outside the build context: ../*");
  EXPECT_FALSE(c.checksum({"../outside"}));
  // A leading '/' is the context root: ".." stops there.
  EXPECT_EQ(resolveError(c, "/../outside"), "\"/outside\": not found");
  EXPECT_EQ(resolved(c, "/../a"), Paths{"a"});
  // walk() refuses entries that are not clean context paths.
  ContextEntry bad{"../outside", {}, {}};
  EXPECT_FALSE(c.walk(bad));
  bad.path = "a/../..";
  EXPECT_FALSE(c.walk(bad));
}

TEST_F(ContextTest, Wildcards) {
  file("a.txt", "");
  file("b.txt", "");
  file(".hidden.txt", "");
  file("c.md", "");
  file("dir/c.txt", "");
  file("dir/a/x", "");
  file("dir/b/x", "");
  file("dir/b/y", "");
  file("dir/c/z", "");
  file("dir/x", "");  // a file: no level below
  file("bx", "");
  Context c = open();
  EXPECT_EQ(resolved(c, "*.txt"), (Paths{".hidden.txt", "a.txt", "b.txt"}));
  EXPECT_EQ(resolved(c, "/*.txt"), (Paths{".hidden.txt", "a.txt", "b.txt"}));
  EXPECT_EQ(resolved(c, "dir/*/x"), (Paths{"dir/a/x", "dir/b/x"}));
  EXPECT_EQ(resolved(c, "*/*/x"), (Paths{"dir/a/x", "dir/b/x"}));
  EXPECT_EQ(resolved(c, "[ab]*"), (Paths{"a.txt", "b.txt", "bx"}));
  EXPECT_EQ(resolved(c, "[^ab.]*"), (Paths{"c.md", "dir"}));
  EXPECT_EQ(resolved(c, "[a-b]?txt"), (Paths{"a.txt", "b.txt"}));
  EXPECT_EQ(resolved(c, "?x"), (Paths{"bx"}));
  EXPECT_EQ(resolved(c, "d?r"), (Paths{"dir"}));  // a directory matches as a whole
  EXPECT_EQ(resolved(c, "dir/[ab]"), (Paths{"dir/a", "dir/b"}));
  EXPECT_EQ(resolved(c, "dir/*"), (Paths{"dir/a", "dir/b", "dir/c", "dir/c.txt", "dir/x"}));
  // Matches come in walk order: "dir/a/x" before "dir/c.txt", as in the tree.
  EXPECT_EQ(resolved(c, "dir/*/*"), (Paths{"dir/a/x", "dir/b/x", "dir/b/y", "dir/c/z"}));
  EXPECT_EQ(resolved(c, "*"), (Paths{".hidden.txt", "a.txt", "b.txt", "bx", "c.md", "dir"}));
}

TEST_F(ContextTest, EscapesAndBadPatterns) {
  file("a*b", "star");
  file("axb", "x");
  file("é.txt", "");
  file("[x]", "");
  Context c = open();
  // An escaped star matches only a star, once some other wildcard makes the component a pattern.
  EXPECT_EQ(resolved(c, "[a]\\*b"), Paths{"a*b"});
  EXPECT_EQ(resolved(c, "a*b"), (Paths{"a*b", "axb"}));
  // Without a real wildcard the component is a literal name, backslash included (BuildKit).
  EXPECT_EQ(resolveError(c, "a\\*b"), "\"/a\\*b\": not found");
  file("a\\*b", "backslash");
  Context c2 = open();
  EXPECT_EQ(resolved(c2, "a\\*b"), Paths{"a\\*b"});
  // `?` is one character, even a multi-byte one.
  EXPECT_EQ(resolved(c, "?.txt"), Paths{"é.txt"});
  EXPECT_EQ(resolved(c, "\\[x\\]*"), Paths{"[x]"});
  for (const char* bad : {"[", "*[", "a[]", "x/[z-]", "*\\"}) {
    std::string err = resolveError(c, bad);
    EXPECT_NE(err.find("syntax error in pattern"), std::string::npos) << bad << ": " << err;
    EXPECT_NE(err.find(bad), std::string::npos) << err;
  }
}

TEST_F(ContextTest, WalkOrderAndContent) {
  file("b", "");
  file("a.txt", "");
  file("a/b", "");
  file("a/a/deep", "");
  dir("empty");
  ASSERT_EQ(::mkfifo(at("fifo").c_str(), 0600), 0);
  Context c = open();
  EXPECT_EQ(walked(c, "."),
            (Paths{"", "a", "a/a", "a/a/deep", "a/b", "a.txt", "b", "empty", "fifo"}));
  EXPECT_EQ(walked(c, "a"), (Paths{"a", "a/a", "a/a/deep", "a/b"}));
  EXPECT_EQ(walked(c, "a.txt"), Paths{"a.txt"});
  // A walk reports fresh stat data, and fails once the entry is gone.
  auto top = c.resolve("a.txt");
  ASSERT_TRUE(top);
  file("a.txt", "longer now");
  auto w = c.walk(top->front());
  ASSERT_TRUE(w);
  EXPECT_EQ(w->front().st.st_size, 10);
  ASSERT_EQ(::unlink(at("a.txt").c_str()), 0);
  auto gone = c.walk(top->front());
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().what(), "\"/a.txt\": not found");
}

TEST_F(ContextTest, IgnoredEntriesAreInvisible) {
  file("app.log", "");
  file("keep.txt", "");
  file("secret", "");
  file("build/out/big", "");
  file("src/debug.log", "");
  file("src/main.c", "");
  Context c = open({"*.log", "secret", "build", "**/*.log"});
  EXPECT_EQ(resolveError(c, "app.log"), "\"/app.log\": not found");
  EXPECT_EQ(resolveError(c, "secret"), "\"/secret\": not found");
  EXPECT_EQ(resolveError(c, "build"), "\"/build\": not found");
  EXPECT_EQ(resolveError(c, "build/out/big"), "\"/build/out/big\": not found");
  EXPECT_EQ(resolveError(c, "build/*"), "\"/build\": not found");
  EXPECT_EQ(resolved(c, "*.log"), Paths{});
  EXPECT_EQ(resolved(c, "*"), (Paths{"keep.txt", "src"}));
  EXPECT_EQ(walked(c, "."), (Paths{"", "keep.txt", "src", "src/main.c"}));
  // Ignored content does not reach the checksum.
  const std::string before = digest(c, {"."});
  file("secret", "changed");
  file("build/out/big", "changed");
  EXPECT_EQ(digest(c, {"."}), before);
  file("src/main.c", "changed");
  EXPECT_NE(digest(c, {"."}), before);
}

TEST_F(ContextTest, ExceptionPutsBackAFileBelowAnIgnoredDirectory) {
  file("docs/keep.md", "");
  file("docs/other.md", "");
  file("docs/sub/deep.md", "");
  file("docs/sub/deeper/keep.md", "");
  file("docs/z/none.md", "");
  file("top.md", "");
  Context c = open({"docs", "!docs/keep.md", "!docs/sub/deeper/keep.md"});
  EXPECT_EQ(resolved(c, "docs"), Paths{"docs"});
  EXPECT_EQ(resolved(c, "docs/keep.md"), Paths{"docs/keep.md"});
  EXPECT_EQ(resolveError(c, "docs/other.md"), "\"/docs/other.md\": not found");
  EXPECT_EQ(resolveError(c, "docs/z"), "\"/docs/z\": not found");
  EXPECT_EQ(resolved(c, "docs/*"), (Paths{"docs/keep.md", "docs/sub"}));
  EXPECT_EQ(resolved(c, "docs/*/*"), Paths{"docs/sub/deeper"});
  // Excluded directories appear just before the first entry put back below them.
  EXPECT_EQ(walked(c, "docs"), (Paths{"docs", "docs/keep.md", "docs/sub", "docs/sub/deeper",
                                      "docs/sub/deeper/keep.md"}));
  EXPECT_EQ(walked(c, "."), (Paths{"", "docs", "docs/keep.md", "docs/sub", "docs/sub/deeper",
                                   "docs/sub/deeper/keep.md", "top.md"}));
  // An exception that puts nothing back leaves the directory invisible.
  Context none = open({"docs", "!docs/nothing"});
  EXPECT_EQ(resolveError(none, "docs"), "\"/docs\": not found");
  EXPECT_EQ(walked(none, "."), (Paths{"", "top.md"}));
}

TEST_F(ContextTest, SymlinksAreEntriesNeverFollowed) {
  file("dir/x", "x");
  file("../outside/passwd", "secret");
  link("dir", "link");
  link(tmp_.path() + "/outside", "abs");
  link("../outside", "rel");
  link("../outside/passwd", "filelink");
  Context c = open();
  auto r = c.resolve("link");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 1u);
  EXPECT_TRUE(S_ISLNK(r->front().st.st_mode));
  EXPECT_EQ(r->front().linkTarget, "dir");
  EXPECT_EQ(resolved(c, "filelink"), Paths{"filelink"});
  EXPECT_EQ(c.resolve("filelink")->front().linkTarget, "../outside/passwd");
  // Not through a symlink, in or out of the context.
  EXPECT_EQ(resolveError(c, "link/x"), "\"/link/x\": not found");
  EXPECT_EQ(resolveError(c, "abs/passwd"), "\"/abs/passwd\": not found");
  EXPECT_EQ(resolveError(c, "rel/passwd"), "\"/rel/passwd\": not found");
  EXPECT_EQ(resolved(c, "rel/*"), Paths{});
  EXPECT_EQ(resolved(c, "*/x"), Paths{"dir/x"});
  EXPECT_EQ(resolved(c, "*/passwd"), Paths{});
  // A walk lists the links and does not descend.
  EXPECT_EQ(walked(c, "."), (Paths{"", "abs", "dir", "dir/x", "filelink", "link", "rel"}));
  EXPECT_EQ(walked(c, "rel"), Paths{"rel"});
  // The checksum hashes the link text, not what it points to.
  const std::string before = digest(c, {"."});
  file("../outside/passwd", "changed secret");
  EXPECT_EQ(digest(c, {"."}), before);
  ASSERT_EQ(::unlink(at("link").c_str()), 0);
  link("dir/", "link");
  EXPECT_NE(digest(c, {"."}), before);
}

TEST_F(ContextTest, FollowSymlinksStaysInsideTheContext) {
  file("dir/x", "x");
  file("../outside/passwd", "secret");
  file("ignored/y", "");
  link("dir", "l1");
  link("l1", "l2");
  link("/dir/x", "abs");                   // absolute: from the context root
  link("../../../../dir", "sub/deep/up");  // climbs: stops at the root
  link("../outside/passwd", "out");
  link("missing", "dangling");
  link("loop2", "loop1");
  link("loop1", "loop2");
  link("ignored", "toignored");
  link("l1/x", "through");  // a symlink in the target's directories is not followed
  Context c = open({"ignored"});
  auto follow = [&](const char* source) -> Result<ContextEntry> {
    auto r = c.resolve(source);
    if (!r) return fail(r.error());
    EXPECT_EQ(r->size(), 1u);
    return c.followSymlinks(r->front());
  };
  auto l2 = follow("l2");
  ASSERT_TRUE(l2) << l2.error().what();
  EXPECT_EQ(l2->path, "dir");
  EXPECT_TRUE(S_ISDIR(l2->st.st_mode));
  EXPECT_EQ(follow("abs")->path, "dir/x");
  EXPECT_EQ(follow("sub/deep/up")->path, "dir");
  EXPECT_EQ(follow("dir/x")->path, "dir/x");  // not a symlink
  EXPECT_EQ(follow("out").error().what(), "\"/outside/passwd\": not found");
  EXPECT_EQ(follow("dangling").error().what(), "\"/missing\": not found");
  EXPECT_EQ(follow("toignored").error().what(), "\"/ignored\": not found");
  EXPECT_EQ(follow("through").error().what(), "\"/l1/x\": not found");
  EXPECT_EQ(follow("loop1").error().what(), "\"/loop1\": too many levels of symbolic links");
}

TEST_F(ContextTest, ChecksumOfASymlinkSourceCoversItsTarget) {
  file("dir/x", "x");
  link("dir", "link");
  link("nowhere", "dangling");
  link("loop2", "loop1");
  link("loop1", "loop2");
  Context c = open();
  const std::string before = digest(c, {"link"});
  EXPECT_NE(before, digest(c, {"dir"}));
  file("dir/x", "changed");  // COPY link copies dir: its key must change
  EXPECT_NE(digest(c, {"link"}), before);
  EXPECT_NE(digest(c, {"dangling"}), "<error>");
  EXPECT_NE(digest(c, {"loop1"}), "<error>");
  EXPECT_NE(digest(c, {"dangling"}), digest(c, {"loop1"}));
}

TEST_F(ContextTest, ChecksumIgnoresTimesAndOwners) {
  file("a", "alpha");
  file("d/b", "beta", 0600);
  link("a", "l");
  Context c = open();
  const std::string d0 = digest(c, {"."});
  EXPECT_EQ(d0.substr(0, 7), "sha256:");
  const timespec times[2] = {{1000, 0}, {2000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, at("a").c_str(), times, 0), 0);
  ASSERT_EQ(::utimensat(AT_FDCWD, at("d").c_str(), times, 0), 0);
  ASSERT_EQ(::utimensat(AT_FDCWD, at("l").c_str(), times, AT_SYMLINK_NOFOLLOW), 0);
  EXPECT_EQ(digest(c, {"."}), d0);
  if (::geteuid() == 0) {
    ASSERT_EQ(::lchown(at("d/b").c_str(), 1234, 5678), 0);
    ASSERT_EQ(::lchown(at("l").c_str(), 1234, 5678), 0);
    EXPECT_EQ(digest(c, {"."}), d0);
  }
  // A copied file (new inode, new times) is the same content.
  ASSERT_EQ(::rename(at("a").c_str(), at("a.old").c_str()), 0);
  file("a", "alpha");
  ASSERT_EQ(::unlink(at("a.old").c_str()), 0);
  EXPECT_EQ(digest(c, {"."}), d0);
}

TEST_F(ContextTest, ChecksumSeesContentModeNameAndSelection) {
  file("a", "alpha");
  file("b", "alpha");
  file("d/c", "gamma");
  Context c = open();
  const std::string all = digest(c, {"."});
  const std::string justA = digest(c, {"a"});
  EXPECT_NE(justA, digest(c, {"b"}));  // same content, other name
  EXPECT_NE(all, justA);
  EXPECT_NE(digest(c, {"a", "b"}), digest(c, {"a"}));
  EXPECT_EQ(digest(c, {"[a]"}), justA);  // the same selection
  EXPECT_EQ(digest(c, {"*.none", "a"}), justA);
  EXPECT_FALSE(c.checksum({"a", "nothere"}));

  file("a", "alphA");  // same size, written right away: must not come from the cache
  EXPECT_NE(digest(c, {"a"}), justA);
  file("a", "alpha");
  EXPECT_EQ(digest(c, {"a"}), justA);
  ASSERT_EQ(::chmod(at("a").c_str(), 0755), 0);
  EXPECT_NE(digest(c, {"a"}), justA);
  ASSERT_EQ(::chmod(at("a").c_str(), 04644), 0);
  const std::string setuid = digest(c, {"a"});
  EXPECT_NE(setuid, justA);
  ASSERT_EQ(::chmod(at("a").c_str(), 0644), 0);
  EXPECT_EQ(digest(c, {"a"}), justA);
  ASSERT_EQ(::chmod(at("d").c_str(), 01755), 0);  // sticky, on a directory
  EXPECT_NE(digest(c, {"."}), all);
  ASSERT_EQ(::chmod(at("d").c_str(), 0755), 0);
  EXPECT_EQ(digest(c, {"."}), all);
  ASSERT_EQ(::rename(at("d/c").c_str(), at("d/c2").c_str()), 0);
  EXPECT_NE(digest(c, {"."}), all);
  EXPECT_NE(digest(c, {"d"}), digest(c, {"a"}));
}

TEST_F(ContextTest, ChecksumDoesNotDependOnTheContextLocation) {
  file("a", "alpha");
  file("d/b", "beta", 0600);
  file("d/e/f", "", 04755);
  link("../a", "d/l");
  dir("d/empty", 0700);
  const std::string d1 = digest(open(), {"."});
  const std::string sub = digest(open(), {"d"});
  // The same tree elsewhere.
  const std::string moved = tmp_.path() + "/elsewhere/deeper";
  ASSERT_TRUE(mkdirAll(dirName(moved)));
  ASSERT_EQ(::rename(dir_.c_str(), moved.c_str()), 0);
  auto c = Context::open(moved, {});
  ASSERT_TRUE(c);
  EXPECT_EQ(digest(*c, {"."}), d1);
  EXPECT_EQ(digest(*c, {"d"}), sub);
  EXPECT_EQ(digest(*c, {"/d/"}), sub);
}

TEST_F(ContextTest, StatCacheAvoidsRereadingFiles) {
  for (int i = 0; i < 20; ++i) file("src/f" + std::to_string(i), "content " + std::to_string(i));
  file("top", "top");
  ageFiles();
  const std::string cacheFile = tmp_.path() + "/store/builder/statcache";
  std::string first;
  {
    Context c = open();
    ASSERT_TRUE(c.useStatCache(cacheFile));  // missing: fine
    first = digest(c, {"."});
    EXPECT_EQ(c.filesHashed(), 21u);
    EXPECT_EQ(digest(c, {"."}), first);
    EXPECT_EQ(digest(c, {"src"}), digest(c, {"src"}));
    EXPECT_EQ(c.filesHashed(), 21u);  // nothing read again
    ASSERT_TRUE(c.saveStatCache());
  }
  struct stat st;
  ASSERT_EQ(::stat(cacheFile.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  {
    // A new context over the same tree finds every hash in the file.
    Context c = open();
    ASSERT_TRUE(c.useStatCache(cacheFile));
    EXPECT_EQ(digest(c, {"."}), first);
    EXPECT_EQ(c.filesHashed(), 0u);
    // A touched file is read again; its content is the same, and so is the digest.
    const timespec times[2] = {{1000, 0}, {1000, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, at("src/f3").c_str(), times, 0), 0);
    ageFiles();  // its new ctime must not be racy, or it would be read on every call
    EXPECT_EQ(digest(c, {"."}), first);
    EXPECT_EQ(c.filesHashed(), 1u);
    // Changed content of the same size is seen.
    file("src/f4", "CONTENT 4");
    EXPECT_NE(digest(c, {"."}), first);
    EXPECT_EQ(c.filesHashed(), 2u);
  }
}

TEST_F(ContextTest, ChmodInvalidatesTheCachedHash) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads files whatever their mode";
  file("locked", "data");
  ageFiles();
  Context c = open();
  const std::string d = digest(c, {"locked"});
  // chmod changes the key (mode, ctime): the file is read again and fails.
  ASSERT_EQ(::chmod(at("locked").c_str(), 0), 0);
  EXPECT_FALSE(c.checksum({"locked"}));
  ASSERT_EQ(::chmod(at("locked").c_str(), 0644), 0);
  EXPECT_EQ(digest(c, {"locked"}), d);
}

TEST_F(ContextTest, CorruptOrUnreadableStatCacheIsTolerated) {
  file("a", "alpha");
  file("b", "beta");
  ageFiles();
  const std::string cacheFile = tmp_.path() + "/statcache";
  std::string good;
  {
    Context c = open();
    ASSERT_TRUE(c.useStatCache(cacheFile));
    good = digest(c, {"."});
  }  // saved on destruction
  auto bytes = readFile(cacheFile);
  ASSERT_TRUE(bytes);
  ASSERT_GT(bytes->size(), 100u);

  auto expectRebuilt = [&](const std::string& content, const char* what) {
    ASSERT_TRUE(writeFileAtomic(cacheFile, content));
    {
      Context c = open();
      ASSERT_TRUE(c.useStatCache(cacheFile)) << what;
      EXPECT_EQ(digest(c, {"."}), good) << what;
      EXPECT_EQ(c.filesHashed(), 2u) << what;  // nothing trusted from the damaged file
    }
    Context c = open();
    ASSERT_TRUE(c.useStatCache(cacheFile));
    EXPECT_EQ(digest(c, {"."}), good) << what;
    EXPECT_EQ(c.filesHashed(), 0u) << what << ": the file was not rewritten";
  };
  std::string flipped = *bytes;
  flipped[flipped.size() / 2] ^= 1;
  expectRebuilt(flipped, "one bit flipped");
  expectRebuilt(bytes->substr(0, bytes->size() - 10), "truncated");
  expectRebuilt("garbage", "garbage");
  expectRebuilt("", "empty");

  // A cache path that cannot be read is reported, and the context works without it.
  const std::string dirPath = tmp_.path() + "/cachedir";
  ASSERT_EQ(::mkdir(dirPath.c_str(), 0755), 0);
  Context c = open();
  auto r = c.useStatCache(dirPath);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find(dirPath), std::string::npos) << r.error().what();
  EXPECT_EQ(digest(c, {"."}), good);
  EXPECT_TRUE(c.saveStatCache());  // nothing to save to
}

TEST_F(ContextTest, MovedContextKeepsItsCache) {
  file("a", "alpha");
  ageFiles();
  Context a = open();
  const std::string d = digest(a, {"a"});
  Context b = std::move(a);
  EXPECT_EQ(digest(b, {"a"}), d);
  EXPECT_EQ(b.filesHashed(), 1u);
  EXPECT_EQ(a.filesHashed(), 0u);  // NOLINT(bugprone-use-after-move): moved-from is empty
}

class ContextTarTest : public ContextTest {
 protected:
  // Runs /bin/tar with args, in the temp dir.
  void tar(const std::string& args) {
    const std::string cmd = "cd '" + tmp_.path() + "' && tar " + args + " 2>/dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  Result<Context> fromTar(const std::string& tarName, const std::string& into,
                          const std::vector<std::string>& patterns = {}) {
    auto fd = openFile(tmp_.path() + "/" + tarName, O_RDONLY);
    if (!fd) return fail(fd.error());
    auto reader = layer::fdReader(fd->get());
    return Context::fromTar(std::move(reader), tmp_.path() + "/" + into, patterns);
  }
};

TEST_F(ContextTarTest, ContextFromATarStream) {
  file("Dockerfile", "FROM scratch\n");
  file("src/main.c", "int main;\n", 0640);
  file("notes.md", "notes");
  file("bin/tool", "#!/bin/sh\n", 04755);
  link("src/main.c", "main");
  dir("empty", 0700);
  tar("-C ctx -cf ctx.tar .");
  tar("-C ctx -czf ctx.tgz .");
  const std::string expected = digest(open(), {"."});

  auto plain = fromTar("ctx.tar", "unpacked");
  ASSERT_TRUE(plain) << plain.error().what();
  EXPECT_EQ(plain->root(), tmp_.path() + "/unpacked");
  EXPECT_EQ(resolved(*plain, "src/*.c"), Paths{"src/main.c"});
  EXPECT_EQ(plain->resolve("main")->front().linkTarget, "src/main.c");
  EXPECT_EQ(digest(*plain, {"."}), expected);

  auto gz = fromTar("ctx.tgz", "unpacked-gz", {"*.md"});
  ASSERT_TRUE(gz) << gz.error().what();
  EXPECT_EQ(resolveError(*gz, "notes.md"), "\"/notes.md\": not found");
  EXPECT_EQ(walked(*gz, "."),
            (Paths{"", "Dockerfile", "bin", "bin/tool", "empty", "main", "src", "src/main.c"}));
}

TEST_F(ContextTarTest, TarEntriesCannotEscape) {
  file("../evil", "x");
  // -P keeps the leading "../" in the member name.
  tar("-C ctx -P -cf evil.tar ../evil");
  auto c = fromTar("evil.tar", "unpacked");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().what().find("../evil"), std::string::npos) << c.error().what();

  const std::string garbage = tmp_.path() + "/garbage.tar";
  ASSERT_TRUE(writeFileAtomic(garbage, std::string(2048, 'x')));
  EXPECT_FALSE(fromTar("garbage.tar", "unpacked2"));
}

}  // namespace
}  // namespace strata::build
