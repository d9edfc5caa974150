// build, builder prune.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "build/builder.h"
#include "build/cache.h"
#include "cli/common.h"
#include "layer/compression.h"
#include "util/format.h"
#include "util/fs.h"

namespace strata::cli {

namespace {

// K=V pairs of --build-arg and --label; a --build-arg without '=' takes the variable from the
// environment (and is dropped when it is not set), as Docker does.
Result<std::map<std::string, std::string>> keyValues(const std::vector<std::string>& items, const char* flag,
                                                     bool fromEnvironment) {
  std::map<std::string, std::string> out;
  for (const std::string& item : items) {
    const std::size_t eq = item.find('=');
    if (eq == 0) return failInvalid(std::string("invalid ") + flag + " \"" + item + "\": empty name");
    if (eq != std::string::npos) {
      out[item.substr(0, eq)] = item.substr(eq + 1);
    } else if (!fromEnvironment) {
      out[item] = "";
    } else if (const char* v = std::getenv(item.c_str())) {
      out[item] = v;
    }
  }
  return out;
}

}  // namespace

int cmdBuild(const Globals& g, const std::vector<std::string>& argv) {
  std::vector<std::string> tags, buildArgs, labels;
  std::string file, target, progressMode = "auto", iidFile, network = "default", platform;
  bool noCache = false, pull = false, quiet = false;
  FlagSet flags("build");
  flags.list("tag", 't', &tags, "Name and optionally a tag in the 'name:tag' format");
  flags.string("file", 'f', &file, "Name of the Dockerfile (Default is 'PATH/Dockerfile')");
  flags.list("build-arg", 0, &buildArgs, "Set build-time variables");
  flags.string("target", 0, &target, "Set the target build stage to build");
  flags.boolean("no-cache", 0, &noCache, "Do not use cache when building the image");
  flags.boolean("pull", 0, &pull, "Always attempt to pull a newer version of the image");
  flags.boolean("quiet", 'q', &quiet, "Suppress the build output and print image ID on success");
  flags.string("progress", 0, &progressMode, "Set type of progress output (auto, plain, tty)");
  flags.list("label", 0, &labels, "Set metadata for an image");
  flags.string("iidfile", 0, &iidFile, "Write the image ID to the file");
  flags.string("network", 0, &network, "Set the networking mode for the RUN instructions during build");
  flags.string("platform", 0, &platform, "Set platform if server is multi-platform capable");
  Parsed p = parseFlags(flags, argv, "build [OPTIONS] PATH", "Build an image from a Dockerfile");
  if (p.done) return p.status;
  int status = 0;
  if (!checkArgs("build", p.args, 1, 1, status)) return status;

  build::BuildOptions opt;
  for (const std::string& t : tags) {
    auto ref = oci::Reference::parse(t);
    if (!ref) return reportError("invalid argument \"" + t + "\" for \"-t, --tag\" flag: " + ref.error().message());
    opt.tags.push_back(*ref);
  }
  auto args = keyValues(buildArgs, "--build-arg", true);
  if (!args) return reportError(args.error());
  opt.buildArgs = *args;
  auto labelValues = keyValues(labels, "--label", false);
  if (!labelValues) return reportError(labelValues.error());
  opt.labels = *labelValues;
  opt.target = target;
  opt.noCache = noCache;
  if (network != "default" && network != "none" && network != "host")
    return reportError("build: --network: mode \"" + network + "\" is not supported (default, none or host)");
  opt.network = network;
  if (!platform.empty() && platform != "linux/amd64" && platform != "linux")
    return reportError("build: unsupported platform \"" + platform + "\" (only linux/amd64)");
  opt.pull = pull;
  if (progressMode != "auto" && progressMode != "plain" && progressMode != "tty")
    return reportError("build: invalid progress mode \"" + progressMode + "\" (auto, plain or tty)");

  if (p.args[0] != "-") {
    opt.context = p.args[0];
    if (!isDirectory(opt.context))
      return reportError("build: unable to prepare context: path \"" + opt.context + "\" not found");
  }

  auto s = openStore(g);
  if (!s) return reportError(s.error());
  // stdin is kept in the store's tmp/ while the build reads it: a context tar, or a Dockerfile.
  // The ingest guard keeps garbage collection away from it.
  FileLock tmpGuard;
  TempDir stdinCopy;
  if (p.args[0] == "-" || file == "-") {
    if (p.args[0] == "-" && file == "-")
      return reportError("build: the context and the Dockerfile cannot both be read from stdin");
    auto guard = s->ingestGuard();
    if (!guard) return reportError(guard.error());
    tmpGuard = std::move(*guard);
    auto copied = TempDir::create(s->tmpDir(), "stdin-");
    if (!copied) return reportError(copied.error());
    stdinCopy = std::move(*copied);
    const std::string path = stdinCopy.path() + "/stdin";
    auto data = readAll(STDIN_FILENO);
    if (!data) return reportError(data.error().wrap("build: read stdin"));
    if (file == "-" || !layer::looksLikeTar(reinterpret_cast<const unsigned char*>(data->data()), data->size())) {
      opt.dockerfileText = std::move(*data);  // `build - < Dockerfile`: no context
    } else {
      if (auto st = writeFileAtomic(path, *data); !st) return reportError(st.error());
      opt.contextTar = path;
    }
  }
  if (file != "-") opt.dockerfile = file;
  build::Progress progress(stderr, quiet);
  store::Store& store = *s;
  opt.pullImage = [&](const std::string& name) {
    PullSettings ps;
    ps.quiet = quiet;
    ps.out = stderr;
    return pullImage(g, store, name, ps);
  };
  bool stepFailed = false;
  auto record = build::build(*s, opt, progress, stepFailed);
  if (!record) {
    reportError(record.error());
    if (tmpGuard.held()) {  // the build's own clean-up was skipped while the guard was held
      stdinCopy = TempDir();
      tmpGuard.release();
      (void)s->collectGarbage();
    }
    return stepFailed ? 1 : 125;
  }
  if (!iidFile.empty()) {
    if (auto st = writeFileAtomic(iidFile, record->id.str()); !st) return reportError(st.error());
  }
  if (quiet) std::printf("%s\n", record->id.str().c_str());
  return 0;
}

int cmdBuilderPrune(const Globals& g, const std::vector<std::string>& argv) {
  bool all = false, force = false;
  FlagSet flags("builder prune");
  flags.boolean("all", 'a', &all, "Remove all unused build cache, not just dangling ones");
  flags.boolean("force", 'f', &force, "Do not prompt for confirmation");
  Parsed p = parseFlags(flags, argv, "builder prune [OPTIONS]", "Remove build cache");
  if (p.done) return p.status;
  int status = 0;
  if (!checkArgs("builder prune", p.args, 0, 0, status)) return status;
  if (!force && !confirm(all ? "WARNING! This will remove all build cache."
                             : "WARNING! This will remove all dangling build cache."))
    return 0;
  auto s = openStore(g);
  if (!s) return reportError(s.error());
  build::BuildCache cache(*s);
  auto removed = cache.prune();
  if (!removed) return reportError(removed.error());
  auto freed = s->collectGarbage();
  if (!freed) return reportError(freed.error());
  std::printf("Total:\t%s\n", humanSize(static_cast<double>(*freed)).c_str());
  return 0;
}

}  // namespace strata::cli
