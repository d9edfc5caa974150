// Template's public methods: the list-format conventions, then lexing and parsing
// (template_lex.cpp, template_parse.cpp) and execution (template_exec.cpp).
#include "util/template.h"

#include <utility>
#include <vector>

#include "util/template_internal.h"

namespace strata {

struct Template::Tree {
  std::string src;  // the format after the list conventions were applied; positions refer to it
  std::vector<tmpl::Node> nodes;
};

namespace {

using tmpl::Json;

// Every field name used directly on dot, for the header row.
void collectFields(const tmpl::Pipe& p, std::vector<std::string>& out);
void collectFields(const std::vector<tmpl::Node>& nodes, std::vector<std::string>& out) {
  for (const auto& n : nodes) {
    collectFields(n.pipe, out);
    collectFields(n.body, out);
    collectFields(n.elseBody, out);
  }
}
void collectFields(const tmpl::Pipe& p, std::vector<std::string>& out) {
  for (const auto& c : p.cmds)
    for (const auto& a : c.args) {
      if (a.kind == tmpl::Arg::Field) out.push_back(a.chain.front());
      if (a.kind == tmpl::Arg::Sub) collectFields(*a.sub, out);
    }
}

// docker/cli's conventions for list formats (see TemplateOptions::listFormat), applied to f.
// Returns whether f began with "table".
bool applyListConventions(std::string& f) {
  bool table = false;
  if (f.starts_with("table")) {
    table = true;
    f.erase(0, 5);
  } else if (f == "json") {
    f = "{{json .}}";
  }
  size_t b = f.find_first_not_of(' ');
  f = b == std::string::npos ? std::string() : f.substr(b, f.find_last_not_of(' ') - b + 1);
  std::string r;
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i] == '\\' && i + 1 < f.size() && (f[i + 1] == 't' || f[i + 1] == 'n')) {
      r += f[++i] == 't' ? '\t' : '\n';
    } else {
      r += f[i];
    }
  }
  f = std::move(r);
  return table;
}

}  // namespace

Result<Template> Template::parse(std::string_view format, TemplateOptions options) {
  auto tree = std::make_shared<Tree>();
  Template t;
  t.missingKeyError_ = options.missingKeyError;
  std::string f(format);
  if (options.listFormat) t.table_ = applyListConventions(f);
  tree->src = std::move(f);
  try {
    auto toks = TRY(tmpl::lex(tree->src));
    tree->nodes = TRY(tmpl::parseTokens(std::move(toks), tree->src));
  } catch (const std::exception& e) {
    return failInvalid(std::string("template parsing error: ") + e.what());
  }
  t.tree_ = std::move(tree);
  return t;
}

bool Template::empty() const { return !tree_ || tree_->nodes.empty(); }

Result<std::string> Template::render(const nlohmann::ordered_json& row) const {
  if (!tree_) return std::string();
  try {
    std::string out;
    TRYV(tmpl::execute(tree_->src, tree_->nodes, row, missingKeyError_, false, out));
    return out;
  } catch (const std::exception& ex) {
    return failInvalid(std::string("template: executing: ") + ex.what());
  }
}

std::string Template::header(const std::map<std::string, std::string>& titles) const {
  if (!tree_) return {};
  std::vector<std::string> fields;
  collectFields(tree_->nodes, fields);
  Json row = Json::object();
  for (const auto& name : fields) {
    auto it = titles.find(name);
    row[name] = it != titles.end() ? it->second : tmpl::upper(name);
  }
  try {
    std::string out;
    // docker/cli ignores header errors and keeps the output.
    (void)tmpl::execute(tree_->src, tree_->nodes, row, false, true, out);
    return out;
  } catch (const std::exception&) {
    return {};
  }
}

}  // namespace strata
