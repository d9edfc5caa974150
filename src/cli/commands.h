// The command table: every strata command, each implemented in its own cmd_*.cpp file.
#pragma once

#include <string>
#include <vector>

namespace strata::cli {

// Options that come before the command name.
struct Globals {
  std::string root;  // --root, else $STRATA_ROOT, else /var/lib/strata
  std::vector<std::string> insecureRegistries;  // --insecure-registry (repeatable)
};

using Handler = int (*)(const Globals& g, const std::vector<std::string>& args);

struct Command {
  const char* path;  // "images", "image ls", "system df"
  Handler run;
  const char* summary;
};

// Commands by file.
int cmdPull(const Globals&, const std::vector<std::string>&);
int cmdPush(const Globals&, const std::vector<std::string>&);
int cmdLogin(const Globals&, const std::vector<std::string>&);
int cmdLogout(const Globals&, const std::vector<std::string>&);
int cmdRegistryServe(const Globals&, const std::vector<std::string>&);
int cmdRegistryGc(const Globals&, const std::vector<std::string>&);
int cmdImport(const Globals&, const std::vector<std::string>&);
int cmdBuild(const Globals&, const std::vector<std::string>&);
int cmdBuilderPrune(const Globals&, const std::vector<std::string>&);
int cmdDebugDockerfileAst(const Globals&, const std::vector<std::string>&);
int cmdImages(const Globals&, const std::vector<std::string>&);
int cmdImageInspect(const Globals&, const std::vector<std::string>&);
int cmdHistory(const Globals&, const std::vector<std::string>&);
int cmdTag(const Globals&, const std::vector<std::string>&);
int cmdRmi(const Globals&, const std::vector<std::string>&);
int cmdImagePrune(const Globals&, const std::vector<std::string>&);
int cmdSave(const Globals&, const std::vector<std::string>&);
int cmdLoad(const Globals&, const std::vector<std::string>&);
int cmdNetworkCreate(const Globals&, const std::vector<std::string>&);
int cmdNetworkLs(const Globals&, const std::vector<std::string>&);
int cmdNetworkRm(const Globals&, const std::vector<std::string>&);
int cmdNetworkInspect(const Globals&, const std::vector<std::string>&);
int cmdNetworkPrune(const Globals&, const std::vector<std::string>&);
int cmdPort(const Globals&, const std::vector<std::string>&);
int cmdCreate(const Globals&, const std::vector<std::string>&);
int cmdRun(const Globals&, const std::vector<std::string>&);
int cmdStart(const Globals&, const std::vector<std::string>&);
int cmdAttach(const Globals&, const std::vector<std::string>&);
int cmdPs(const Globals&, const std::vector<std::string>&);
int cmdLogs(const Globals&, const std::vector<std::string>&);
int cmdStop(const Globals&, const std::vector<std::string>&);
int cmdRestart(const Globals&, const std::vector<std::string>&);
int cmdKill(const Globals&, const std::vector<std::string>&);
int cmdRm(const Globals&, const std::vector<std::string>&);
int cmdWait(const Globals&, const std::vector<std::string>&);
int cmdPause(const Globals&, const std::vector<std::string>&);
int cmdUnpause(const Globals&, const std::vector<std::string>&);
int cmdRename(const Globals&, const std::vector<std::string>&);
int cmdInspect(const Globals&, const std::vector<std::string>&);
int cmdContainerInspect(const Globals&, const std::vector<std::string>&);
int cmdExec(const Globals&, const std::vector<std::string>&);
int cmdDiff(const Globals&, const std::vector<std::string>&);
int cmdCommit(const Globals&, const std::vector<std::string>&);
int cmdExport(const Globals&, const std::vector<std::string>&);
int cmdTop(const Globals&, const std::vector<std::string>&);
int cmdCp(const Globals&, const std::vector<std::string>&);
int cmdSystemDf(const Globals&, const std::vector<std::string>&);
int cmdSystemCheck(const Globals&, const std::vector<std::string>&);
int cmdSystemPrune(const Globals&, const std::vector<std::string>&);
int cmdContainerPrune(const Globals&, const std::vector<std::string>&);
int cmdVersion(const Globals&, const std::vector<std::string>&);

// Parses global flags, finds the command and runs it; returns the exit status.
int runCli(const std::vector<std::string>& args);

}  // namespace strata::cli
