#include "network/firewall.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

#include "util/fs.h"

namespace strata::network {

namespace {

Result<std::string> findProgram(const std::string& name) {
  std::string path = std::getenv("PATH") ? std::getenv("PATH") : "";
  path += ":/usr/sbin:/sbin:/usr/bin:/bin";
  size_t start = 0;
  for (;;) {
    size_t colon = path.find(':', start);
    std::string dir = path.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    if (!dir.empty() && ::access((dir + "/" + name).c_str(), X_OK) == 0) return dir + "/" + name;
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return failInvalid(name + ": executable file not found");
}

// Runs argv[0] (looked up like findProgram) with input on stdin; fails with its stderr.
Status runProgram(const std::vector<std::string>& argv, const std::string& input) {
  std::string path = TRY(findProgram(argv[0]));
  int in[2], err[2];
  if (::pipe2(in, O_CLOEXEC) < 0) return failErrno("pipe");
  UniqueFd inR(in[0]), inW(in[1]);
  if (::pipe2(err, O_CLOEXEC) < 0) return failErrno("pipe");
  UniqueFd errR(err[0]), errW(err[1]);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return failErrno("fork " + argv[0]);
  if (pid == 0) {
    ::dup2(inR.get(), 0);
    int devnull = ::open("/dev/null", O_WRONLY);
    ::dup2(devnull, 1);
    ::dup2(errW.get(), 2);
    ::signal(SIGPIPE, SIG_DFL);
    char* const env[] = {const_cast<char*>("PATH=/usr/sbin:/usr/bin:/sbin:/bin"), nullptr};
    ::execve(path.c_str(), args.data(), env);
    ::_exit(127);
  }
  inR.reset();
  errW.reset();
  // The scripts are small (a few hundred bytes): far below a pipe's buffer.
  (void)writeAll(inW.get(), input);
  inW.reset();
  std::string errText = readAll(errR.get()).value_or("");
  int ws = 0;
  while (::waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(ws) && WEXITSTATUS(ws) == 0) return {};
  while (!errText.empty() && (errText.back() == '\n' || errText.back() == ' ')) errText.pop_back();
  for (char& c : errText)
    if (c == '\n') c = ' ';
  std::string cmd;
  for (const auto& a : argv) cmd += (cmd.empty() ? "" : " ") + a;
  return failInvalid(cmd + " failed" + (errText.empty() ? "" : ": " + errText));
}

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

Result<InstalledRules> installNft(const FirewallRequest& r) {
  const std::string table = "strata-" + r.bridge, br = quoted(r.bridge);
  const std::string subnet = formatCidr(networkOf(r.subnet));
  // Declaring then deleting the table first makes the script replace leftovers of a crash.
  std::string s = "table ip " + table + " {}\ndelete table ip " + table + "\n";
  s += "table ip " + table + " {\n";
  if (!r.internal) {
    s += "  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n";
    s += "    ip saddr " + subnet + " oifname != " + br + " masquerade\n  }\n";
  }
  s += "  chain forward {\n    type filter hook forward priority filter; policy accept;\n";
  if (r.internal) {
    s += "    iifname " + br + " oifname != " + br + " drop\n";
    s += "    oifname " + br + " iifname != " + br + " drop\n";
  } else {
    // Networks are isolated from each other, as Docker's are; each reaches the outside.
    s += "    iifname " + br + " oifname != " + br + " oifname \"strata*\" drop\n";
    s += "    iifname " + br + " accept\n";
    s += "    oifname " + br + " ct state established,related accept\n";
    s += "    oifname " + br + " drop\n";
  }
  s += "  }\n";
  if (r.dnsTo) {
    const std::string to = formatIpv4(*r.dnsTo) + ":53";
    s += "  chain prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n";
    for (const char* proto : {"udp", "tcp"})
      s += "    iifname " + br + " ip daddr " + formatIpv4(r.gateway) + " " + proto +
           " dport 53 dnat to " + to + "\n";
    s += "  }\n";
  }
  s += "}\n";
  TRYV(runProgram({"nft", "-f", "-"}, s));
  InstalledRules out;
  out.backend = "nft";
  out.undo.push_back({"nft", "-f", "-"});
  out.undoInput = "table ip " + table + " {}\ndelete table ip " + table + "\n";
  return out;
}

Result<InstalledRules> installIptables(const FirewallRequest& r) {
  const std::string subnet = formatCidr(networkOf(r.subnet));
  struct Rule {
    std::string table, op, chain;
    std::vector<std::string> spec;
  };
  std::vector<Rule> rules;
  if (r.internal) {
    rules.push_back({"filter", "-I", "FORWARD", {"-i", r.bridge, "!", "-o", r.bridge, "-j", "DROP"}});
    rules.push_back({"filter", "-I", "FORWARD", {"-o", r.bridge, "!", "-i", r.bridge, "-j", "DROP"}});
  } else {
    rules.push_back({"nat", "-A", "POSTROUTING", {"-s", subnet, "!", "-o", r.bridge, "-j", "MASQUERADE"}});
    rules.push_back({"filter", "-I", "FORWARD", {"-i", r.bridge, "-j", "ACCEPT"}});
    rules.push_back({"filter", "-I", "FORWARD",
                     {"-o", r.bridge, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"}});
    rules.push_back({"filter", "-A", "FORWARD", {"-o", r.bridge, "-j", "DROP"}});
  }
  if (r.dnsTo) {
    for (const char* proto : {"udp", "tcp"})
      rules.push_back({"nat", "-A", "PREROUTING",
                       {"-i", r.bridge, "-d", formatIpv4(r.gateway), "-p", proto, "--dport", "53", "-j",
                        "DNAT", "--to-destination", formatIpv4(*r.dnsTo) + ":53"}});
  }
  InstalledRules out;
  out.backend = "iptables";
  for (const Rule& rule : rules) {
    std::vector<std::string> add = {"iptables", "-w", "-t", rule.table, rule.op, rule.chain};
    add.insert(add.end(), rule.spec.begin(), rule.spec.end());
    if (auto st = runProgram(add, ""); !st) {
      (void)removeRules(out);
      return fail(std::move(st).error());
    }
    std::vector<std::string> del = {"iptables", "-w", "-t", rule.table, "-D", rule.chain};
    del.insert(del.end(), rule.spec.begin(), rule.spec.end());
    out.undo.insert(out.undo.begin(), del);
  }
  return out;
}

}  // namespace

Result<std::string> firewallBackend() {
  if (const char* forced = std::getenv("STRATA_FIREWALL"); forced && *forced) {
    std::string b = forced;
    if (b != "nft" && b != "iptables")
      return failInvalid("STRATA_FIREWALL: \"" + b + "\" is not a firewall backend (nft or iptables)");
    TRYV(findProgram(b));
    return b;
  }
  if (findProgram("nft")) return std::string("nft");
  if (findProgram("iptables")) return std::string("iptables");
  return failInvalid("neither nft nor iptables is installed: bridge networking needs one of them");
}

Result<InstalledRules> installRules(const FirewallRequest& req) {
  std::string backend = TRY(firewallBackend());
  if (req.dnsTo) {
    // Packets to a loopback address arriving on the bridge are dropped unless this is on.
    const std::string path = "/proc/sys/net/ipv4/conf/" + req.bridge + "/route_localnet";
    TRYV(writeFileInPlace(path, "1\n"));
  }
  auto rules = backend == "nft" ? installNft(req) : installIptables(req);
  if (!rules) return fail(std::move(rules).error().wrap("set up NAT for " + req.bridge));
  return rules;
}

Status removeRules(const InstalledRules& rules) {
  Status result;
  for (const auto& argv : rules.undo) {
    auto st = runProgram(argv, rules.undoInput);
    if (!st && result) result = std::move(st);
  }
  return result;
}

}  // namespace strata::network
