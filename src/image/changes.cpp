#include "image/changes.h"

#include <algorithm>
#include <cctype>

namespace strata::image {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// A JSON array of strings, or nullopt when text is not one (then it is shell form).
std::optional<std::vector<std::string>> jsonArray(std::string_view text) {
  if (text.empty() || text.front() != '[') return std::nullopt;
  auto j = oci::Json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_array()) return std::nullopt;
  std::vector<std::string> out;
  for (const auto& v : j) {
    if (!v.is_string()) return std::nullopt;
    out.push_back(v.get<std::string>());
  }
  return out;
}

std::vector<std::string> commandForm(std::string_view text) {
  if (auto arr = jsonArray(text)) return *arr;
  return {"/bin/sh", "-c", std::string(text)};
}

void setEnv(std::vector<std::string>& env, const std::string& key, const std::string& value) {
  for (auto& e : env) {
    if (e.compare(0, key.size() + 1, key + "=") == 0) {
      e = key + "=" + value;
      return;
    }
  }
  env.push_back(key + "=" + value);
}

// key=value pairs, or the legacy single "key value" form when allowLegacy.
Result<std::vector<std::pair<std::string, std::string>>> keyValues(std::string_view change,
                                                                  std::string_view args,
                                                                  bool allowLegacy) {
  std::vector<std::pair<std::string, std::string>> out;
  std::vector<std::string> words = TRY(splitWords(args));
  if (words.empty()) return failInvalid("invalid change `" + std::string(change) + "`: missing arguments");
  if (words[0].find('=') == std::string::npos) {
    if (!allowLegacy || words.size() < 2)
      return failInvalid("invalid change `" + std::string(change) + "`: expected KEY=VALUE");
    // Legacy form: the first word is the key, the rest of the text (as written) the value.
    std::string_view rest = trim(args);
    rest.remove_prefix(std::min(rest.size(), rest.find_first_of(" \t")));
    out.emplace_back(words[0], std::string(trim(rest)));
    return out;
  }
  for (const auto& w : words) {
    auto eq = w.find('=');
    if (eq == std::string::npos || eq == 0)
      return failInvalid("invalid change `" + std::string(change) + "`: `" + w +
                         "` is not KEY=VALUE");
    out.emplace_back(w.substr(0, eq), w.substr(eq + 1));
  }
  return out;
}

void addSorted(std::vector<std::string>& set, std::string v) {
  if (std::find(set.begin(), set.end(), v) == set.end()) set.push_back(std::move(v));
  std::sort(set.begin(), set.end());
}

}  // namespace

Result<std::vector<std::string>> splitWords(std::string_view text) {
  std::vector<std::string> words;
  std::string cur;
  bool inWord = false;
  char quote = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quote) {
      if (c == quote) quote = 0;
      else if (c == '\\' && quote == '"' && i + 1 < text.size()) cur += text[++i];
      else cur += c;
      continue;
    }
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (inWord) words.push_back(std::move(cur)), cur.clear(), inWord = false;
      continue;
    }
    inWord = true;
    if (c == '"' || c == '\'') quote = c;
    else if (c == '\\' && i + 1 < text.size()) cur += text[++i];
    else cur += c;
  }
  if (quote) return failInvalid("unterminated quote in `" + std::string(text) + "`");
  if (inWord) words.push_back(std::move(cur));
  return words;
}

Status applyChange(oci::ContainerConfig& c, std::string_view change) {
  std::string_view text = trim(change);
  size_t sp = text.find_first_of(" \t");
  std::string keyword(text.substr(0, sp));
  std::transform(keyword.begin(), keyword.end(), keyword.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::toupper(ch)); });
  std::string_view args = sp == std::string_view::npos ? std::string_view() : trim(text.substr(sp));
  auto needArgs = [&]() -> Status {
    if (args.empty()) return failInvalid("invalid change `" + std::string(change) + "`: " + keyword + " needs an argument");
    return {};
  };
  if (keyword == "CMD") {
    TRYV(needArgs());
    c.cmd = commandForm(args);
  } else if (keyword == "ENTRYPOINT") {
    TRYV(needArgs());
    c.entrypoint = commandForm(args);
    c.cmd.reset();
  } else if (keyword == "ENV") {
    for (auto& [k, v] : TRY(keyValues(change, args, true))) setEnv(c.env, k, v);
  } else if (keyword == "LABEL") {
    for (auto& [k, v] : TRY(keyValues(change, args, false))) c.labels[k] = v;
  } else if (keyword == "EXPOSE") {
    TRYV(needArgs());
    for (auto& p : TRY(splitWords(args))) {
      std::string port = p.find('/') == std::string::npos ? p + "/tcp" : p;
      auto slash = port.find('/');
      std::string num = port.substr(0, slash), proto = port.substr(slash + 1);
      bool ok = !num.empty() && std::all_of(num.begin(), num.end(), ::isdigit) &&
                (proto == "tcp" || proto == "udp" || proto == "sctp");
      if (!ok) return failInvalid("invalid change `" + std::string(change) + "`: invalid port `" + p + "`");
      addSorted(c.exposedPorts, port);
    }
  } else if (keyword == "VOLUME") {
    TRYV(needArgs());
    auto list = jsonArray(args);
    for (auto& v : list ? *list : TRY(splitWords(args))) addSorted(c.volumes, v);
  } else if (keyword == "WORKDIR") {
    TRYV(needArgs());
    std::string dir(args);
    if (dir.front() != '/') dir = (c.workingDir.empty() ? "/" : c.workingDir + "/") + dir;
    c.workingDir = dir;
  } else if (keyword == "USER") {
    TRYV(needArgs());
    c.user = std::string(args);
  } else if (keyword == "STOPSIGNAL") {
    TRYV(needArgs());
    c.stopSignal = std::string(args);
  } else if (keyword == "ONBUILD") {
    TRYV(needArgs());
    c.onBuild.push_back(std::string(args));
  } else {
    return failInvalid("invalid change `" + std::string(change) + "`: " +
                       (keyword.empty() ? std::string("empty") : keyword) +
                       " is not a valid change command");
  }
  return {};
}

}  // namespace strata::image
