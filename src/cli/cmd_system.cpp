// system df, version.
#include <cstdio>

#include "cli/common.h"
#include "image/views.h"

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

int cmdVersion(const Globals&, const std::vector<std::string>&) {
  std::printf("strata version %s\n", STRATA_VERSION);
  return 0;
}

}  // namespace strata::cli
