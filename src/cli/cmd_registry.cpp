// pull, push, login, logout: talking to registries.
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "cli/common.h"
#include "image/images.h"
#include "registry/auth.h"
#include "registry/client.h"
#include "registry/pull.h"
#include "registry/push.h"
#include "registry/server/server.h"
#include "util/format.h"
#include "util/fs.h"

namespace strata::cli {
namespace {

// Whether the name as typed carries a tag or a digest ("busybox" does not; "reg:5000/a" does not).
bool namesTagOrDigest(const std::string& text) {
  if (text.find('@') != std::string::npos) return true;
  const size_t slash = text.rfind('/');
  return text.find(':', slash == std::string::npos ? 0 : slash) != std::string::npos;
}

// A registry as users type it for login/logout: "localhost:5000", "https://reg.example/v2/".
std::string registryDomain(std::string text) {
  for (const char* scheme : {"https://", "http://"})
    if (text.rfind(scheme, 0) == 0) text = text.substr(std::string(scheme).size());
  text = text.substr(0, text.find('/'));
  if (text.empty() || text == "index.docker.io" || text == "registry-1.docker.io") return "docker.io";
  return text;
}

Result<std::string> promptLine(const char* prompt, bool echo) {
  if (!::isatty(STDIN_FILENO))
    return failInvalid("cannot perform an interactive login from a non TTY device");
  std::fprintf(stderr, "%s", prompt);
  std::fflush(stderr);
  termios saved{};
  const bool hide = !echo && ::tcgetattr(STDIN_FILENO, &saved) == 0;
  if (hide) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  std::string line;
  std::getline(std::cin, line);
  if (hide) {
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    std::fprintf(stderr, "\n");
  }
  return line;
}

}  // namespace

int cmdPull(const Globals& g, const std::vector<std::string>& argv) {
  bool allTags = false, quiet = false, trust = false;
  PullSettings settings;
  FlagSet flags("pull");
  flags.boolean("all-tags", 'a', &allTags, "Download all tagged images in the repository");
  flags.boolean("disable-content-trust", 0, &trust, "Skip image verification (always skipped)");
  flags.string("platform", 0, &settings.platform, "Set platform if server is multi-platform capable");
  flags.boolean("quiet", 'q', &quiet, "Suppress verbose output");
  Parsed p = parseFlags(flags, argv, "pull [OPTIONS] NAME[:TAG|@DIGEST]",
                        "Download an image from a registry");
  if (p.done) return p.status;
  int status = 0;
  if (!checkArgs("pull", p.args, 1, 1, status)) return status;
  settings.quiet = quiet;
  const std::string& name = p.args[0];
  auto ref = oci::Reference::parse(name);
  if (!ref) return reportError(ref.error());
  if (allTags && namesTagOrDigest(name)) return reportError("tag can't be used with --all-tags/-a");
  if (auto platform = registry::parsePlatform(settings.platform); !platform) return reportError(platform.error());
  auto s = openStore(g);
  if (!s) return reportError(s.error());

  if (!allTags) {
    if (!namesTagOrDigest(name) && !quiet) std::printf("Using default tag: latest\n");
    auto rec = pullImage(g, *s, name, settings);
    if (!rec) return reportError(rec.error());
    std::printf("%s\n", ref->str().c_str());
    return 0;
  }
  auto client = registry::connectConfigured(ref->domain, g.insecureRegistries);
  if (!client) return reportError(client.error().wrap("pull " + ref->familiarRepository()));
  (*client)->addScope("repository:" + ref->path + ":pull");
  auto tags = (*client)->listTags(ref->path);
  if (!tags) return reportError(tags.error().wrap("pull " + ref->familiarRepository()));
  for (const auto& tag : *tags) {
    auto rec = pullImage(g, *s, ref->repository() + ":" + tag, settings);
    if (!rec) return reportError(rec.error());
  }
  std::printf("%s\n", ref->repository().c_str());
  return 0;
}

int cmdPush(const Globals& g, const std::vector<std::string>& argv) {
  bool allTags = false, quiet = false, trust = false;
  std::string compression;
  FlagSet flags("push");
  flags.boolean("all-tags", 'a', &allTags, "Push all tagged images in the repository");
  flags.string("compression", 0, &compression, "Compression for layers stored uncompressed (gzip, zstd)");
  flags.boolean("disable-content-trust", 0, &trust, "Skip image signing (always skipped)");
  flags.boolean("quiet", 'q', &quiet, "Suppress verbose output");
  Parsed p = parseFlags(flags, argv, "push [OPTIONS] NAME[:TAG]", "Upload an image to a registry");
  if (p.done) return p.status;
  int status = 0;
  if (!checkArgs("push", p.args, 1, 1, status)) return status;
  const std::string& name = p.args[0];
  auto ref = oci::Reference::parse(name);
  if (!ref) return reportError(ref.error());
  if (ref->digest) return reportError("push " + name + ": cannot push a digest reference");
  if (allTags && namesTagOrDigest(name)) return reportError("tag can't be used with --all-tags/-a");
  registry::PushOptions opt;
  if (compression == "zstd") opt.compression = layer::Compression::Zstd;
  else if (!compression.empty() && compression != "gzip")
    return reportError("invalid --compression \"" + compression + "\": expected gzip or zstd");
  opt.forceCompression = !compression.empty();
  auto s = openStore(g);
  if (!s) return reportError(s.error());

  // What to push: the named tag, or with -a every local tag of the repository.
  std::vector<std::pair<oci::Reference, store::ImageRecord>> work;
  if (allTags) {
    auto recs = s->images();
    if (!recs) return reportError(recs.error());
    for (const auto& r : *recs)
      for (const auto& t : r.tags)
        if (auto tr = oci::Reference::parse(t); tr && tr->repository() == ref->repository()) work.push_back({*tr, r});
    if (work.empty()) return reportError("An image does not exist locally with the tag: " + ref->familiarRepository());
  } else {
    if (!namesTagOrDigest(name) && !quiet) std::printf("Using default tag: latest\n");
    auto rec = image::resolve(*s, ref->str());
    if (!rec) return reportError("An image does not exist locally with the tag: " + ref->familiar());
    work.push_back({*ref, *rec});
  }
  auto client = registry::connectConfigured(ref->domain, g.insecureRegistries);
  if (!client) return reportError(client.error().wrap("push " + ref->familiarRepository()));
  registry::Progress progress(quiet ? nullptr : stdout, !quiet && ::isatty(STDOUT_FILENO));
  progress.message("The push refers to repository [" + ref->familiarRepository() + "]");
  for (const auto& [target, rec] : work) {
    auto r = registry::push(*s, **client, rec, target, opt, progress);
    if (!r) return reportError(r.error());
    progress.message(target.tag + ": digest: " + r->digest.str() + " size: " + std::to_string(r->size));
  }
  if (quiet) std::printf("%s\n", ref->familiar().c_str());
  return 0;
}

int cmdLogin(const Globals& g, const std::vector<std::string>& argv) {
  registry::Credentials creds;
  bool passwordStdin = false;
  FlagSet flags("login");
  flags.string("username", 'u', &creds.username, "Username");
  flags.string("password", 'p', &creds.password, "Password");
  flags.boolean("password-stdin", 0, &passwordStdin, "Take the password from stdin");
  Parsed p = parseFlags(flags, argv, "login [OPTIONS] [SERVER]",
                        "Log in to a registry.\nIf no server is specified, the default is docker.io.");
  if (p.done) return p.status;
  int status = 0;
  if (!checkArgs("login", p.args, 0, 1, status)) return status;
  const std::string domain = registryDomain(p.args.empty() ? "" : p.args[0]);
  if (passwordStdin) {
    if (!creds.password.empty()) return reportError("--password and --password-stdin are mutually exclusive");
    if (creds.username.empty()) return reportError("Must provide --username with --password-stdin");
    auto all = readAll(STDIN_FILENO);
    if (!all) return reportError(all.error().wrap("read password from stdin"));
    creds.password = *all;
    while (!creds.password.empty() && (creds.password.back() == '\n' || creds.password.back() == '\r'))
      creds.password.pop_back();
  } else if (!creds.password.empty()) {
    std::fprintf(stderr, "WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n");
  }
  if (creds.username.empty()) {
    auto line = promptLine("Username: ", true);
    if (!line) return reportError(line.error());
    creds.username = *line;
  }
  if (creds.password.empty()) {
    auto line = promptLine("Password: ", false);
    if (!line) return reportError(line.error());
    creds.password = *line;
  }
  if (creds.username.empty() || creds.password.empty())
    return reportError("login to " + domain + ": username and password are required");

  auto store = registry::CredentialStore::load();
  if (!store) return reportError(store.error());
  registry::Options opt = registry::configuredOptions(*store, domain, g.insecureRegistries);
  opt.credentials = creds;  // the ones being checked, not those stored
  auto client = registry::Client::connect(domain, opt);
  if (!client) return reportError(client.error().wrap("login to " + domain));
  if (auto st = (*client)->checkLogin(); !st) return reportError(st.error());
  if (auto st = store->save(domain, creds); !st) return reportError(st.error());
  std::printf("Login Succeeded\n");
  return 0;
}

int cmdLogout(const Globals&, const std::vector<std::string>& argv) {
  FlagSet flags("logout");
  Parsed p = parseFlags(flags, argv, "logout [SERVER]",
                        "Log out from a registry.\nIf no server is specified, the default is docker.io.");
  if (p.done) return p.status;
  int status = 0;
  if (!checkArgs("logout", p.args, 0, 1, status)) return status;
  const std::string domain = registryDomain(p.args.empty() ? "" : p.args[0]);
  auto store = registry::CredentialStore::load();
  if (!store) return reportError(store.error());
  auto erased = store->erase(domain);
  if (!erased) return reportError(erased.error());
  if (*erased) std::printf("Removing login credentials for %s\n", registry::credentialKey(domain).c_str());
  else std::printf("Not logged in to %s\n", registry::credentialKey(domain).c_str());
  return 0;
}

int cmdRegistryServe(const Globals&, const std::vector<std::string>& argv) {
  registry::server::ServeOptions opt;
  bool quiet = false;
  FlagSet flags("registry serve");
  flags.string("addr", 0, &opt.addr, "Address to listen on, HOST:PORT (default 127.0.0.1:5000)");
  flags.string("storage", 0, &opt.storage, "Directory holding the registry's content (required)");
  flags.string("tls-cert", 0, &opt.tlsCert, "TLS certificate (PEM); with --tls-key, serve HTTPS");
  flags.string("tls-key", 0, &opt.tlsKey, "TLS private key (PEM)");
  flags.string("htpasswd", 0, &opt.htpasswd, "Require users from this htpasswd file (bcrypt)");
  flags.boolean("token-auth", 0, &opt.tokenAuth, "With --htpasswd, use the Bearer token flow (/token)");
  flags.boolean("read-only", 0, &opt.readOnly, "Refuse pushes and deletes");
  flags.boolean("delete", 0, &opt.allowDelete, "Allow deleting manifests, tags and blobs");
  flags.boolean("quiet", 'q', &quiet, "Do not log requests");
  Parsed p = parseFlags(flags, argv, "registry serve --storage DIR [OPTIONS]",
                        "Serve a registry (OCI distribution API) from a storage directory");
  if (p.done) return p.status;
  int status = 0;
  if (!checkArgs("registry serve", p.args, 0, 0, status)) return status;
  if (quiet) opt.log = nullptr;
  if (auto st = registry::server::serve(opt); !st) return reportError(st.error().wrap("registry serve"));
  return 0;
}

int cmdRegistryGc(const Globals&, const std::vector<std::string>& argv) {
  std::string storage;
  FlagSet flags("registry gc");
  flags.string("storage", 0, &storage, "Directory holding the registry's content (required)");
  Parsed p = parseFlags(flags, argv, "registry gc --storage DIR",
                        "Remove blobs no manifest references (run it while nothing is pushed)");
  if (p.done) return p.status;
  int status = 0;
  if (!checkArgs("registry gc", p.args, 0, 0, status)) return status;
  if (storage.empty()) return reportError("registry gc: --storage is required");
  auto r = registry::server::collectGarbage(storage);
  if (!r) return reportError(r.error().wrap("registry gc"));
  std::printf("Deleted blobs: %llu\nTotal reclaimed space: %s\n",
              static_cast<unsigned long long>(r->blobsRemoved),
              humanSize(static_cast<double>(r->bytesFreed)).c_str());
  return 0;
}

}  // namespace strata::cli
