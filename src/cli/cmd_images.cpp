// images, image inspect, history, tag, rmi, image prune.
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "cli/common.h"
#include "image/images.h"
#include "image/views.h"
#include "system/prune.h"
#include "util/format.h"
#include "util/template.h"

namespace strata::cli {

int cmdImages(const Globals& g, const std::vector<std::string>& argv) {
  image::ListOptions opt;
  bool quiet = false;
  std::string format;
  FlagSet flags("images");
  flags.boolean("all", 'a', &opt.all, "Show all images (default hides intermediate images)");
  flags.boolean("digests", 0, &opt.digests, "Show digests");
  flags.list("filter", 'f', &opt.filters, "Filter output based on conditions provided");
  flags.string("format", 0, &format, "Pretty-print images using a Go template");
  flags.boolean("no-trunc", 0, &opt.noTrunc, "Don't truncate output");
  flags.boolean("quiet", 'q', &quiet, "Only show image IDs");
  Parsed p = parseFlags(flags, argv, "images [OPTIONS] [REPOSITORY[:TAG]]", "List images");
  if (p.done) return p.status;
  int status = 0;
  if (!checkArgs("images", p.args, 0, 1, status)) return status;
  if (!p.args.empty()) opt.repository = p.args[0];
  auto s = openStore(g);
  if (!s) return reportError(s.error());
  auto rows = image::listRows(*s, opt);
  if (!rows) return reportError(rows.error());
  if (quiet) {
    for (const auto& r : *rows) std::printf("%s\n", std::string(r["ID"]).c_str());
    return 0;
  }
  std::vector<Column> cols{{"REPOSITORY", "Repository"}, {"TAG", "Tag"}};
  if (opt.digests) cols.push_back({"DIGEST", "Digest"});
  cols.insert(cols.end(), {{"IMAGE ID", "ID"}, {"CREATED", "CreatedSince"}, {"SIZE", "Size"}});
  if (auto st = printRows(*rows, cols, format); !st) return reportError(st.error());
  return 0;
}

int cmdHistory(const Globals& g, const std::vector<std::string>& argv) {
  bool human = true, noTrunc = false, quiet = false;
  std::string format;
  FlagSet flags("history");
  flags.string("format", 0, &format, "Pretty-print images using a Go template");
  flags.boolean("human", 'H', &human, "Print sizes and dates in human readable format (default true)");
  flags.boolean("no-trunc", 0, &noTrunc, "Don't truncate output");
  flags.boolean("quiet", 'q', &quiet, "Only show image IDs");
  Parsed p = parseFlags(flags, argv, "history [OPTIONS] IMAGE", "Show the history of an image");
  if (p.done) return p.status;
  int status = 0;
  if (!checkArgs("history", p.args, 1, 1, status)) return status;
  auto s = openStore(g);
  if (!s) return reportError(s.error());
  auto rec = image::resolve(*s, p.args[0]);
  if (!rec) return reportError(rec.error());
  auto img = image::load(*s, *rec);
  if (!img) return reportError(img.error());
  auto rows = image::historyRows(*s, *img, noTrunc, human);
  if (!rows) return reportError(rows.error());
  if (quiet) {
    for (const auto& r : *rows) std::printf("%s\n", std::string(r["ID"]).c_str());
    return 0;
  }
  std::vector<Column> cols{{"IMAGE", "ID"}, {human ? "CREATED" : "CREATED AT", "CreatedSince"},
                           {"CREATED BY", "CreatedBy"}, {"SIZE", "Size"}, {"COMMENT", "Comment"}};
  if (auto st = printRows(*rows, cols, format); !st) return reportError(st.error());
  return 0;
}

int cmdTag(const Globals& g, const std::vector<std::string>& argv) {
  FlagSet flags("tag");
  Parsed p = parseFlags(flags, argv, "tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
                        "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE");
  if (p.done) return p.status;
  int status = 0;
  if (!checkArgs("tag", p.args, 2, 2, status)) return status;
  auto target = oci::Reference::parse(p.args[1]);
  if (!target) return reportError(target.error());
  auto s = openStore(g);
  if (!s) return reportError(s.error());
  auto rec = image::resolve(*s, p.args[0]);
  if (!rec) return reportError(rec.error());
  if (auto st = image::tag(*s, *rec, *target); !st) return reportError(st.error());
  return 0;
}

int cmdRmi(const Globals& g, const std::vector<std::string>& argv) {
  image::RemoveOptions opt;
  bool noPrune = false;
  FlagSet flags("rmi");
  flags.boolean("force", 'f', &opt.force, "Force removal of the image");
  flags.boolean("no-prune", 0, &noPrune, "Do not delete untagged parents");
  Parsed p = parseFlags(flags, argv, "rmi [OPTIONS] IMAGE [IMAGE...]", "Remove one or more images");
  if (p.done) return p.status;
  int status = 0;
  if (!checkArgs("rmi", p.args, 1, SIZE_MAX, status)) return status;
  auto s = openStore(g);
  if (!s) return reportError(s.error());
  auto r = image::remove(*s, p.args, opt);
  if (!r) return reportError(r.error());
  for (const auto& l : r->lines) std::printf("%s\n", l.c_str());
  for (const auto& e : r->errors) reportError(e);
  return r->errors.empty() ? 0 : kExitError;
}

int cmdImagePrune(const Globals& g, const std::vector<std::string>& argv) {
  bool all = false, force = false;
  std::vector<std::string> filters;
  FlagSet flags("image prune");
  flags.boolean("all", 'a', &all, "Remove all unused images, not just dangling ones");
  flags.boolean("force", 'f', &force, "Do not prompt for confirmation");
  flags.list("filter", 0, &filters, "Provide filter values (e.g. 'until=<timestamp>')");
  Parsed p = parseFlags(flags, argv, "image prune [OPTIONS]", "Remove unused images");
  if (p.done) return p.status;
  int status = 0;
  if (!checkArgs("image prune", p.args, 0, 0, status)) return status;
  if (!filters.empty()) return reportError("image prune: --filter is not supported yet");
  if (!force && !confirm(std::string("WARNING! This will remove all ") +
                         (all ? "images without at least one container associated to them" : "dangling images") + "."))
    return 0;
  auto s = openStore(g);
  if (!s) return reportError(s.error());
  auto res = system::pruneImages(*s, all);
  if (!res) return reportError(res.error());
  printDeletedImages(res->lines);
  std::printf("Total reclaimed space: %s\n",
              humanSizeWithPrecision(static_cast<double>(res->reclaimed), 4).c_str());
  for (const auto& e : res->errors) reportError(e);
  return res->errors.empty() ? 0 : kExitError;
}

}  // namespace strata::cli
