#include "cli/common.h"

#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <iostream>

#include <fmt/format.h>

#include "util/format.h"
#include "util/fs.h"

namespace strata::cli {

Result<store::Store> openStore(const Globals& g) { return store::Store::open(g.root); }

Parsed parseFlags(const FlagSet& flags, const std::vector<std::string>& argv,
                  const std::string& synopsis, const std::string& description,
                  bool interspersed) {
  Parsed p;
  auto r = flags.parse(argv, interspersed);
  if (!r) {
    p.done = true;
    p.status = reportError(r.error().what() + " (see 'strata " + flags.command() + " --help')");
    return p;
  }
  if (flags.helpRequested()) {
    std::fputs(flags.usage(synopsis, description).c_str(), stdout);
    p.done = true;
    return p;
  }
  p.args = std::move(*r);
  return p;
}

Status writeOutput(const std::string& output, const std::function<Status(int fd)>& write) {
  if (output.empty()) {
    if (::isatty(STDOUT_FILENO))
      return failInvalid("cowardly refusing to save to a terminal. Use the -o flag or redirect");
    return write(STDOUT_FILENO);
  }
  std::string tmp = output + ".strata-tmp";
  UniqueFd fd = TRY(openFile(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644));
  Status st = write(fd.get());
  if (st) st = fsyncFd(fd.get(), tmp);
  fd.reset();
  if (st && ::rename(tmp.c_str(), output.c_str()) < 0)
    st = failErrno("rename `" + tmp + "` to `" + output + "`");
  if (!st) ::unlink(tmp.c_str());
  return st;
}

Result<std::optional<Template>> inspectTemplate(const std::string& format) {
  if (format.empty()) return std::optional<Template>();
  TemplateOptions to;
  to.listFormat = false;
  to.missingKeyError = true;
  return std::optional<Template>(TRY(Template::parse(format, to)));
}

int printInspected(const std::vector<std::string>& args, const std::optional<Template>& tmpl,
                   const std::function<Result<oci::Json>(const std::string&)>& lookUp) {
  oci::Json all = oci::Json::array();
  std::string out;
  int rc = 0;
  for (const auto& arg : args) {
    auto j = lookUp(arg);
    if (!j) {
      rc = reportError(j.error());
      continue;
    }
    if (!tmpl) {
      all.push_back(std::move(*j));
      continue;
    }
    auto line = tmpl->render(*j);
    if (!line) return reportError(line.error());
    out += *line + "\n";
  }
  if (tmpl) std::fputs(out.c_str(), stdout);
  else std::printf("%s\n", toGoJson(all, 4).c_str());
  return rc;
}

bool checkArgs(const std::string& command, const std::vector<std::string>& args, size_t min,
               size_t max, int& status) {
  if (args.size() >= min && args.size() <= max) return true;
  std::string want;
  if (min == max) want = fmt::format("exactly {} argument{}", min, min == 1 ? "" : "s");
  else if (max == SIZE_MAX) want = fmt::format("at least {} argument{}", min, min == 1 ? "" : "s");
  else want = fmt::format("at least {} and at most {} arguments", min, max);
  status = reportError(fmt::format("\"strata {}\" requires {} (see 'strata {} --help')", command,
                                   want, command));
  return false;
}

bool confirm(const std::string& warning) {
  std::printf("%s\nAre you sure you want to continue? [y/N] ", warning.c_str());
  std::fflush(stdout);
  std::string answer;
  std::getline(std::cin, answer);
  if (answer == "y" || answer == "Y") return true;
  std::printf("\n");
  return false;
}

void printDeletedImages(const std::vector<std::string>& lines) {
  if (lines.empty()) return;
  std::printf("Deleted Images:\n");
  for (auto l : lines) {
    if (!l.empty()) l[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(l[0])));
    std::printf("%s\n", l.c_str());
  }
  std::printf("\n");
}

}  // namespace strata::cli
