#include "build/run_step.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <optional>

#include "runtime/runtime.h"
#include "util/fd.h"
#include "util/fs.h"
#include "util/sha256.h"

namespace strata::build {
namespace {

constexpr const char* kHostname = "buildkitsandbox";  // BuildKit's sandbox hostname

// A fresh 64-hex id naming the step's cgroup.
Result<std::string> stepId() {
  unsigned char bytes[32];
  UniqueFd fd = TRY(openFile("/dev/urandom", O_RDONLY | O_CLOEXEC));
  if (::read(fd.get(), bytes, sizeof bytes) != static_cast<ssize_t>(sizeof bytes))
    return failErrno("read /dev/urandom");
  return Sha256::hexOf(std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
}

// Whether path (absolute, inside the image) names an entry in one of the image's layer trees.
bool inLayers(const std::vector<std::string>& lowerDirs, const std::string& path) {
  struct stat st;
  for (const std::string& dir : lowerDirs)
    if (::lstat((dir + path).c_str(), &st) == 0) return true;
  return false;
}

// The mount points the runtime had to create for RUN --mount targets the image lacks, and their
// parents made for them, go again when they are still empty, so they never reach the layer.
void removeMountStubs(const RunStep& step, const std::string& upperDir,
                      const std::vector<std::string>& missing) {
  for (std::string path : missing) {
    while (path.size() > 1 && !inLayers(step.lowerDirs, path)) {
      const std::string host = upperDir + path;
      struct stat st;
      if (::lstat(host.c_str(), &st) < 0) break;
      if (S_ISDIR(st.st_mode) ? ::rmdir(host.c_str()) < 0
                              : (st.st_size != 0 || ::unlink(host.c_str()) < 0))
        break;
      path = path.substr(0, path.rfind('/'));
    }
  }
}

}  // namespace

Result<int> runStep(const RunStep& step, const std::string& upperDir, const std::string& scratchDir,
                    const std::function<void(std::string_view)>& output) {
  runtime::prepareToStart();
  TempDir tmp = TRY(TempDir::create(scratchDir, "run-"));
  const std::string init = tmp.path() + "/init", work = tmp.path() + "/work",
                    rootfs = tmp.path() + "/rootfs";
  // Only /etc's bind-mount targets sit in a layer of their own; /proc, /sys and /dev are made by
  // the runtime in the step's layer when the image lacks them, as BuildKit's layers show.
  TRYV(mkdirAll(init + "/etc", 0755));
  for (const char* f : {"etc/hostname", "etc/hosts", "etc/resolv.conf"})
    TRYV(writeFileReplace(init + "/" + f, ""));
  TRYV(mkdirAll(work, 0700));
  TRYV(mkdirAll(rootfs, 0755));
  const bool hostNetwork = step.network == runtime::NetworkMode::Host;
  TRYV(writeFileReplace(tmp.path() + "/hostname", std::string(kHostname) + "\n"));
  TRYV(writeFileReplace(tmp.path() + "/hosts", runtime::hostsFile(kHostname, hostNetwork)));
  const std::string hostResolv = readFile("/etc/resolv.conf").value_or("");
  TRYV(writeFileReplace(tmp.path() + "/resolv.conf", hostResolv));

  runtime::Spec spec;
  spec.id = TRY(stepId());
  // On a bridge the step holds an address until it ends (attach writes its hosts file).
  std::optional<network::Endpoint> endpoint;
  struct Detach {
    std::optional<network::Endpoint>& ep;
    ~Detach() {
      if (ep) (void)network::detach(*ep);
    }
  } detachAtEnd{endpoint};
  if (step.network == runtime::NetworkMode::Bridge) {
    endpoint = TRY(network::attach(step.bridge, {spec.id, "", kHostname, {}, tmp.path() + "/hosts"}));
    spec.interface = runtime::Interface{"eth0", endpoint->address, endpoint->prefix, endpoint->gateway};
    TRYV(writeFileReplace(tmp.path() + "/resolv.conf", network::bridgeResolvConf(hostResolv, endpoint->gateway)));
  }
  spec.args = step.args;
  spec.env = step.env;
  spec.cwd = step.cwd.empty() ? "/" : step.cwd;
  spec.user = step.user;
  spec.rootfs.lowerDirs.push_back(init);
  spec.rootfs.lowerDirs.insert(spec.rootfs.lowerDirs.end(), step.lowerDirs.begin(), step.lowerDirs.end());
  spec.rootfs.upperDir = upperDir;
  spec.rootfs.workDir = work;
  spec.rootfsMountPoint = rootfs;
  spec.hostname = kHostname;
  spec.mounts.push_back({tmp.path() + "/hostname", "/etc/hostname", "bind", {"rbind"}});
  spec.mounts.push_back({tmp.path() + "/hosts", "/etc/hosts", "bind", {"rbind"}});
  spec.mounts.push_back({tmp.path() + "/resolv.conf", "/etc/resolv.conf", "bind", {"rbind"}});
  spec.mounts.insert(spec.mounts.end(), step.mounts.begin(), step.mounts.end());
  spec.network = step.network;
  spec.capabilities = runtime::defaultCapabilities();
  spec.maskedPaths = runtime::defaultMaskedPaths();
  spec.readonlyPaths = runtime::defaultReadonlyPaths();
  spec.primaryGroupSupplementary = false;

  std::vector<std::string> missingTargets;
  for (const runtime::Mount& m : step.mounts)
    if (!inLayers(step.lowerDirs, m.destination)) missingTargets.push_back(m.destination);

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) < 0) return failErrno("pipe");
  UniqueFd readEnd(fds[0]), writeEnd(fds[1]);
  runtime::Stdio stdio;
  stdio.out = writeEnd.get();
  stdio.err = writeEnd.get();
  runtime::BeforeGo plug;
  if (endpoint) plug = [&](pid_t pid) { return network::plug(*endpoint, pid); };
  auto started = runtime::start(spec, stdio, plug);
  writeEnd.reset();  // the container holds the only write end now
  if (!started) {
    (void)runtime::cleanup(spec);
    return fail(std::move(started).error());
  }
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(readEnd.get(), buf, sizeof buf);
    if (n > 0) {
      output(std::string_view(buf, static_cast<std::size_t>(n)));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    break;
  }
  int status = 0;
  while (::waitpid(started->pid, &status, 0) < 0) {
    if (errno != EINTR) {
      (void)runtime::cleanup(spec);
      return failErrno("wait for the RUN process");
    }
  }
  TRYV(runtime::cleanup(spec));
  removeMountStubs(step, upperDir, missingTargets);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

}  // namespace strata::build
