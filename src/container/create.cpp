#include "container/create.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <set>

#include "container/networking.h"
#include "image/images.h"
#include "network/ports.h"
#include "runtime/caps.h"
#include "runtime/seccomp.h"
#include "util/format.h"
#include "util/fs.h"

namespace strata::container {

namespace {

void setEnv(std::vector<std::string>& env, const std::string& kv) {
  std::string key = kv.substr(0, kv.find('='));
  for (auto& e : env) {
    if (e.substr(0, e.find('=')) == key) {
      e = kv;
      return;
    }
  }
  env.push_back(kv);
}

// "-e KEY" takes KEY from our own environment, and is dropped when unset (as Docker does).
std::optional<std::string> envEntry(const std::string& text) {
  if (text.find('=') != std::string::npos) return text;
  const char* v = std::getenv(text.c_str());
  if (!v) return std::nullopt;
  return text + "=" + v;
}

Result<std::vector<std::string>> readEnvFile(const std::string& path) {
  std::string text = TRY_CTX(readFile(path), "--env-file");
  std::vector<std::string> out;
  size_t lineNo = 0;
  for (size_t pos = 0; pos <= text.size();) {
    size_t nl = text.find('\n', pos);
    std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? text.size() + 1 : nl + 1;
    ++lineNo;
    size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    line = line.substr(start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::string key = line.substr(0, line.find('='));
    if (key.find_first_of(" \t") != std::string::npos)
      return failInvalid(path + ":" + std::to_string(lineNo) + ": variable '" + key +
                         "' contains whitespaces");
    if (auto e = envEntry(line)) out.push_back(*e);
  }
  return out;
}

Result<int64_t> parseCpus(const std::string& text) {
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !(v > 0) || v > 1024)
    return failInvalid("invalid argument \"" + text + "\" for \"--cpus\" flag");
  return static_cast<int64_t>(std::llround(v * 1e9));
}

Result<BindMount> parseVolume(const std::string& spec) {
  std::vector<std::string> parts;
  for (size_t pos = 0;;) {
    size_t c = spec.find(':', pos);
    parts.push_back(spec.substr(pos, c == std::string::npos ? std::string::npos : c - pos));
    if (c == std::string::npos) break;
    pos = c + 1;
  }
  BindMount m;
  auto bad = [&](const std::string& why) {
    return failInvalid("invalid volume specification: '" + spec + "': " + why);
  };
  if (parts.size() == 1) {
    m.destination = parts[0];
    m.isVolume = true;  // anonymous volume; the name is chosen at create
  } else if (parts.size() == 2 || parts.size() == 3) {
    m.source = parts[0];
    m.destination = parts[1];
    if (parts.size() == 3) {
      if (parts[2] == "ro") m.readOnly = true;
      else if (parts[2] != "rw") return bad("unknown mode `" + parts[2] + "`");
    }
    m.isVolume = !m.source.empty() && m.source[0] != '/';
    if (m.source.empty()) return bad("empty source");
    if (m.isVolume && !validName(m.source) && m.source.size() != 1)
      return bad("invalid volume name `" + m.source + "`");
  } else {
    return bad("too many colons");
  }
  if (m.destination.empty() || m.destination[0] != '/')
    return bad("the destination must be an absolute path");
  if (m.destination == "/") return bad("the destination can't be '/'");
  return m;
}

// Docker's json.Compact: the same JSON without the white space between tokens.
std::string compactJson(std::string_view text) {
  std::string out;
  bool inString = false, escaped = false;
  for (char c : text) {
    if (inString) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        inString = false;
    } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      continue;
    } else if (c == '"') {
      inString = true;
    }
    out += c;
  }
  return out;
}

// A profile is read whole; this is far above Docker's default profile (about 20 KiB) and keeps
// a runaway source (/dev/zero) from eating memory.
constexpr size_t kMaxSeccompProfile = 4 << 20;

Result<std::string> readSeccompProfile(const std::string& path) {
  UniqueFd fd = TRY(openFile(path, O_RDONLY));
  std::string text;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return failErrno("read `" + path + "`");
    if (n == 0) return text;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > kMaxSeccompProfile)
      return failInvalid("`" + path + "` is larger than " +
                         std::to_string(kMaxSeccompProfile >> 20) + " MiB");
  }
}

// As Docker's CLI: `seccomp=FILE` becomes `seccomp=<FILE's JSON, compacted>`, read and checked
// now, so that the container never depends on the file again. Other options pass unchanged.
Result<std::string> inlineSeccompProfile(const std::string& opt) {
  auto eq = opt.find_first_of("=:");
  if (eq == std::string::npos || opt.compare(0, eq, "seccomp") != 0) return opt;
  const std::string file = opt.substr(eq + 1);
  if (file.empty() || file == "unconfined") return opt;
  const std::string ctx = "--security-opt " + opt;
  std::string text = TRY_CTX(readSeccompProfile(file), ctx);
  TRYV_CTX(runtime::seccomp::parseProfile(text), ctx);
  return "seccomp=" + compactJson(text);
}

}  // namespace

Result<std::vector<std::string>> userEnv(const std::vector<std::string>& env,
                                         const std::vector<std::string>& envFiles) {
  std::vector<std::string> out;
  for (const auto& f : envFiles)
    for (auto& e : TRY(readEnvFile(f))) out.push_back(std::move(e));
  for (const auto& e : env) {
    if (e.empty() || e[0] == '=') return failInvalid("invalid environment variable: " + e);
    if (auto entry = envEntry(e)) out.push_back(*entry);
  }
  return out;
}

Result<int64_t> parseMemory(const std::string& text) {
  if (text.empty()) return failInvalid("invalid argument \"\" for \"-m\" flag");
  auto parsed = parseRamSize(text);
  if (!parsed) return failInvalid("invalid argument \"" + text + "\" for \"-m\" flag: invalid size");
  double v = *parsed;
  if (v < 6 * 1024 * 1024) return failInvalid("Minimum memory limit allowed is 6MB");
  return static_cast<int64_t>(v);
}

Result<Security> securityOf(const HostConfig& h) {
  Security s;
  // "ALL" is every capability strata itself may grant.
  const uint64_t all = runtime::caps::available();
  s.capabilities = h.privileged ? all : runtime::defaultCapabilities();
  auto parseList = [](const std::vector<std::string>& names, const char* what) -> Result<uint64_t> {
    uint64_t set = 0;
    for (const auto& n : names) {
      auto bit = runtime::caps::parse(n);
      if (!bit) return failInvalid(std::string("invalid ") + what + ": " + bit.error().what());
      set |= *bit;
    }
    return set;
  };
  uint64_t add = TRY(parseList(h.capAdd, "CapAdd"));
  const uint64_t drop = TRY(parseList(h.capDrop, "CapDrop"));
  auto hasAll = [](const std::vector<std::string>& names) {
    return std::any_of(names.begin(), names.end(), [](const std::string& n) {
      return n == "ALL" || n == "all" || n == "CAP_ALL";
    });
  };
  const bool dropAll = hasAll(h.capDrop);
  if (hasAll(h.capAdd)) add = all;
  if (uint64_t missing = add & ~all)
    return failInvalid("invalid CapAdd: " + runtime::caps::names(missing).front() +
                       " is not in strata's own bounding set on this host");
  // Docker's order: --cap-drop ALL starts from nothing, --cap-add ALL from everything; the
  // added ones are then granted and the dropped ones taken away (an explicit add wins over
  // drop ALL).
  if (!h.privileged) {
    if (dropAll) s.capabilities = 0;
    s.capabilities |= add;
    if (!dropAll) s.capabilities &= ~drop;
  } else {
    s.seccomp = false;
    s.noNewPrivileges = false;
    s.maskPaths = false;
  }
  for (const auto& o : h.securityOpt) {
    auto eq = o.find_first_of("=:");
    std::string key = o.substr(0, eq), value = eq == std::string::npos ? "" : o.substr(eq + 1);
    if (key == "seccomp") {
      // Docker's last seccomp= wins; --privileged runs without a filter whatever it says.
      if (value.empty()) return failInvalid("invalid --security-opt: " + o);
      if (value == "unconfined") {
        s.seccomp = false;
        s.seccompProfile.reset();
      } else {
        // the profile's JSON, as inlineSeccompProfile() recorded it
        s.seccompProfile = TRY_CTX(runtime::seccomp::parseProfile(value), "--security-opt seccomp");
        s.seccomp = !h.privileged;
      }
    } else if (key == "no-new-privileges") {
      if (value.empty() || value == "true") s.noNewPrivileges = true;
      else if (value == "false") s.noNewPrivileges = false;
      else return failInvalid("invalid --security-opt 2: \"" + o + "\"");
    } else if ((key == "apparmor" || key == "label") && !value.empty()) {
      // strata loads no AppArmor or SELinux profile; these ask for none or for labels it
      // does not set, so there is nothing to do.
    } else {
      return failInvalid("invalid --security-opt 1: \"" + o + "\"");
    }
  }
  return s;
}

Result<Record> compose(const CreateOptions& opt, const image::Loaded& img, const std::string& id) {
  Record r;
  r.id = id;
  r.created = nowRfc3339Nano();
  r.image = img.record.id;
  r.imageName = opt.image;
  r.config = img.config.config;
  r.tty = opt.tty;
  r.openStdin = opt.interactive;
  oci::ContainerConfig& c = r.config;

  // Entrypoint and command, Docker's way.
  if (opt.entrypoint) {
    if (opt.entrypoint->empty()) c.entrypoint.reset();
    else c.entrypoint = std::vector<std::string>{*opt.entrypoint};
    c.cmd.reset();
  }
  if (!opt.command.empty()) c.cmd = opt.command;
  if (c.entrypoint) r.path = *c.entrypoint;
  if (c.cmd) r.path.insert(r.path.end(), c.cmd->begin(), c.cmd->end());
  if (r.path.empty()) return failInvalid("No command specified");

  r.hostname = opt.hostname.empty() ? id.substr(0, 12) : opt.hostname;
  if (opt.hostname.empty() && opt.network == "host") {
    // Sharing the host's network means sharing its name too, as Docker does.
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) == 0) r.hostname = host;
  }
  // The record keeps the image's and the user's variables; PATH, HOSTNAME and TERM are added
  // when the process starts (specFor), so they never leak into a committed image.
  std::vector<std::string> env = c.env;
  for (const auto& e : TRY(userEnv(opt.env, opt.envFiles))) setEnv(env, e);
  c.env = env;
  if (!opt.workdir.empty()) {
    if (opt.workdir[0] != '/')
      return failInvalid("the working directory '" + opt.workdir + "' is invalid, it needs to be an absolute path");
    c.workingDir = opt.workdir;
  }
  if (!opt.user.empty()) c.user = opt.user;
  if (!opt.stopSignal.empty()) c.stopSignal = opt.stopSignal;
  for (const auto& l : opt.labels) {
    auto eq = l.find('=');
    c.labels[l.substr(0, eq)] = eq == std::string::npos ? "" : l.substr(eq + 1);
  }

  HostConfig& h = r.host;
  h.networkMode = opt.network;  // resolved against the store by create()
  std::set<std::string> exposed(c.exposedPorts.begin(), c.exposedPorts.end());
  for (const auto& e : opt.expose) {
    auto ports = network::parsePortProto(e);
    if (!ports) return failInvalid("invalid argument \"" + e + "\" for \"--expose\" flag: " + ports.error().what());
    for (const auto& [port, proto] : *ports) exposed.insert(std::to_string(port) + "/" + proto);
  }
  for (const auto& p : opt.publish) {
    auto bindings = network::parsePublish(p);
    if (!bindings) return failInvalid("invalid argument \"" + p + "\" for \"-p, --publish\" flag: " + bindings.error().what());
    for (const auto& b : *bindings) {
      h.portBindings.push_back({b.containerPort, b.proto, b.hostIp, b.hostPort, b.hostPortEnd});
      exposed.insert(std::to_string(b.containerPort) + "/" + b.proto);
    }
  }
  h.publishAllPorts = opt.publishAll;
  h.capAdd = opt.capAdd;
  h.capDrop = opt.capDrop;
  h.privileged = opt.privileged;
  h.usernsMode = opt.userns;
  if (opt.userns == "auto") {
    // Docker's rules: both would hand the container the host's own privileges back.
    if (opt.privileged) return failInvalid("conflicting options: --privileged and --userns=auto");
    if (opt.network == "host") return failInvalid("conflicting options: --network host and --userns=auto");
  } else if (!opt.userns.empty() && opt.userns != "host") {
    return failInvalid("invalid argument \"" + opt.userns +
                       "\" for \"--userns\" flag: the modes are host and auto");
  }
  std::string seccompFile;
  for (const auto& o : opt.securityOpt) {
    h.securityOpt.push_back(TRY(inlineSeccompProfile(o)));
    if (h.securityOpt.back() != o) seccompFile = o;
  }
  const Security sec = TRY(securityOf(h));
  // Whatever libseccomp would refuse when the container starts is refused now.
  if (sec.seccomp && sec.seccompProfile)
    TRYV_CTX(runtime::seccomp::compile(*sec.seccompProfile, sec.capabilities),
             "--security-opt " + seccompFile);
  c.exposedPorts.assign(exposed.begin(), exposed.end());
  if (!opt.memory.empty()) h.memory = TRY(parseMemory(opt.memory));
  if (!opt.cpus.empty()) h.nanoCpus = TRY(parseCpus(opt.cpus));
  if (opt.pidsLimit < 0) return failInvalid("invalid argument for \"--pids-limit\" flag");
  h.pidsLimit = opt.pidsLimit;
  h.readonlyRootfs = opt.readOnly;
  h.autoRemove = opt.autoRemove;
  h.init = opt.init;
  std::string policy = opt.restart.substr(0, opt.restart.find(':'));
  if (policy != "no" && policy != "always" && policy != "unless-stopped" && policy != "on-failure")
    return failInvalid("invalid restart policy '" + opt.restart + "'");
  h.restartPolicy = policy;
  if (auto colon = opt.restart.find(':'); colon != std::string::npos) {
    if (policy != "on-failure")
      return failInvalid("invalid restart policy '" + opt.restart + "': maximum retry count can only be used with 'on-failure'");
    char* end = nullptr;
    long n = std::strtol(opt.restart.c_str() + colon + 1, &end, 10);
    if (*end != '\0' || n < 0) return failInvalid("invalid restart policy '" + opt.restart + "'");
    h.restartMaxRetries = static_cast<int>(n);
  }
  if (h.autoRemove && policy != "no")
    return failInvalid("conflicting options: --restart and --rm");
  for (const auto& v : opt.volumes) h.binds.push_back(TRY(parseVolume(v)));
  return r;
}

Result<Record> create(Containers& cs, const CreateOptions& opt) {
  store::Store& s = cs.store();
  if (!opt.name.empty() && !validName(opt.name))
    return failInvalid("Invalid container name (" + opt.name +
                       "), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
  auto rec = image::resolve(s, opt.image);
  if (!rec) {
    if (rec.error().what().rfind("No such image", 0) == 0) {
      auto ref = oci::Reference::parse(opt.image);
      return failInvalid("Unable to find image '" + (ref ? ref->familiar() : opt.image) +
                         "' locally");
    }
    return fail(std::move(rec).error());
  }
  image::Loaded img = TRY(image::load(s, *rec));
  std::string id = newContainerId();
  Record r = TRY(compose(opt, img, id));
  r.host.networkMode = TRY(resolveNetworkMode(cs, opt.network));
  if (r.host.networkMode.rfind("container:", 0) == 0) {
    if (!opt.hostname.empty()) return failInvalid("conflicting options: hostname and the network mode");
    if (!r.host.portBindings.empty() || r.host.publishAllPorts)
      return failInvalid("conflicting options: port publishing and the container type network mode");
    // Sharing a network namespace means sharing its name too, as Docker does.
    r.hostname = TRY(cs.load(r.host.networkMode.substr(10))).hostname;
  }
  r.name = opt.name.empty() ? randomName() : opt.name;
  std::optional<IdPool> idPool;
  if (r.host.usernsMode == "auto") idPool = TRY(loadIdPool());

  // Prepare the directory under tmp/, then move it into place: a failed create leaves nothing.
  FileLock tmpGuard = TRY(s.ingestGuard());
  TempDir staging = TRY(TempDir::create(s.tmpDir(), "ctr-"));
  Paths p{staging.path()};
  for (const auto& d : {p.upper(), p.work(), p.rootfs()}) TRYV(mkdirAll(d, 0755));
  // The init layer holds the mount points, so they never show in diff or commit.
  TRYV(runtime::writeMountPointLayer(p.init()));
  TRYV(writeFileReplace(p.hostname(), r.hostname + "\n"));
  // hosts and resolv.conf are written for each start (container/networking.h).
  std::vector<std::string> newVolumes;
  for (auto& b : r.host.binds) {
    if (b.isVolume) {
      if (b.source.empty()) b.source = newContainerId();  // anonymous volume
      std::string data = s.layout().root() + "/volumes/" + b.source + "/_data";
      if (!pathExists(data)) newVolumes.push_back(data);
      TRYV(mkdirAll(data, 0755));
    } else if (!pathExists(b.source)) {
      TRYV_CTX(mkdirAll(b.source, 0755), "bind mount source");  // Docker creates it
    }
  }
  std::string dest = cs.paths(id).dir;
  if (::rename(staging.path().c_str(), dest.c_str()) < 0)
    return failErrno("create container directory `" + dest + "`");
  staging.release();
  if (auto st = cs.add(r, opt.name.empty(), idPool); !st) {
    (void)removeAll(dest);
    return fail(std::move(st).error());
  }
  if (r.idMapping) {
    // A volume made for a container with its own user namespace belongs to its root (its
    // block is known only now, under the containers lock).
    for (const std::string& v : newVolumes) {
      if (::lchown(v.c_str(), r.idMapping->hostUid, r.idMapping->hostGid) < 0) {
        Error e = Error::fromErrno("chown volume `" + v + "`");
        (void)cs.remove(r.id);
        return fail(std::move(e));
      }
    }
  }
  return r;
}

std::vector<std::string> processEnv(const Record& r) {
  std::vector<std::string> env;
  bool hasPath = false;
  for (const auto& e : r.config.env) hasPath = hasPath || e.rfind("PATH=", 0) == 0;
  if (!hasPath) env.push_back(runtime::kDefaultPath);
  env.push_back("HOSTNAME=" + r.hostname);
  if (r.tty) env.push_back("TERM=xterm");
  for (const auto& e : r.config.env) setEnv(env, e);
  return env;
}

Result<std::vector<std::string>> layerDirs(const Containers& cs, const Record& r, bool withInit) {
  const store::Store& s = cs.store();
  std::string text = TRY(s.readBlob(r.image));
  oci::ImageConfig cfg = TRY_CTX(oci::parseImageConfig(text), "image " + r.image.str());
  std::vector<std::string> dirs;
  if (withInit) dirs.push_back(cs.paths(r.id).init());
  for (auto it = cfg.diffIds.rbegin(); it != cfg.diffIds.rend(); ++it) {
    if (!s.hasLayer(it->hex))
      return failInvalid("layer " + it->str() + " of image " + r.image.str() + " is missing from the store");
    dirs.push_back(s.layout().layerTree(it->hex));
  }
  return dirs;
}

Result<runtime::Spec> specFor(const Containers& cs, const Record& r) {
  const store::Store& s = cs.store();
  Paths p = cs.paths(r.id);
  runtime::Spec spec;
  spec.id = r.id;
  spec.args = r.path;
  spec.env = processEnv(r);
  spec.cwd = r.config.workingDir.empty() ? "/" : r.config.workingDir;
  spec.user = r.config.user;
  spec.tty = r.tty;
  spec.init = r.host.init;
  spec.rootfs.lowerDirs = TRY(layerDirs(cs, r, /*withInit=*/true));
  spec.rootfs.upperDir = p.upper();
  spec.rootfs.workDir = p.work();
  spec.rootfsMountPoint = p.rootfs();
  spec.readonlyRootfs = r.host.readonlyRootfs;
  spec.hostname = r.hostname;
  spec.mounts.push_back({p.hostname(), "/etc/hostname", "bind", {"rbind"}});
  spec.mounts.push_back({p.hosts(), "/etc/hosts", "bind", {"rbind"}});
  spec.mounts.push_back({p.resolvConf(), "/etc/resolv.conf", "bind", {"rbind"}});
  for (const auto& b : r.host.binds) {
    std::string src = b.isVolume ? s.layout().root() + "/volumes/" + b.source + "/_data" : b.source;
    std::vector<std::string> o{"rbind"};
    if (b.readOnly) o.push_back("ro");
    spec.mounts.push_back({src, b.destination, "bind", o});
  }
  const Security sec = TRY(securityOf(r.host));
  if (sec.maskPaths) {
    spec.maskedPaths = runtime::defaultMaskedPaths();
    spec.readonlyPaths = runtime::defaultReadonlyPaths();
  }
  spec.capabilities = sec.capabilities;
  spec.seccomp = sec.seccomp;
  if (sec.seccomp) spec.seccompProfile = sec.seccompProfile;
  spec.noNewPrivileges = sec.noNewPrivileges;
  spec.userns = r.idMapping;
  // spec.network and the name-service files come from NetworkRun::prepare (networking.h).
  if (r.host.memory > 0) spec.resources.memoryBytes = r.host.memory;
  if (r.host.nanoCpus > 0) spec.resources.cpuQuotaUs = r.host.nanoCpus * spec.resources.cpuPeriodUs / 1000000000;
  if (r.host.pidsLimit > 0) spec.resources.pidsLimit = r.host.pidsLimit;
  return spec;
}

}  // namespace strata::container
