#include <cstdio>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/output.h"
#include "store/layout.h"

namespace strata::cli {

namespace {

const Command kCommands[] = {
    {"images", cmdImages, "List images"},
    {"image ls", cmdImages, "List images"},
    {"image list", cmdImages, "List images"},
    {"image inspect", cmdImageInspect, "Display detailed information on one or more images"},
    {"inspect", cmdInspect, "Return low-level information on containers or images"},
    {"history", cmdHistory, "Show the history of an image"},
    {"image history", cmdHistory, "Show the history of an image"},
    {"tag", cmdTag, "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE"},
    {"image tag", cmdTag, "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE"},
    {"rmi", cmdRmi, "Remove one or more images"},
    {"image rm", cmdRmi, "Remove one or more images"},
    {"image remove", cmdRmi, "Remove one or more images"},
    {"image prune", cmdImagePrune, "Remove unused images"},
    {"import", cmdImport, "Import the contents from a tarball to create a filesystem image"},
    {"image import", cmdImport, "Import the contents from a tarball to create a filesystem image"},
    {"save", cmdSave, "Save one or more images to a tar archive (streamed to STDOUT by default)"},
    {"image save", cmdSave, "Save one or more images to a tar archive"},
    {"load", cmdLoad, "Load an image from a tar archive or STDIN"},
    {"image load", cmdLoad, "Load an image from a tar archive or STDIN"},
    {"create", cmdCreate, "Create a new container"},
    {"container create", cmdCreate, "Create a new container"},
    {"run", cmdRun, "Run a command in a new container"},
    {"container run", cmdRun, "Run a command in a new container"},
    {"start", cmdStart, "Start one or more stopped containers"},
    {"container start", cmdStart, "Start one or more stopped containers"},
    {"attach", cmdAttach, "Attach to a running container"},
    {"container attach", cmdAttach, "Attach to a running container"},
    {"ps", cmdPs, "List containers"},
    {"container ls", cmdPs, "List containers"},
    {"container list", cmdPs, "List containers"},
    {"container ps", cmdPs, "List containers"},
    {"logs", cmdLogs, "Fetch the logs of a container"},
    {"container logs", cmdLogs, "Fetch the logs of a container"},
    {"stop", cmdStop, "Stop one or more running containers"},
    {"container stop", cmdStop, "Stop one or more running containers"},
    {"restart", cmdRestart, "Restart one or more containers"},
    {"container restart", cmdRestart, "Restart one or more containers"},
    {"kill", cmdKill, "Kill one or more running containers"},
    {"container kill", cmdKill, "Kill one or more running containers"},
    {"rm", cmdRm, "Remove one or more containers"},
    {"container rm", cmdRm, "Remove one or more containers"},
    {"wait", cmdWait, "Block until one or more containers stop, then print their exit codes"},
    {"container wait", cmdWait, "Block until one or more containers stop, then print their exit codes"},
    {"pause", cmdPause, "Pause all processes within one or more containers"},
    {"container pause", cmdPause, "Pause all processes within one or more containers"},
    {"unpause", cmdUnpause, "Unpause all processes within one or more containers"},
    {"container unpause", cmdUnpause, "Unpause all processes within one or more containers"},
    {"rename", cmdRename, "Rename a container"},
    {"container rename", cmdRename, "Rename a container"},
    {"container inspect", cmdContainerInspect, "Display detailed information on one or more containers"},
    {"exec", cmdExec, "Run a command in a running container"},
    {"container exec", cmdExec, "Run a command in a running container"},
    {"diff", cmdDiff, "Inspect changes to files or directories on a container's filesystem"},
    {"container prune", cmdContainerPrune, "Remove all stopped containers"},
    {"container diff", cmdDiff, "Inspect changes to files or directories on a container's filesystem"},
    {"commit", cmdCommit, "Create a new image from a container's changes"},
    {"container commit", cmdCommit, "Create a new image from a container's changes"},
    {"export", cmdExport, "Export a container's filesystem as a tar archive"},
    {"container export", cmdExport, "Export a container's filesystem as a tar archive"},
    {"top", cmdTop, "Display the running processes of a container"},
    {"container top", cmdTop, "Display the running processes of a container"},
    {"cp", cmdCp, "Copy files/folders between a container and the local filesystem"},
    {"container cp", cmdCp, "Copy files/folders between a container and the local filesystem"},
    {"port", cmdPort, "List port mappings or a specific mapping for the container"},
    {"container port", cmdPort, "List port mappings or a specific mapping for the container"},
    {"network create", cmdNetworkCreate, "Create a network"},
    {"network ls", cmdNetworkLs, "List networks"},
    {"network list", cmdNetworkLs, "List networks"},
    {"network rm", cmdNetworkRm, "Remove one or more networks"},
    {"network remove", cmdNetworkRm, "Remove one or more networks"},
    {"network inspect", cmdNetworkInspect, "Display detailed information on one or more networks"},
    {"network prune", cmdNetworkPrune, "Remove all unused networks"},
    {"system df", cmdSystemDf, "Show strata disk usage"},
    {"system check", cmdSystemCheck, "Check that the store is consistent"},
    {"system prune", cmdSystemPrune, "Remove unused data"},
    {"build", cmdBuild, "Build an image from a Dockerfile"},
    {"image build", cmdBuild, "Build an image from a Dockerfile"},
    {"builder prune", cmdBuilderPrune, "Remove build cache"},
    {"debug dockerfile-ast", cmdDebugDockerfileAst, "Print the parse tree of a Dockerfile"},
    {"pull", cmdPull, "Download an image from a registry"},
    {"image pull", cmdPull, "Download an image from a registry"},
    {"push", cmdPush, "Upload an image to a registry"},
    {"image push", cmdPush, "Upload an image to a registry"},
    {"login", cmdLogin, "Log in to a registry"},
    {"logout", cmdLogout, "Log out from a registry"},
    {"registry serve", cmdRegistryServe, "Serve a registry from a storage directory"},
    {"registry gc", cmdRegistryGc, "Remove blobs no manifest in a registry's storage references"},
    {"version", cmdVersion, "Show the strata version information"},
};

void printHelp() {
  std::printf(
      "\nUsage:  strata [OPTIONS] COMMAND\n\n"
      "A daemonless, Docker-compatible container image builder and runtime\n\n"
      "Options:\n"
      "      --insecure-registry list  Registries reached over plain HTTP or unverified TLS\n"
      "      --root string   Store directory (default $STRATA_ROOT or /var/lib/strata)\n"
      "  -v, --version       Print version information and quit\n\n"
      "Commands:\n");
  for (const auto& c : kCommands) std::printf("  %-16s%s\n", c.path, c.summary);
}

}  // namespace

int runCli(const std::vector<std::string>& argv) {
  Globals g;
  size_t i = 0;
  for (; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a == "--root") {
      if (i + 1 >= argv.size()) return reportError("flag needs an argument: --root");
      g.root = argv[++i];
    } else if (a.rfind("--root=", 0) == 0) {
      g.root = a.substr(7);
    } else if (a == "--insecure-registry") {
      if (i + 1 >= argv.size()) return reportError("flag needs an argument: --insecure-registry");
      g.insecureRegistries.push_back(argv[++i]);
    } else if (a.rfind("--insecure-registry=", 0) == 0) {
      g.insecureRegistries.push_back(a.substr(20));
    } else if (a == "-v" || a == "--version") {
      return cmdVersion(g, {});
    } else if (a == "-h" || a == "--help") {
      printHelp();
      return 0;
    } else if (!a.empty() && a[0] == '-') {
      return reportError("unknown flag: " + a);
    } else {
      break;
    }
  }
  if (g.root.empty()) g.root = store::Layout::defaultRoot();
  if (i >= argv.size()) {
    printHelp();
    return 0;
  }
  // Longest match first: "image ls" before "image".
  const Command* best = nullptr;
  size_t bestWords = 0;
  for (const auto& c : kCommands) {
    std::vector<std::string> words;
    std::string path = c.path;
    for (size_t p = 0, q; p <= path.size(); p = q + 1) {
      q = path.find(' ', p);
      if (q == std::string::npos) q = path.size();
      words.push_back(path.substr(p, q - p));
    }
    if (i + words.size() > argv.size()) continue;
    bool match = true;
    for (size_t w = 0; w < words.size(); ++w) match = match && argv[i + w] == words[w];
    if (match && words.size() > bestWords) best = &c, bestWords = words.size();
  }
  if (!best) return reportError("unknown command: strata " + argv[i] + " (see 'strata --help')");
  std::vector<std::string> rest(argv.begin() + static_cast<long>(i + bestWords), argv.end());
  return best->run(g, rest);
}

}  // namespace strata::cli
