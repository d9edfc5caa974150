// The built-in functions of util/template.h: Docker's json split join title lower upper pad
// truncate, and Go's index len print printf println eq ne lt le gt ge and or not.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "util/template_internal.h"

namespace strata::tmpl {

std::string upper(std::string s) {
  for (char& c : s)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return s;
}

namespace {

size_t runeCount(std::string_view s) {
  return static_cast<size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

Result<std::string> strArg(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null() || v.is_discarded()) return failInvalid("invalid value; expected string");
  return goPrint(v, false);
}

Result<int64_t> intArg(const Json& v) {
  if (v.is_number_integer()) return v.get<int64_t>();
  // A float is an int when it is integral and within int64's range (-2^63 <= d < 2^63).
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (d >= -9223372036854775808.0 && d < 9223372036854775808.0 && d == std::trunc(d))
      return static_cast<int64_t>(d);
  }
  return failInvalid(std::string("wrong type for value; expected int; got ") + goType(v));
}

// a <=> b for numbers and strings; other kinds fail as Go's lt/le/gt/ge do.
Result<int> compare(const Json& a, const Json& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_number_float() || b.is_number_float()) {
      double x = a.get<double>(), y = b.get<double>();
      return x < y ? -1 : x > y ? 1 : 0;
    }
    int64_t x = a.get<int64_t>(), y = b.get<int64_t>();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.is_string() && b.is_string()) {
    int c = a.get_ref<const std::string&>().compare(b.get_ref<const std::string&>());
    return c < 0 ? -1 : c > 0 ? 1 : 0;
  }
  if (a.type() != b.type()) return failInvalid("incompatible types for comparison");
  return failInvalid("invalid type for comparison");
}

Result<bool> equal(const Json& a, const Json& b) {
  bool aNil = a.is_null() || a.is_discarded(), bNil = b.is_null() || b.is_discarded();
  if (aNil || bNil) return aNil && bNil;
  if (a.is_boolean() && b.is_boolean()) return a.get<bool>() == b.get<bool>();
  if (a.is_structured() || b.is_structured()) return failInvalid("non-comparable type");
  return TRY(compare(a, b)) == 0;
}

std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

// strings.Title for ASCII: the first letter of each word, words being split by anything that is
// not a letter, digit or underscore.
std::string title(std::string s) {
  bool prevWord = false;
  for (char& c : s) {
    if (!prevWord && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    prevWord = isAlnum(c);
  }
  return s;
}

Result<Json> fnIndex(Args& a) {
  Json item = a[0];
  for (size_t i = 1; i < a.size(); ++i) {
    const Json& key = a[i];
    if (item.is_null() || item.is_discarded()) return failInvalid("index of untyped nil");
    if (item.is_object()) {
      if (!key.is_string())
        return failInvalid(std::string("value has type ") + goType(key) + "; should be string");
      auto it = item.find(key.get<std::string>());
      if (it != item.end()) {
        item = *it;
        continue;
      }
      // A missing key yields the map's zero value: "" for a map of strings (labels), nil otherwise.
      bool allStrings =
          std::all_of(item.begin(), item.end(), [](const Json& v) { return v.is_string(); });
      item = allStrings ? Json("") : Json();
    } else if (item.is_array()) {
      int64_t k = TRY(intArg(key));
      if (k < 0 || static_cast<size_t>(k) >= item.size())
        return failInvalid("index out of range: " + std::to_string(k));
      item = Json(item[static_cast<size_t>(k)]);
    } else if (item.is_string()) {
      // Go indexes a string by byte and yields the byte's value.
      const std::string& str = item.get_ref<const std::string&>();
      int64_t k = TRY(intArg(key));
      if (k < 0 || static_cast<size_t>(k) >= str.size())
        return failInvalid("index out of range: " + std::to_string(k));
      item = static_cast<int64_t>(static_cast<unsigned char>(str[static_cast<size_t>(k)]));
    } else {
      return failInvalid(std::string("can't index item of type ") + goType(item));
    }
  }
  return item;
}

Result<Json> fnLen(Args& a) {
  const Json& v = a[0];
  if (v.is_string()) return static_cast<int64_t>(v.get_ref<const std::string&>().size());
  if (v.is_array() || v.is_object()) return static_cast<int64_t>(v.size());
  return failInvalid(std::string("len of type ") + goType(v));
}

Result<Json> fnJoin(Args& a) {
  std::string sep = TRY(strArg(a[1]));
  if (a[0].is_null() || a[0].is_discarded()) return Json("");
  if (!a[0].is_array()) return Json(TRY(strArg(a[0])));
  std::string out;
  for (size_t i = 0; i < a[0].size(); ++i) out += (i ? sep : "") + goPrint(a[0][i], false);
  return Json(out);
}

Result<Json> fnSplit(Args& a) {
  std::string s = TRY(strArg(a[0])), sep = TRY(strArg(a[1]));
  Json out = Json::array();
  if (sep.empty()) {
    // Go splits into UTF-8 sequences.
    for (size_t i = 0; i < s.size();) {
      size_t j = i + 1;
      while (j < s.size() && (static_cast<unsigned char>(s[j]) & 0xC0) == 0x80) ++j;
      out.push_back(s.substr(i, j - i));
      i = j;
    }
    return out;
  }
  for (size_t start = 0;;) {
    size_t at = s.find(sep, start);
    out.push_back(s.substr(start, at == std::string::npos ? std::string::npos : at - start));
    if (at == std::string::npos) return out;
    start = at + sep.size();
  }
}

Result<Json> fnPad(Args& a) {
  std::string s = TRY(strArg(a[0]));
  int64_t pre = TRY(intArg(a[1])), post = TRY(intArg(a[2]));
  if (s.empty()) return Json(s);
  pre = std::clamp<int64_t>(pre, 0, 4096);
  post = std::clamp<int64_t>(post, 0, 4096);
  return Json(std::string(static_cast<size_t>(pre), ' ') + s +
              std::string(static_cast<size_t>(post), ' '));
}

// The first n UTF-8 characters of s.
std::string firstRunes(const std::string& s, size_t n) {
  size_t i = 0;
  for (size_t k = 0; k < n && i < s.size(); ++k) {
    ++i;
    while (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) ++i;
  }
  return s.substr(0, i);
}

Result<Json> fnTruncate(Args& a) {
  std::string s = TRY(strArg(a[0]));
  int64_t n = TRY(intArg(a[1]));
  if (n < 0) return Json(s);
  return Json(firstRunes(s, static_cast<size_t>(n)));
}

// fmt.Sprint: a space between operands when neither side is a string.
Result<Json> fnPrint(Args& a) {
  std::string out;
  for (size_t i = 0; i < a.size(); ++i) {
    if (i > 0 && !a[i].is_string() && !a[i - 1].is_string()) out += ' ';
    out += goPrint(a[i], false);
  }
  return Json(out);
}

Result<Json> fnPrintln(Args& a) {
  std::string out;
  for (size_t i = 0; i < a.size(); ++i) out += (i ? " " : "") + goPrint(a[i], false);
  return Json(out + "\n");
}

std::string badVerb(char verb, const Json& v) {
  return std::string("%!") + verb + "(" + goType(v) + "=" + goPrint(v, false) + ")";
}

std::string padTo(std::string s, size_t width, bool left, char fill) {
  size_t n = runeCount(s);
  if (n >= width) return s;
  std::string pad(width - n, fill);
  return left ? s + pad : pad + s;
}

// The flags, width and precision of one verb of a printf format.
struct Spec {
  std::string flags;
  size_t width = 0, prec = 0;
  bool hasPrec = false;
};

// Reads the flags, width and precision after the '%' at f[i]; leaves i at the verb, or at
// f.size() when the format ends first.
Spec parseSpec(const std::string& f, size_t& i) {
  Spec s;
  while (++i < f.size() && std::string_view("-+ 0#").find(f[i]) != std::string_view::npos)
    s.flags += f[i];
  while (i < f.size() && isDigit(f[i]))
    s.width = std::min<size_t>(s.width * 10 + static_cast<size_t>(f[i++] - '0'), 4096);
  if (i < f.size() && f[i] == '.') {
    s.hasPrec = true;
    while (++i < f.size() && isDigit(f[i]))
      s.prec = std::min<size_t>(s.prec * 10 + static_cast<size_t>(f[i] - '0'), 512);
  }
  return s;
}

// The verb (not '%') with spec applied to its operand v.
std::string formatVerb(char verb, const Spec& spec, const Json& v) {
  bool left = spec.flags.find('-') != std::string::npos;
  char fill = spec.flags.find('0') != std::string::npos && !left ? '0' : ' ';
  std::string cfmt = "%" + spec.flags + (spec.width ? std::to_string(spec.width) : "") +
                     (spec.hasPrec ? "." + std::to_string(spec.prec) : "");
  char buf[1024];
  switch (verb) {
    case 'v':
    case 's': {
      std::string s = goPrint(v, false);
      if (spec.hasPrec && verb == 's') s = firstRunes(s, spec.prec);
      return padTo(std::move(s), spec.width, left, v.is_number() ? fill : ' ');
    }
    case 'q':
      if (!v.is_string()) return badVerb(verb, v);
      return padTo(jsonString(v), spec.width, left, ' ');
    case 't':
      if (!v.is_boolean()) return badVerb(verb, v);
      return padTo(v.get<bool>() ? "true" : "false", spec.width, left, ' ');
    case 'd':
    case 'x':
    case 'X':
    case 'c':
    case 'o':
      if (!v.is_number_integer()) return badVerb(verb, v);
      if (verb == 'c') {
        std::string s;
        appendUtf8(s, static_cast<uint32_t>(v.get<int64_t>()));
        return padTo(s, spec.width, left, ' ');
      }
      std::snprintf(buf, sizeof buf, (cfmt + "ll" + verb).c_str(),
                    static_cast<long long>(v.get<int64_t>()));
      return buf;
    case 'f':
    case 'F':
    case 'e':
    case 'E':
    case 'g':
    case 'G':
      if (!v.is_number()) return badVerb(verb, v);
      std::snprintf(buf, sizeof buf, (cfmt + verb).c_str(), v.get<double>());
      return buf;
    default:
      return badVerb(verb, v);
  }
}

// fmt.Sprintf for the verbs templates use: %v %s %q %d %x %X %c %t %f %F %e %E %g %G %%, with the
// flags - + space 0 #, a width and a precision.
std::string goSprintf(const std::string& f, const Args& a, size_t argi) {
  std::string out;
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i] != '%') {
      out += f[i];
      continue;
    }
    Spec spec = parseSpec(f, i);
    if (i >= f.size()) {
      out += "%!(NOVERB)";
      break;
    }
    char verb = f[i];
    if (verb == '%') {
      out += '%';
      continue;
    }
    if (argi >= a.size()) {
      out += std::string("%!") + verb + "(MISSING)";
      continue;
    }
    out += formatVerb(verb, spec, a[argi++]);
  }
  if (argi < a.size()) {
    out += "%!(EXTRA ";
    for (size_t k = argi; k < a.size(); ++k)
      out += std::string(k > argi ? ", " : "") + goType(a[k]) + "=" + goPrint(a[k], false);
    out += ")";
  }
  return out;
}

Result<Json> fnPrintf(Args& a) {
  std::string f = TRY(strArg(a[0]));
  return Json(goSprintf(f, a, 1));
}

Result<Json> fnEq(Args& a) {
  for (size_t i = 1; i < a.size(); ++i)
    if (TRY(equal(a[0], a[i]))) return Json(true);
  return Json(false);
}

const FuncDef kFuncs[] = {
    {"json", 1, 1, true, [](Args& a) -> Result<Json> { return Json(jsonString(a[0])); }},
    {"split", 2, 2, true, fnSplit},
    {"join", 2, 2, true, fnJoin},
    {"title", 1, 1, true, [](Args& a) -> Result<Json> { return Json(title(TRY(strArg(a[0])))); }},
    {"lower", 1, 1, true, [](Args& a) -> Result<Json> { return Json(lower(TRY(strArg(a[0])))); }},
    {"upper", 1, 1, true, [](Args& a) -> Result<Json> { return Json(upper(TRY(strArg(a[0])))); }},
    {"pad", 3, 3, true, fnPad},
    {"truncate", 2, 2, true, fnTruncate},
    {"index", 1, kVariadic, false, fnIndex},
    {"len", 1, 1, false, fnLen},
    {"print", 0, kVariadic, false, fnPrint},
    {"printf", 1, kVariadic, false, fnPrintf},
    {"println", 0, kVariadic, false, fnPrintln},
    {"eq", 1, kVariadic, false, fnEq},
    {"ne", 2, 2, false, [](Args& a) -> Result<Json> { return Json(!TRY(equal(a[0], a[1]))); }},
    {"lt", 2, 2, false, [](Args& a) -> Result<Json> { return Json(TRY(compare(a[0], a[1])) < 0); }},
    {"le", 2, 2, false,
     [](Args& a) -> Result<Json> { return Json(TRY(compare(a[0], a[1])) <= 0); }},
    {"gt", 2, 2, false, [](Args& a) -> Result<Json> { return Json(TRY(compare(a[0], a[1])) > 0); }},
    {"ge", 2, 2, false,
     [](Args& a) -> Result<Json> { return Json(TRY(compare(a[0], a[1])) >= 0); }},
    {"not", 1, 1, false, [](Args& a) -> Result<Json> { return Json(!truth(a[0])); }},
    {"and", 1, kVariadic, false,
     [](Args& a) -> Result<Json> {
       for (const auto& v : a)
         if (!truth(v)) return v;
       return a.back();
     }},
    {"or", 1, kVariadic, false,
     [](Args& a) -> Result<Json> {
       for (const auto& v : a)
         if (truth(v)) return v;
       return a.back();
     }},
};

}  // namespace

const FuncDef* findFunction(std::string_view name) {
  for (const auto& f : kFuncs)
    if (f.name == name) return &f;
  return nullptr;
}

bool isKnownFunction(std::string_view name) { return findFunction(name) != nullptr; }

}  // namespace strata::tmpl
