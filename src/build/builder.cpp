// The build driver: plan, then each needed stage in order, each instruction as BuildKit's
// dispatcher runs it, every step's resulting image state recorded in the build cache.
#include "build/builder.h"

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>

#include <atomic>
#include <charconv>
#include <future>
#include <mutex>
#include <thread>
#include <filesystem>
#include <functional>
#include <optional>

#include "build/cache.h"
#include "build/context.h"
#include "build/copy_step.h"
#include "build/fetch.h"
#include "build/lower_stack.h"
#include "build/plan.h"
#include "build/run_step.h"
#include "network/networks.h"
#include "dockerfile/apply.h"
#include "dockerfile/ignore.h"
#include "dockerfile/text.h"
#include "image/images.h"
#include "layer/compression.h"
#include "oci/media_types.h"
#include "runtime/spec.h"
#include "util/format.h"
#include "util/fs.h"
#include "util/path.h"
#include "util/sha256.h"

namespace strata::build {
namespace {

using dockerfile::Vars;

constexpr const char* kHistoryComment = "buildkit.dockerfile.v0";
constexpr uint64_t kMaxDownload = uint64_t(8) << 30;  // ADD of a URL: 8 GiB at most

// A stage's ARGs in declaration order; a value is absent when neither a default, a --build-arg
// nor a global ARG gave one.
struct StageArgs {
  std::vector<std::pair<std::string, std::optional<std::string>>> declared;

  Vars inScope() const {
    Vars out;
    for (const auto& [k, v] : declared)
      if (v) out[k] = *v;
    return out;
  }
  void declare(const std::string& key, std::optional<std::string> value) {
    for (auto& [k, v] : declared)
      if (k == key) {
        v = std::move(value);
        return;
      }
    declared.emplace_back(key, std::move(value));
  }
};

struct StageResult {
  ImageState state;
  std::string key;
};

bool hasEnv(const std::vector<std::string>& env, std::string_view key) {
  for (const std::string& e : env)
    if (e.size() > key.size() && e.compare(0, key.size(), key) == 0 && e[key.size()] == '=') return true;
  return false;
}

class Builder {
 public:
  Builder(store::Store& s, const BuildOptions& opt, Progress& progress, const dockerfile::Dockerfile& file,
          const Plan& plan, Context& context, std::string fileName)
      : store_(s), opt_(opt), progress_(progress), file_(file), plan_(plan), context_(context),
        cache_(s), fileName_(std::move(fileName)) {}

  std::atomic<bool> stepFailed = false;

  // Every needed stage runs on a thread of its own as soon as the stages it uses are done, so
  // independent stages build in parallel. A stage whose dependency failed fails with its error;
  // the target's result (or the first error in plan order) is returned once all have finished.
  Result<StageResult> run() {
    std::map<std::size_t, std::promise<Result<StageResult>>> promises;
    for (std::size_t index : plan_.order) {
      promises[index];
      results_[index] = promises[index].get_future().share();
    }
    std::vector<std::thread> threads;
    for (std::size_t index : plan_.order) {
      threads.emplace_back([this, index, &promises] {
        for (std::size_t dep : plan_.stages[index].dependsOn) {
          const Result<StageResult>& d = results_.at(dep).get();
          if (!d) {
            promises[index].set_value(fail(d.error()));
            return;
          }
        }
        promises[index].set_value(buildStage(index));
      });
    }
    for (std::thread& t : threads) t.join();
    for (std::size_t index : plan_.order)
      if (const Result<StageResult>& r = results_.at(index).get(); !r) return fail(r.error());
    return results_.at(plan_.target).get();
  }

  // The finished result of a stage this one depends on (run() has waited for it).
  const StageResult& stageResult(std::size_t index) const { return *results_.at(index).get(); }

 private:
  std::string located(int line, const std::string& message) const {
    return fmt::format("{}:{}: {}", fileName_, line, message);
  }

  // The image a build names: from the store, or pulled when missing (or always, with refresh).
  Result<store::ImageRecord> imageNamed(const std::string& name, bool refresh) {
    if (!refresh || !opt_.pullImage) {
      auto record = image::resolve(store_, name);
      if (record || !opt_.pullImage) return record;
    }
    return opt_.pullImage(name);
  }

  Result<StageResult> baseOf(const PlannedStage& p) {
    StageResult r;
    switch (p.base) {
      case PlannedStage::Base::Scratch:
        r.key = "scratch";
        break;
      case PlannedStage::Base::Stage:
        r = stageResult(p.baseStage);
        break;
      case PlannedStage::Base::Image: {
        auto record = imageNamed(p.image, opt_.pull);
        if (!record)
          return failInvalid(fmt::format("{}: base image \"{}\": {}",
                                         located(file_.stages[p.index].startLine, "FROM"), p.image,
                                         record.error().what()));
        image::Loaded loaded = TRY(image::load(store_, *record));
        r.state.config = loaded.config;
        for (std::size_t i = 0; i < loaded.manifest.layers.size() && i < loaded.config.diffIds.size(); ++i)
          r.state.layers.push_back({loaded.manifest.layers[i], loaded.config.diffIds[i]});
        r.key = "image:" + record->id.str();
        break;
      }
    }
    // A built image starts its own top-level metadata: the base's comment does not carry over.
    r.state.config.comment.clear();
    r.state.config.dockerVersion.clear();
    oci::ContainerConfig& c = r.state.config.config;
    if (!hasEnv(c.env, "PATH")) c.env.insert(c.env.begin(), runtime::kDefaultPath);
    return r;
  }

  std::vector<std::string> layerDirs(const ImageState& state) {
    std::vector<std::string> trees;
    for (const auto& l : state.layers) trees.push_back(store_.layout().layerTree(l.diffId.hex));
    return lowers_.lowerDirs(trees);
  }

  // Adds a history entry (and the layer, when the step made one) to the state.
  void commit(ImageState& state, const std::string& createdBy, const std::optional<image::LayerDesc>& layer) {
    oci::HistoryEntry h;
    h.created = nowRfc3339Nano();
    h.createdBy = createdBy;
    h.comment = kHistoryComment;
    h.emptyLayer = !layer;
    state.config.history.push_back(h);
    state.config.created = h.created;
    if (layer) {
      state.config.diffIds.push_back(layer->diffId);
      state.layers.push_back({layer->blob, layer->diffId});
    }
  }

  // Looks the step up in the cache, or runs it and records the result.
  template <typename F>
  Status step(StageResult& r, const std::string& description, int vertex, F&& execute) {
    const std::string key = chainKey(r.key, description);
    if (!opt_.noCache) {
      if (auto hit = TRY(cache_.lookup(key, r.state))) {
        if (vertex) progress_.cached(vertex);
        r.state = std::move(*hit);
        r.key = key;
        return {};
      }
    }
    TRYV(execute(r.state));
    TRYV(cache_.record(key, r.state));
    r.key = key;
    if (vertex) progress_.done(vertex);
    return {};
  }

  Result<StageResult> buildStage(std::size_t index) {
    const PlannedStage& p = plan_.stages[index];
    const dockerfile::Stage& stage = file_.stages[index];
    StageResult r = TRY(baseOf(p));
    StageArgs args;
    dockerfile::StageFacts facts;
    const std::string label = stageLabel(p);
    const std::size_t total = 1 + fileSteps(stage.commands);
    std::size_t number = 1;
    const int from = progress_.begin(fmt::format("[{}{}/{}] {}", label, number, total, stage.original));
    progress_.done(from);

    // ONBUILD triggers of the base run first; the new image does not inherit them.
    std::vector<std::string> triggers = r.state.config.config.onBuild;
    r.state.config.config.onBuild.clear();
    for (const std::string& trigger : triggers) {
      auto ast = dockerfile::parse(trigger + "\n");
      if (!ast) return failInvalid(located(stage.startLine, "ONBUILD trigger: " + ast.error().message()));
      for (const dockerfile::Node& node : ast->instructions) {
        dockerfile::Command command = TRY_CTX(dockerfile::readCommand(node), located(stage.startLine, "ONBUILD trigger"));
        command.startLine = stage.startLine;
        TRYV(dispatch(r, args, facts, command, index, label, total, number));
      }
    }
    for (const dockerfile::Command& command : stage.commands)
      TRYV(dispatch(r, args, facts, command, index, label, total, number));
    return r;
  }

  static std::size_t fileSteps(const std::vector<dockerfile::Command>& commands) {
    std::size_t n = 0;
    for (const dockerfile::Command& c : commands)
      n += std::holds_alternative<dockerfile::RunInstruction>(c.instruction) ||
           std::holds_alternative<dockerfile::CopyInstruction>(c.instruction) ||
           std::holds_alternative<dockerfile::AddInstruction>(c.instruction) ||
           std::holds_alternative<dockerfile::WorkdirInstruction>(c.instruction);
    return n;
  }

  std::string stageLabel(const PlannedStage& p) const {
    if (p.index == plan_.target && p.name.empty()) return "";
    return (p.name.empty() ? "stage-" + std::to_string(p.index) : p.name) + " ";
  }

  Status dispatch(StageResult& r, StageArgs& args, dockerfile::StageFacts& facts,
                  const dockerfile::Command& command, std::size_t stageIndex, const std::string& label,
                  std::size_t total, std::size_t& number) {
    const auto at = [&](const Error& e) { return fail(Error(e.code(), located(command.startLine, e.message()))); };
    const dockerfile::Instruction& ins = command.instruction;
    const dockerfile::ShellLexer lexer(dockerfile::ShellOptions{.escape = file_.escape});
    const Vars scope = dockerfile::expansionVars(args.inScope(), r.state.config.config.env);

    if (const auto* arg = std::get_if<dockerfile::ArgInstruction>(&ins)) {
      std::string history = "ARG";
      for (const dockerfile::ArgDecl& d : arg->args) {
        std::optional<std::string> value;
        if (auto it = opt_.buildArgs.find(d.key); it != opt_.buildArgs.end()) {
          value = it->second;
        } else if (d.value) {
          auto v = lexer.processWord(*d.value, scope);
          if (!v) return at(v.error());
          value = *v;
        } else if (auto g = plan_.globalArgs.find(d.key); g != plan_.globalArgs.end()) {
          value = g->second;
        } else if (auto pa = platformArgs({}, {}); pa.contains(d.key)) {
          value = pa.at(d.key);
        }
        args.declare(d.key, value);
        history += " " + d.key + (d.value ? "=" + *d.value : "");
      }
      return step(r, "arg\n" + history + "\n" + (args.inScope().empty() ? "" : serializeArgs(args)), 0,
                  [&](ImageState& state) -> Status {
                    commit(state, history, std::nullopt);
                    return {};
                  });
    }
    if (std::holds_alternative<dockerfile::OnbuildInstruction>(ins)) {
      // Recorded in the config only: BuildKit writes no history entry for ONBUILD.
      return step(r, "onbuild\n" + command.original, 0, [&](ImageState& state) -> Status {
        auto applied = dockerfile::applyMetadata(state.config, facts, ins, args.inScope(), file_.escape);
        if (!applied) return at(applied.error());
        return {};
      });
    }
    if (std::holds_alternative<dockerfile::WorkdirInstruction>(ins)) {
      ImageState probe = r.state;
      auto history = dockerfile::applyMetadata(probe.config, facts, ins, args.inScope(), file_.escape);
      if (!history) return at(history.error());
      const std::string dir = probe.config.config.workingDir;
      const int vertex = progress_.begin(fmt::format("[{}{}/{}] {}", label, ++number, total, command.original));
      return step(r, "workdir\n" + *history, vertex, [&](ImageState& state) -> Status {
        state.config.config.workingDir = dir;
        CopyStep mk;
        mk.lowerDirs = layerDirs(state);
        mk.contextRoot = context_.root();
        mk.dest = dir == "/" ? "/" : dir + "/";
        auto layer = runInUpper([&](const std::string& upper) { return copyStep(mk, upper, store_.tmpDir()); });
        if (!layer) return at(layer.error());
        commit(state, *history, *layer);
        return {};
      });
    }
    if (dockerfile::isMetadata(ins)) {
      // Stage facts change whether the step runs or comes from the cache.
      const bool setsCmd = std::holds_alternative<dockerfile::CmdInstruction>(ins);
      const dockerfile::StageFacts before = facts;
      if (setsCmd) facts.cmdSet = true;
      return step(r, "meta\n" + command.original + "\n" + serializeArgs(args), 0,
                  [&](ImageState& state) -> Status {
                    dockerfile::StageFacts applied = before;
                    auto history = dockerfile::applyMetadata(state.config, applied, ins, args.inScope(), file_.escape);
                    if (!history) return at(history.error());
                    if (setsCmd) state.config.config.argsEscaped = true;
                    commit(state, *history, std::nullopt);
                    return {};
                  });
    }
    // RUN, COPY and ADD: a numbered step whose failure is shown under it, then returned.
    const auto fileStep = [&](const std::function<Status(int)>& fn) -> Status {
      const int vertex = progress_.begin(fmt::format("[{}{}/{}] {}", label, ++number, total, command.original));
      auto st = fn(vertex);
      if (!st) {
        progress_.error(vertex, st.error().message());
        return at(st.error());
      }
      return {};
    };
    if (const auto* run = std::get_if<dockerfile::RunInstruction>(&ins)) {
      if (run->security == "insecure") return at(Error::invalid("RUN --security=insecure is not supported"));
      return fileStep([&](int vertex) { return runInstruction(r, args, *run, vertex); });
    }
    if (const auto* copy = std::get_if<dockerfile::CopyInstruction>(&ins)) {
      if (copy->parents) return at(Error::invalid("COPY --parents is not supported yet"));
      const CopyFlags flags{copy->from, copy->chown, copy->chmod, copy->link, "COPY", "", copy->excludes};
      return fileStep([&](int vertex) { return copyInstruction(r, args, copy->paths, flags, stageIndex, vertex); });
    }
    if (const auto* add = std::get_if<dockerfile::AddInstruction>(&ins)) {
      std::size_t urls = 0;
      for (const std::string& src : add->paths.sources)
        if (isUrl(src)) ++urls;
      if (!add->checksum.empty() && (urls != 1 || add->paths.sources.size() != 1))
        return at(Error::invalid("ADD --checksum can only be used with one HTTP(S) source"));
      if (add->keepGitDir) return at(Error::invalid("ADD --keep-git-dir can only be used with Git sources"));
      const CopyFlags flags{"", add->chown, add->chmod, add->link, "ADD", add->checksum, add->excludes};
      return fileStep([&](int vertex) { return copyInstruction(r, args, add->paths, flags, stageIndex, vertex); });
    }
    return at(Error::invalid("unsupported instruction " + command.keyword));
  }

  static std::string serializeArgs(const StageArgs& args) {
    std::string out;
    for (const auto& [k, v] : args.declared) out += k + (v ? "=" + *v : "") + "\n";
    return out;
  }

  // Runs fn on a fresh upper directory and stores what it left there as a layer.
  Result<image::LayerDesc> runInUpper(const std::function<Status(const std::string&)>& fn) {
    TempDir upper = TRY(TempDir::create(store_.tmpDir(), "upper-"));
    // The upper dir's own mode becomes the mode of "/" in the step's file system.
    if (::chmod(upper.path().c_str(), 0755) < 0) return failErrno("chmod `" + upper.path() + "`");
    TRYV(fn(upper.path()));
    return image::addLayerAdoptingDir(store_, upper.path());
  }

  Status runInstruction(StageResult& r, const StageArgs& args, const dockerfile::RunInstruction& run, int vertex) {
    const oci::ContainerConfig& c = r.state.config.config;
    std::vector<std::string> argv = dockerfile::commandArgs(run.command, c.shell);
    if (!run.command.files.empty()) {
      if (!run.command.shellForm) return failInvalid("heredocs need the shell form of RUN");
      // The heredoc bodies follow the command line, as a shell script would have them.
      std::string script = run.command.args.at(0);
      for (const dockerfile::Heredoc& doc : run.command.files) {
        if (doc.content.starts_with("#!")) return failInvalid("RUN heredocs with #! are not supported yet");
        script += "\n" + (doc.chomp ? dockerfile::chompHeredoc(doc.content) : doc.content) + doc.name;
      }
      const std::string marker = std::string(dockerfile::text::trim(run.command.args.at(0)));
      auto only = dockerfile::parseHeredocMarker(marker);
      if (only && *only && run.command.files.size() == 1) {
        // `RUN <<EOF`: the body is the script.
        const dockerfile::Heredoc& doc = run.command.files[0];
        script = doc.chomp ? dockerfile::chompHeredoc(doc.content) : doc.content;
      }
      argv = c.shell.empty() ? std::vector<std::string>{"/bin/sh", "-c"} : c.shell;
      argv.push_back(script);
    }
    std::vector<std::string> env = c.env;
    std::string history = "RUN ";
    if (!args.declared.empty()) {
      history += fmt::format("|{}", args.declared.size());
      for (const auto& [k, v] : args.declared) {
        history += " " + k + "=" + v.value_or("");
        if (v && !hasEnv(env, k)) env.push_back(k + "=" + *v);
      }
      history += " ";
    }
    for (std::size_t i = 0; i < argv.size(); ++i) history += (i ? " " : "") + argv[i];
    history += " # buildkit";
    std::vector<runtime::Mount> mounts;
    std::string mountKey;
    for (const dockerfile::Mount& m : run.mounts) {
      auto mount = TRY(runMount(m, c.workingDir, mountKey));
      mounts.push_back(std::move(mount));
    }
    std::string network = run.network.empty() ? opt_.network : run.network;
    // "default" is the default bridge network, as `docker build` uses it.
    const runtime::NetworkMode mode = network == "none"   ? runtime::NetworkMode::None
                                      : network == "host" ? runtime::NetworkMode::Host
                                                          : runtime::NetworkMode::Bridge;
    return step(r, "run\n" + history + "\nnetwork=" + network + "\n" + mountKey, vertex, [&](ImageState& state) -> Status {
      RunStep rs;
      rs.args = argv;
      rs.env = env;
      rs.cwd = c.workingDir.empty() ? "/" : c.workingDir;
      rs.user = c.user;
      rs.network = mode;
      if (mode == runtime::NetworkMode::Bridge) {
        network::Networks nets(store_);
        rs.bridge = TRY(nets.bridgeRequest(TRY(nets.find("bridge"))));
      }
      rs.lowerDirs = layerDirs(state);
      rs.mounts = mounts;
      int status = 0;
      auto layer = runInUpper([&](const std::string& upper) -> Status {
        status = TRY(runStep(rs, upper, store_.tmpDir(), [&](std::string_view out) { progress_.output(vertex, out); }));
        if (status != 0) {
          stepFailed = true;
          std::string shown;
          for (std::size_t i = 0; i < argv.size(); ++i) shown += (i ? " " : "") + argv[i];
          return failInvalid(fmt::format("process \"{}\" did not complete successfully: exit code: {}",
                                         shown, status));
        }
        return {};
      });
      if (!layer) return fail(std::move(layer).error());
      commit(state, history, *layer);
      return {};
    });
  }

  // One RUN --mount as a runtime mount; appends what the step's cache key must cover to key.
  Result<runtime::Mount> runMount(const dockerfile::Mount& m, const std::string& workdir, std::string& key) const {
    using Type = dockerfile::Mount::Type;
    std::string target = m.target;
    if (!target.starts_with("/")) target = cleanPath((workdir.empty() ? std::string("/") : workdir) + "/" + target);
    switch (m.type) {
      case Type::Tmpfs: {
        runtime::Mount out{"tmpfs", target, "tmpfs", {"nosuid", "nodev"}};
        if (m.size) out.options.push_back("size=" + std::to_string(*m.size));
        key += "tmpfs " + target + "\n";
        return out;
      }
      case Type::Cache: {
        // A directory of the store shared by every build that names the same id.
        const std::string dir = store_.layout().buildMountsDir() + "/" + Sha256::hexOf(m.id);
        if (!isDirectory(dir)) {
          TRYV(mkdirAll(dir, 0755));
          if (::chmod(dir.c_str(), m.mode ? *m.mode : 0755) < 0) return failErrno("chmod `" + dir + "`");
          if (::chown(dir.c_str(), m.uid ? *m.uid : 0, m.gid ? *m.gid : 0) < 0) return failErrno("chown `" + dir + "`");
        }
        key += "cache " + m.id + " " + target + "\n";
        return runtime::Mount{dir, target, "bind", {"rbind"}};
      }
      case Type::Bind: {
        if (!m.from.empty()) return failInvalid("RUN --mount=type=bind,from=... is not supported yet");
        if (!m.readOnly) return failInvalid("RUN --mount=type=bind,rw is not supported yet");
        const std::string source = m.source.empty() ? "." : m.source;
        std::lock_guard lock(contextMutex_);
        std::vector<ContextEntry> found = TRY(context_.resolve(source));
        if (found.size() != 1) return failInvalid("RUN --mount source \"" + source + "\" must name one path");
        key += "bind " + source + " " + target + " " + TRY(context_.checksum({source})).str() + "\n";
        const std::string host = found[0].path.empty() ? context_.root() : context_.root() + "/" + found[0].path;
        return runtime::Mount{host, target, "bind", {"rbind", "ro"}};
      }
      case Type::Secret:
      case Type::Ssh:
        return failInvalid("RUN --mount=type=secret and type=ssh are not supported yet");
    }
    return failInvalid("unknown mount type");
  }

  struct CopyFlags {
    std::string from, chown, chmod;
    bool link;
    const char* name;      // "COPY" or "ADD"
    std::string checksum;  // ADD --checksum of its one URL source
    std::vector<std::string> excludes;  // --exclude patterns (.dockerignore grammar)
  };

  static bool isUrl(std::string_view s) { return s.starts_with("http://") || s.starts_with("https://"); }

  Status copyInstruction(StageResult& r, const StageArgs& args, const dockerfile::SourcesAndDest& paths,
                         const CopyFlags& flags, std::size_t stageIndex, int vertex) {
    const std::string& fromFlag = flags.from;
    const std::string& chownFlag = flags.chown;
    const std::string& chmodFlag = flags.chmod;
    const char* name = flags.name;
    const dockerfile::ShellLexer lexer(dockerfile::ShellOptions{.escape = file_.escape});
    const Vars scope = dockerfile::expansionVars(args.inScope(), r.state.config.config.env);
    CopyStep cs;
    cs.unpackArchives = std::string_view(name) == "ADD";
    std::vector<TempDir> downloads;  // kept until the step has copied them
    std::vector<std::string> sources;
    for (const std::string& s : paths.sources) sources.push_back(TRY(lexer.processWord(s, scope)));
    std::string dest = TRY(lexer.processWord(paths.dest, scope));
    const std::string destAsWritten = dest;
    if (dest.empty() || dest[0] != '/') {
      const std::string& wd = r.state.config.config.workingDir;
      const bool slash = dest.empty() || dest.back() == '/' || dest == "." ;
      dest = cleanPath((wd.empty() ? std::string("/") : wd) + "/" + dest) + (slash ? "/" : "");
    }
    cs.dest = dest;
    cs.chown = TRY(lexer.processWord(chownFlag, scope));
    if (!chmodFlag.empty()) {
      unsigned mode = 0;
      auto [end, ec] = std::from_chars(chmodFlag.data(), chmodFlag.data() + chmodFlag.size(), mode, 8);
      if (ec != std::errc() || end != chmodFlag.data() + chmodFlag.size() || mode > 07777)
        return failInvalid("invalid chmod value: " + chmodFlag);
      cs.chmod = static_cast<mode_t>(mode & ~static_cast<unsigned>(S_ISUID));  // BuildKit drops setuid
    }
    std::string history = name;
    for (const std::string& s : sources) history += " " + s;
    for (const dockerfile::Heredoc& doc : paths.inlineSources) history += " <<" + doc.name;
    history += " " + destAsWritten + " # buildkit";

    std::string sourceKey;
    std::vector<std::string> excludes;
    for (const std::string& e : flags.excludes) excludes.push_back(TRY(lexer.processWord(e, scope)));
    const std::string from = TRY(lexer.processWord(fromFlag, scope));
    if (!from.empty() && !excludes.empty()) return failInvalid("--exclude with --from is not supported yet");
    if (!from.empty()) {
      cs.patterns = sources;
      if (auto stageRef = stageReference(plan_, from, stageIndex)) {
        const StageResult& src = stageResult(*stageRef);
        cs.sourceLowerDirs = layerDirs(src.state);
        sourceKey = "stage:" + src.key;
      } else {
        auto record = imageNamed(from, false);
        if (!record) return failInvalid(fmt::format("COPY --from: image \"{}\": {}", from, record.error().what()));
        image::Loaded loaded = TRY(image::load(store_, *record));
        ImageState img;
        for (const oci::Digest& d : loaded.config.diffIds) img.layers.push_back({oci::Descriptor{}, d});
        cs.sourceLowerDirs = layerDirs(img);
        sourceKey = "image:" + record->id.str();
      }
    } else if (!sources.empty()) {
      // ADD's URLs are fetched now: their content is part of the step's key.
      std::vector<std::string> local;
      for (const std::string& src : sources) {
        if (!cs.unpackArchives || !isUrl(src)) {
          local.push_back(src);
          continue;
        }
        downloads.push_back(TRY(TempDir::create(store_.tmpDir(), "fetch-")));
        Download d = TRY(fetchUrl(src, downloads.back().path(), kMaxDownload));
        if (!flags.checksum.empty() && d.digest.str() != flags.checksum)
          return failInvalid(fmt::format("digest mismatch {}: {}", flags.checksum, d.digest.str()));
        cs.fetched.push_back({d.path, d.fileName, d.mtime});
        sourceKey += "url:" + src + " " + d.digest.str() + "\n";
      }
      cs.contextRoot = context_.root();
      if (!local.empty()) {
        std::lock_guard lock(contextMutex_);
        for (const std::string& s : local)
          for (const ContextEntry& top : TRY(context_.resolve(s))) cs.items.push_back(TRY(contextItem(top)));
        sourceKey += "context:" + TRY(context_.checksum(local)).str();
      }
      if (!flags.excludes.empty()) {
        for (CopyItem& item : cs.items) TRYV(exclude(item, excludes));
        for (const std::string& e : excludes) sourceKey += "\nexclude:" + e;
      }
    }
    for (const dockerfile::Heredoc& doc : paths.inlineSources) {
      std::string content = doc.content;
      if (doc.expand) {
        const dockerfile::ShellLexer raw(dockerfile::ShellOptions{.escape = file_.escape, .rawQuotes = true, .rawEscapes = true});
        content = TRY(raw.processWord(content, scope));
      }
      cs.inlineFiles.push_back({doc.name, content});
      sourceKey += "\ninline:" + doc.name + "\n" + content;
    }
    if (cs.contextRoot.empty()) cs.contextRoot = context_.root();
    const std::string description = fmt::format("copy\n{}\n{}\nchown={}\nchmod={}\n{}", history, dest, cs.chown,
                                                cs.chmod ? std::to_string(*cs.chmod) : "", sourceKey);
    return step(r, description + (flags.link ? "\nlink" : ""), vertex, [&](ImageState& state) -> Status {
      // --link writes its layer on its own, as into an empty file system: nothing of the image
      // (its directories, its symlinks) takes part.
      if (!flags.link) cs.lowerDirs = layerDirs(state);
      auto layer = runInUpper([&](const std::string& upper) { return copyStep(cs, upper, store_.tmpDir()); });
      if (!layer) return fail(std::move(layer).error());
      commit(state, history, *layer);
      return {};
    });
  }

  // Drops what --exclude patterns name from a context source: paths are matched relative to the
  // source (a directory's contents) as .dockerignore patterns are; a file source by its name.
  static Status exclude(CopyItem& item, const std::vector<std::string>& patterns) {
    const dockerfile::IgnoreMatcher matcher = TRY(dockerfile::IgnoreMatcher::create(patterns));
    if (item.entries.empty()) return {};
    const ContextEntry& top = item.entries[0];
    const std::string prefix = top.path.empty() ? "" : top.path + "/";
    std::vector<ContextEntry> kept;
    for (std::size_t i = 0; i < item.entries.size(); ++i) {
      const ContextEntry& e = item.entries[i];
      std::string rel;
      if (i == 0) {
        if (S_ISDIR(e.st.st_mode)) {
          kept.push_back(e);
          continue;
        }
        rel = item.name.empty() ? e.path.substr(e.path.rfind('/') + 1) : item.name;
      } else {
        rel = e.path.substr(prefix.size());
      }
      if (!TRY(matcher.matchesOrParentMatches(rel))) kept.push_back(e);
    }
    item.entries = std::move(kept);
    return {};
  }

  // A context source and what is below it. A source that is a symlink is copied as what it
  // points to (inside the context), under the link's name, as BuildKit follows it. The caller
  // holds contextMutex_.
  Result<CopyItem> contextItem(const ContextEntry& top) const {
    CopyItem item;
    ContextEntry current = top;
    if (S_ISLNK(top.st.st_mode)) {
      auto followed = context_.followSymlinks(top);
      if (!followed)
        return failInvalid("\"/" + top.path + "\": symlink to \"" + top.linkTarget +
                           "\", which is not in the build context");
      current = std::move(*followed);
      const std::size_t slash = top.path.rfind('/');
      item.name = slash == std::string::npos ? top.path : top.path.substr(slash + 1);
    }
    item.entries = TRY(context_.walk(current));
    return item;
  }

  store::Store& store_;
  const BuildOptions& opt_;
  Progress& progress_;
  const dockerfile::Dockerfile& file_;
  const Plan& plan_;
  Context& context_;
  BuildCache cache_;
  std::string fileName_;
  std::map<std::size_t, std::shared_future<Result<StageResult>>> results_;
  LowerStack lowers_;
  mutable std::mutex contextMutex_;  // the context (and its stat cache) is used by one thread at a time
};

}  // namespace

Result<store::ImageRecord> build(store::Store& s, const BuildOptions& opt, Progress& progress, bool& stepFailed) {
  stepFailed = false;
  // The context: a directory, a tar stream unpacked into the store's tmp/, or none at all.
  FileLock tmpGuard = TRY(s.ingestGuard());
  TempDir unpacked;
  std::string contextDir = opt.context;
  if (!opt.contextTar.empty()) {
    unpacked = TRY(TempDir::create(s.tmpDir(), "context-"));
    UniqueFd tar = TRY(openFile(opt.contextTar, O_RDONLY | O_CLOEXEC));
    auto reader = TRY(layer::decompressingReader(layer::fdReader(tar.get())));
    TRYV_CTX(Context::fromTar(std::move(reader), unpacked.path(), {}), "read the build context");
    contextDir = unpacked.path();
  } else if (contextDir.empty()) {
    unpacked = TRY(TempDir::create(s.tmpDir(), "context-"));
    contextDir = unpacked.path();
  }
  std::string dockerfilePath = opt.dockerfile.empty() ? "Dockerfile" : opt.dockerfile;
  if (!opt.contextTar.empty() || opt.dockerfile.empty()) dockerfilePath = contextDir + "/" + dockerfilePath;
  const std::string fileName =
      opt.dockerfileText ? "Dockerfile" : std::filesystem::path(dockerfilePath).filename().string();

  int v = progress.begin("[internal] load build definition from " + fileName);
  std::string text = opt.dockerfileText ? *opt.dockerfileText
                                        : TRY_CTX(readFile(dockerfilePath), "read the Dockerfile");
  dockerfile::ParseOptions parseOptions;
  parseOptions.fileName = fileName;
  dockerfile::Dockerfile file = TRY(dockerfile::parseDockerfile(text, parseOptions));
  progress.done(v);
  for (const dockerfile::Warning& w : file.warnings)
    progress.note(v, fmt::format("WARNING: {}:{}: {}", parseOptions.fileName, w.startLine, w.message));

  Plan p = TRY(plan(file, opt.buildArgs, opt.target));
  if (!p.unusedBuildArgs.empty()) {
    std::string names;
    for (const std::string& n : p.unusedBuildArgs) names += (names.empty() ? "" : " ") + n;
    progress.note(v, "[Warning] One or more build-args [" + names + "] were not consumed");
  }

  v = progress.begin("[internal] load .dockerignore");
  std::vector<std::string> patterns = TRY(dockerfile::loadIgnorePatterns(
      contextDir, opt.dockerfileText ? std::string() : dockerfilePath));
  Context context = TRY(Context::open(contextDir, patterns));
  (void)context.useStatCache(s.layout().buildStatCache());
  progress.done(v);

  return store::ingest(s, std::move(tmpGuard), [&]() -> Result<store::ImageRecord> {
    Builder builder(s, opt, progress, file, p, context, parseOptions.fileName);
    auto result = builder.run();
    stepFailed = builder.stepFailed;
    if (!result) return fail(std::move(result).error());
    ImageState state = std::move(result->state);
    for (const auto& [k, val] : opt.labels) state.config.config.labels[k] = val;
    const int exportVertex = progress.begin("exporting to image");
    std::vector<image::LayerDesc> layers;
    for (const LayerRef& l : state.layers) layers.push_back({l.blob, l.diffId});
    store::ImageRecord record = TRY(image::addImage(s, state.config, layers, opt.tags));
    progress.note(exportVertex, "writing image " + record.id.str() + " done");
    for (const oci::Reference& t : opt.tags) progress.note(exportVertex, "naming to " + t.str() + " done");
    progress.done(exportVertex);
    (void)context.saveStatCache();
    return record;
  });
}

}  // namespace strata::build
