// Typed Dockerfile instructions: what the builder executes. Read from the parse tree with
// BuildKit's rules for each instruction's flags and arguments; nothing is expanded here
// (variables are substituted by the builder, step by step, with the shell lexer).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "dockerfile/ast.h"

namespace strata::dockerfile {

struct KeyValue {
  std::string key;
  std::string value;
};

// ARG name[=default].
struct ArgDecl {
  std::string key;
  std::optional<std::string> value;
  std::string comment;  // from a `# name description` comment above the ARG
};

// A command of RUN, CMD, ENTRYPOINT or HEALTHCHECK CMD.
struct CommandLine {
  std::vector<std::string> args;  // JSON elements, or the one shell-form string
  bool shellForm = false;         // run through SHELL (default `/bin/sh -c`)
  std::vector<Heredoc> files;     // RUN's heredocs
};

// One `RUN --mount=...`.
struct Mount {
  enum class Type { Bind, Cache, Tmpfs, Secret, Ssh };
  enum class Sharing { Shared, Private, Locked };
  Type type = Type::Bind;
  std::string target;
  std::string source;
  std::string from;             // a stage or image
  bool readOnly = true;         // bind mounts default to read-only, others to read-write
  std::string id;               // cache, secret and ssh id
  Sharing sharing = Sharing::Shared;
  std::optional<uint32_t> mode;
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
  std::optional<int64_t> size;  // tmpfs size in bytes
  bool required = false;        // secret and ssh
  std::string env;              // secret exposed as an environment variable
};

struct FromInstruction {  // begins a stage
  std::string image;      // image reference, `scratch`, or an earlier stage's name
  std::string name;       // `AS name`, lower-cased; empty when unnamed
  std::string platform;
};
struct RunInstruction {
  CommandLine command;
  std::vector<Mount> mounts;
  std::string network;   // "", "default", "none" or "host"
  std::string security;  // "", "sandbox" or "insecure"
};
struct CmdInstruction {
  CommandLine command;
};
struct EntrypointInstruction {
  CommandLine command;
};
// COPY and ADD share their source/destination rules.
struct SourcesAndDest {
  std::vector<std::string> sources;   // paths, globs or (ADD) URLs
  std::vector<Heredoc> inlineSources; // heredoc sources (`COPY <<EOF /dst`), in order
  std::string dest;
};
struct CopyInstruction {
  SourcesAndDest paths;
  std::string from;
  std::string chown;
  std::string chmod;
  bool link = false;
  bool parents = false;
  std::vector<std::string> excludes;
};
struct AddInstruction {
  SourcesAndDest paths;
  std::string chown;
  std::string chmod;
  bool link = false;
  std::string checksum;
  bool keepGitDir = false;
  std::vector<std::string> excludes;
};
struct EnvInstruction {
  std::vector<KeyValue> vars;
};
struct LabelInstruction {
  std::vector<KeyValue> labels;
};
struct ArgInstruction {
  std::vector<ArgDecl> args;
};
struct WorkdirInstruction {
  std::string path;
};
struct UserInstruction {
  std::string user;
};
struct ExposeInstruction {
  std::vector<std::string> ports;  // sorted, as written (`80/tcp`, `$PORT`)
};
struct VolumeInstruction {
  std::vector<std::string> paths;
};
struct ShellInstruction {
  std::vector<std::string> shell;
};
struct StopSignalInstruction {
  std::string signal;
};
struct HealthcheckInstruction {
  // {"NONE"}, {"CMD", args...} or {"CMD-SHELL", command}, as in the image config's Test.
  std::vector<std::string> test;
  int64_t interval = 0;  // nanoseconds; 0 = inherit/default
  int64_t timeout = 0;
  int64_t startPeriod = 0;
  int64_t startInterval = 0;
  int retries = 0;
};
struct OnbuildInstruction {
  std::string expression;  // the trigger as written, heredoc bodies appended
};
struct MaintainerInstruction {
  std::string maintainer;
};

using Instruction =
    std::variant<RunInstruction, CmdInstruction, EntrypointInstruction, CopyInstruction,
                 AddInstruction, EnvInstruction, LabelInstruction, ArgInstruction,
                 WorkdirInstruction, UserInstruction, ExposeInstruction, VolumeInstruction,
                 ShellInstruction, StopSignalInstruction, HealthcheckInstruction,
                 OnbuildInstruction, MaintainerInstruction>;

// An instruction inside a stage, with where it came from (for cache keys, history and errors).
struct Command {
  Instruction instruction;
  std::string keyword;   // upper case: "RUN"
  std::string original;  // the instruction text, continuation lines joined
  int startLine = 0;
  int endLine = 0;
};

struct Stage {
  FromInstruction from;
  std::string original;
  int startLine = 0;
  std::string comment;  // `# name description` above `FROM ... AS name`
  std::vector<Command> commands;
};

struct Dockerfile {
  std::vector<ArgDecl> globalArgs;  // ARGs before the first FROM
  std::vector<Stage> stages;
  char escape = '\\';
  std::vector<Warning> warnings;
};

// Reads every instruction of a parsed file into stages. Fails with `<file>:<line>: <message>:
// `<text>`` on the first bad instruction: an unknown keyword (with the nearest known one
// suggested), an unknown or repeated flag, a missing or extra argument, a bad HEALTHCHECK
// option or mount, an instruction before the first FROM other than ARG.
Result<Dockerfile> readInstructions(const Ast& ast, const ParseOptions& options = {});

// Parses and reads a whole Dockerfile text.
Result<Dockerfile> parseDockerfile(std::string_view content, const ParseOptions& options = {});

// Reads one node (used for ONBUILD triggers when an image is used as a base). `FROM` yields an
// error here: a trigger cannot start a stage.
Result<Command> readCommand(const Node& node);

// The known instruction keywords, upper case.
const std::vector<std::string>& instructionNames();

// The closest of `candidates` to `word` (case-insensitive edit distance of at most 2, and less
// than the word's length); empty when none is close enough or the word is itself a candidate.
std::string suggest(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace strata::dockerfile
