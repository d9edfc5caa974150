// Execution of util/template.h's tree against JSON, and printing values the way Go's fmt
// prints them with %v.
#include <algorithm>
#include <charconv>
#include <utility>

#include "util/format.h"
#include "util/template_internal.h"

namespace strata::tmpl {

const char* goType(const Json& v) {
  switch (v.type()) {
    case Json::value_t::string:
      return "string";
    case Json::value_t::boolean:
      return "bool";
    case Json::value_t::number_integer:
      return "int";
    case Json::value_t::number_unsigned:
      return "uint64";
    case Json::value_t::number_float:
      return "float64";
    case Json::value_t::array:
      return "[]interface {}";
    case Json::value_t::object:
      return "map[string]interface {}";
    default:
      return "<nil>";
  }
}

namespace {

// Go's %v of a float64: strconv 'g' with the shortest digits, which switches to the exponent
// form ("1e+06") when the decimal exponent is below -4 or at least 6.
std::string goFloat(double v) {
  if (v != v) return "NaN";
  if (v > 1.7976931348623157e308) return "+Inf";
  if (v < -1.7976931348623157e308) return "-Inf";
  char buf[400];
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string_view s(buf, static_cast<size_t>(r.ptr - buf));
  int exp = 0;
  std::string_view e = s.substr(s.find('e') + 1);
  if (!e.empty() && e.front() == '+') e.remove_prefix(1);
  std::from_chars(e.data(), e.data() + e.size(), exp);
  if (exp < -4 || exp >= 6) return std::string(s);
  r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  return std::string(buf, static_cast<size_t>(r.ptr - buf));
}

}  // namespace

std::string goPrint(const Json& v, bool top) {
  switch (v.type()) {
    case Json::value_t::discarded:
    case Json::value_t::null:
      return top ? "<no value>" : "<nil>";
    case Json::value_t::string:
      return v.get_ref<const std::string&>();
    case Json::value_t::boolean:
      return v.get<bool>() ? "true" : "false";
    case Json::value_t::number_integer:
      return std::to_string(v.get<int64_t>());
    case Json::value_t::number_unsigned:
      return std::to_string(v.get<uint64_t>());
    case Json::value_t::number_float:
      return goFloat(v.get<double>());
    case Json::value_t::array: {
      std::string s = "[";
      for (size_t i = 0; i < v.size(); ++i) s += (i ? " " : "") + goPrint(v[i], false);
      return s + "]";
    }
    case Json::value_t::object: {
      std::vector<std::string> keys;
      for (const auto& [k, _] : v.items()) keys.push_back(k);
      std::sort(keys.begin(), keys.end());
      std::string s = "map[";
      for (size_t i = 0; i < keys.size(); ++i)
        s += (i ? " " : "") + keys[i] + ":" + goPrint(v[keys[i]], false);
      return s + "]";
    }
    default:
      return {};
  }
}

std::string jsonString(const Json& v) {
  if (v.is_discarded()) return "null";
  return toGoJson(v);
}

bool truth(const Json& v) {
  switch (v.type()) {
    case Json::value_t::boolean:
      return v.get<bool>();
    case Json::value_t::number_integer:
      return v.get<int64_t>() != 0;
    case Json::value_t::number_unsigned:
      return v.get<uint64_t>() != 0;
    case Json::value_t::number_float:
      return v.get<double>() != 0;
    case Json::value_t::string:
      return !v.get_ref<const std::string&>().empty();
    case Json::value_t::array:
    case Json::value_t::object:
      return !v.empty();
    default:
      return false;
  }
}

namespace {

class Exec {
 public:
  Exec(std::string_view src, const Json& root, bool missingKeyError, bool header)
      : src_(src), missingKeyError_(missingKeyError), header_(header) {
    vars_.emplace_back("$", root);
  }

  Status list(const std::vector<Node>& nodes, const Json& dot) {
    size_t scope = vars_.size();
    for (const auto& n : nodes) TRYV(node(n, dot));
    vars_.resize(scope);
    return {};
  }

  std::string out;

 private:
  Status node(const Node& n, const Json& dot) {
    switch (n.kind) {
      case Node::Text:
        out += n.text;
        return {};
      case Node::Action: {
        Json v = TRY(pipe(n.pipe, dot));
        if (n.pipe.decl.empty()) out += goPrint(v, true);
        return {};
      }
      case Node::If:
      case Node::With: {
        size_t scope = vars_.size();
        Json v = TRY(pipe(n.pipe, dot));
        Status s = truth(v) ? list(n.body, n.kind == Node::With ? v : dot) : list(n.elseBody, dot);
        vars_.resize(scope);
        return s;
      }
      case Node::Range:
        return range(n, dot);
    }
    return {};
  }

  Status range(const Node& n, const Json& dot) {
    Pipe p = n.pipe;
    p.decl.clear();  // range assigns its variables per element, not the whole value
    Json v = TRY(pipe(p, dot));
    if (!truth(v) && (v.is_null() || v.is_discarded() || v.is_structured()))
      return list(n.elseBody, dot);
    if (!v.is_structured())
      return fail(n.pipe.pos, "{{range " + pipeString(n.pipe) + "}}",
                  "range can't iterate over " + goPrint(v, false));
    std::vector<std::pair<Json, const Json*>> items;
    if (v.is_array()) {
      for (size_t i = 0; i < v.size(); ++i)
        items.emplace_back(Json(static_cast<int64_t>(i)), &v[i]);
    } else {
      for (auto it = v.begin(); it != v.end(); ++it)
        items.emplace_back(Json(it.key()), &it.value());
      std::sort(items.begin(), items.end(),
                [](const auto& x, const auto& y) { return x.first < y.first; });
    }
    for (const auto& [key, elem] : items) {
      size_t scope = vars_.size();
      if (n.pipe.decl.size() == 1) vars_.emplace_back(n.pipe.decl[0], *elem);
      if (n.pipe.decl.size() == 2) {
        vars_.emplace_back(n.pipe.decl[0], key);
        vars_.emplace_back(n.pipe.decl[1], *elem);
      }
      Status s = list(n.body, *elem);
      vars_.resize(scope);
      TRYV(s);
    }
    return {};
  }

  Result<Json> pipe(const Pipe& p, const Json& dot) {
    Json v(Json::value_t::discarded);
    for (size_t i = 0; i < p.cmds.size(); ++i)
      v = TRY(command(p.cmds[i], dot, i > 0 ? &v : nullptr));
    for (const auto& d : p.decl) vars_.emplace_back(d, v);
    return v;
  }

  Result<Json> command(const Cmd& c, const Json& dot, const Json* piped) {
    const Arg& first = c.args.front();
    if (first.kind != Arg::Func) {
      if (c.args.size() > 1 || piped)
        return fail(first.pos, argString(first),
                    "can't give argument to non-function " + argString(first));
      return arg(first, dot);
    }
    Args args;
    for (size_t i = 1; i < c.args.size(); ++i) args.push_back(TRY(arg(c.args[i], dot)));
    if (piped) args.push_back(*piped);
    return call(first, args);
  }

  Result<Json> call(const Arg& fn, Args& args) {
    const FuncDef* f = findFunction(fn.name);
    if (args.size() < f->minArgs || args.size() > f->maxArgs) {
      std::string want = f->maxArgs == kVariadic ? "at least " + std::to_string(f->minArgs)
                                                 : std::to_string(f->minArgs);
      return fail(fn.pos, fn.name,
                  "wrong number of args for " + fn.name + ": want " + want + " got " +
                      std::to_string(args.size()));
    }
    if (header_ && f->stringFunc) return args.front();
    auto r = f->fn(args);
    if (!r) return fail(fn.pos, fn.name, "error calling " + fn.name + ": " + r.error().message());
    return r;
  }

  // Evaluates an operand. Field chains are walked by pointer so that only the final value is
  // copied, not every object on the way.
  Result<Json> arg(const Arg& a, const Json& dot) {
    const Json* base = &dot;
    Json owned;
    switch (a.kind) {
      case Arg::Dot:
      case Arg::Field:
        break;
      case Arg::Var: {
        auto it = std::find_if(vars_.rbegin(), vars_.rend(),
                               [&](const auto& kv) { return kv.first == a.name; });
        if (it == vars_.rend()) return fail(a.pos, a.name, "undefined variable: " + a.name);
        base = &it->second;
        break;
      }
      case Arg::Func: {
        Args none;
        return call(a, none);
      }
      case Arg::Literal:
        return a.value;
      case Arg::Sub:
        owned = TRY(pipe(*a.sub, dot));
        base = &owned;
        break;
    }
    for (const auto& name : a.chain) base = TRY(field(*base, name, a));
    return *base;
  }

  Result<const Json*> field(const Json& recv, const std::string& name, const Arg& a) {
    static const Json kMissing(Json::value_t::discarded);
    if (recv.is_discarded()) {
      if (missingKeyError_)
        return fail(a.pos, argString(a), "nil data; no entry for key \"" + name + "\"");
      return &kMissing;
    }
    if (recv.is_null())
      return fail(a.pos, argString(a), "nil pointer evaluating interface {}." + name);
    if (!recv.is_object())
      return fail(a.pos, argString(a),
                  std::string("can't evaluate field ") + name + " in type " + goType(recv));
    auto it = recv.find(name);
    if (it != recv.end()) return &*it;
    if (missingKeyError_)
      return fail(a.pos, argString(a), "map has no entry for key \"" + name + "\"");
    return &kMissing;
  }

  // Go's form: "template: :1:2: executing "" at <.Foo>: msg", where the context is the node's
  // text cut to 20 characters.
  std::unexpected<Error> fail(size_t pos, std::string context, const std::string& msg) const {
    if (context.size() > 20) context = context.substr(0, 20) + "...";
    size_t nl = pos == 0 ? std::string_view::npos : src_.rfind('\n', pos - 1);
    size_t col = nl == std::string_view::npos ? pos : pos - nl - 1;
    return failInvalid("template: :" + std::to_string(lineOf(src_, pos)) + ":" +
                       std::to_string(col) + ": executing \"\" at <" + oneLine(context) +
                       ">: " + oneLine(msg));
  }

  std::string_view src_;
  bool missingKeyError_;
  bool header_;
  std::vector<std::pair<std::string, Json>> vars_;
};

}  // namespace

Status execute(std::string_view src, const std::vector<Node>& nodes, const Json& root,
               bool missingKeyError, bool header, std::string& out) {
  Exec e(src, root, missingKeyError, header);
  Status s = e.list(nodes, root);
  out = std::move(e.out);
  return s;
}

}  // namespace strata::tmpl
