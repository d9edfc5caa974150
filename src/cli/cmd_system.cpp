// system df, check, prune; container prune; version.
#include <cstdio>

#include "build/cache.h"
#include "cli/common.h"
#include "image/views.h"
#include "system/check.h"
#include "system/prune.h"
#include "util/format.h"

namespace strata::cli {

int cmdSystemDf(const Globals& g, const std::vector<std::string>& argv) {
  std::string format;
  bool verbose = false;
  FlagSet flags("system df");
  flags.string("format", 0, &format, "Pretty-print images using a Go template");
  flags.boolean("verbose", 'v', &verbose, "Show detailed information on space usage");
  Parsed p = parseFlags(flags, argv, "system df [OPTIONS]", "Show strata disk usage");
  if (p.done) return p.status;
  int status = 0;
  if (!checkArgs("system df", p.args, 0, 0, status)) return status;
  if (verbose) return reportError("system df: --verbose is not supported yet");
  auto s = openStore(g);
  if (!s) return reportError(s.error());
  auto rows = image::diskUsageRows(*s);
  if (!rows) return reportError(rows.error());
  std::vector<Column> cols{{"TYPE", "Type"}, {"TOTAL", "TotalCount"}, {"ACTIVE", "Active"},
                           {"SIZE", "Size"}, {"RECLAIMABLE", "Reclaimable"}};
  if (auto st = printRows(*rows, cols, format); !st) return reportError(st.error());
  return 0;
}

int cmdSystemCheck(const Globals& g, const std::vector<std::string>& argv) {
  bool quick = false;
  FlagSet flags("system check");
  flags.boolean("quick", 0, &quick, "Do not hash the content of every blob");
  Parsed p = parseFlags(flags, argv, "system check [OPTIONS]",
                        "Check that the store is consistent (changes nothing)");
  if (p.done) return p.status;
  int status = 0;
  if (!checkArgs("system check", p.args, 0, 0, status)) return status;
  auto s = openStore(g);
  if (!s) return reportError(s.error());
  system::CheckOptions opt;
  opt.verifyContent = !quick;
  auto rep = system::check(*s, opt);
  if (!rep) return reportError(rep.error());
  std::printf("Checked %zu images, %zu blobs, %zu layers, %zu containers, %zu build cache records\n",
              rep->images, rep->blobs, rep->layers, rep->containers, rep->cacheRecords);
  if (!rep->leftoversChecked)
    std::printf("Leftovers not looked for: another strata process is adding content\n");
  if (!rep->leftovers.empty()) {
    std::printf("Leftovers of interrupted operations (`strata system prune` removes them):\n");
    for (const auto& l : rep->leftovers) std::printf("  %s\n", l.c_str());
  }
  if (rep->problems.empty()) {
    std::printf("The store is consistent\n");
    return 0;
  }
  std::printf("Problems:\n");
  for (const auto& l : rep->problems) std::printf("  %s\n", l.c_str());
  std::printf("%zu problem%s found\n", rep->problems.size(), rep->problems.size() == 1 ? "" : "s");
  return 1;
}

namespace {

void printContainers(const system::ContainerPrune& c) {
  if (c.removed.empty()) return;
  std::printf("Deleted Containers:\n");
  for (const auto& id : c.removed) std::printf("%s\n", id.c_str());
  std::printf("\n");
}

void printReclaimed(uint64_t bytes) {
  std::printf("Total reclaimed space: %s\n", humanSizeWithPrecision(static_cast<double>(bytes), 4).c_str());
}

}  // namespace

int cmdContainerPrune(const Globals& g, const std::vector<std::string>& argv) {
  bool force = false;
  std::vector<std::string> filters;
  FlagSet flags("container prune");
  flags.boolean("force", 'f', &force, "Do not prompt for confirmation");
  flags.list("filter", 0, &filters, "Provide filter values (e.g. 'until=<timestamp>')");
  Parsed p = parseFlags(flags, argv, "container prune [OPTIONS]", "Remove all stopped containers");
  if (p.done) return p.status;
  int status = 0;
  if (!checkArgs("container prune", p.args, 0, 0, status)) return status;
  if (!filters.empty()) return reportError("container prune: --filter is not supported yet");
  if (!force && !confirm("WARNING! This will remove all stopped containers.")) return 0;
  auto s = openStore(g);
  if (!s) return reportError(s.error());
  container::Containers cs(*s);
  auto res = system::pruneContainers(cs);
  if (!res) return reportError(res.error());
  printContainers(*res);
  printReclaimed(res->reclaimed);
  for (const auto& e : res->errors) reportError(e);
  return res->errors.empty() ? 0 : kExitError;
}

int cmdSystemPrune(const Globals& g, const std::vector<std::string>& argv) {
  bool all = false, force = false, volumes = false;
  std::vector<std::string> filters;
  FlagSet flags("system prune");
  flags.boolean("all", 'a', &all, "Remove all unused images not just dangling ones");
  flags.boolean("force", 'f', &force, "Do not prompt for confirmation");
  flags.boolean("volumes", 0, &volumes, "Prune volumes");
  flags.list("filter", 0, &filters, "Provide filter values (e.g. 'label=<key>=<value>')");
  Parsed p = parseFlags(flags, argv, "system prune [OPTIONS]", "Remove unused data");
  if (p.done) return p.status;
  int status = 0;
  if (!checkArgs("system prune", p.args, 0, 0, status)) return status;
  if (!filters.empty()) return reportError("system prune: --filter is not supported yet");
  if (!force) {
    std::string warning = "WARNING! This will remove:\n  - all stopped containers\n"
                          "  - all networks not used by at least one container\n";
    if (volumes) warning += "  - all volumes not used by at least one container\n";
    warning += all ? "  - all images without at least one container associated to them\n  - all build cache\n"
                   : "  - all dangling images\n  - all dangling build cache\n";
    if (!confirm(warning)) return 0;
  }
  auto s = openStore(g);
  if (!s) return reportError(s.error());
  container::Containers cs(*s);
  auto containers = system::pruneContainers(cs);
  if (!containers) return reportError(containers.error());
  printContainers(*containers);
  uint64_t reclaimed = containers->reclaimed;
  auto networks = system::pruneNetworks(cs);
  if (!networks) return reportError(networks.error());
  if (!networks->empty()) {
    std::printf("Deleted Networks:\n");
    for (const auto& n : *networks) std::printf("%s\n", n.c_str());
    std::printf("\n");
  }
  if (volumes) {
    auto vols = system::pruneVolumes(cs);
    if (!vols) return reportError(vols.error());
    if (!vols->removed.empty()) {
      std::printf("Deleted Volumes:\n");
      for (const auto& v : vols->removed) std::printf("%s\n", v.c_str());
      std::printf("\n");
    }
    reclaimed += vols->reclaimed;
  }
  auto images = system::pruneImages(*s, all);
  if (!images) return reportError(images.error());
  printDeletedImages(images->lines);
  reclaimed += images->reclaimed;
  build::BuildCache cache(*s);
  auto records = cache.prune();
  if (!records) return reportError(records.error());
  if (*records > 0) std::printf("Deleted build cache records: %zu\n\n", *records);
  auto leftovers = system::pruneLeftovers(*s);
  if (!leftovers) return reportError(leftovers.error());
  printReclaimed(reclaimed + *leftovers);
  std::vector<std::string> errors = containers->errors;
  errors.insert(errors.end(), images->errors.begin(), images->errors.end());
  for (const auto& e : errors) reportError(e);
  return errors.empty() ? 0 : kExitError;
}

int cmdVersion(const Globals&, const std::vector<std::string>&) {
  std::printf("strata version %s\n", STRATA_VERSION);
  return 0;
}

}  // namespace strata::cli
