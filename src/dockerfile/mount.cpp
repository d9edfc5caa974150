#include "dockerfile/mount.h"

#include <fmt/format.h>

#include <charconv>

#include "dockerfile/text.h"

namespace strata::dockerfile {
namespace {

// Comma-separated fields with CSV quoting: a field that starts with `"` runs to the closing
// quote, and `""` inside it is one quote.
Result<std::vector<std::string>> csvFields(std::string_view s) {
  std::vector<std::string> fields;
  std::size_t pos = 0;
  for (;;) {
    std::string field;
    if (pos < s.size() && s[pos] == '"') {
      ++pos;
      for (;;) {
        if (pos >= s.size()) return failInvalid(fmt::format("unterminated quote in {}", s));
        if (s[pos] == '"') {
          if (pos + 1 < s.size() && s[pos + 1] == '"') {
            field += '"';
            pos += 2;
            continue;
          }
          ++pos;
          break;
        }
        field += s[pos++];
      }
      if (pos < s.size() && s[pos] != ',')
        return failInvalid(fmt::format("extraneous text after quoted field in {}", s));
    } else {
      std::size_t comma = s.find(',', pos);
      if (comma == std::string_view::npos) comma = s.size();
      field = std::string(s.substr(pos, comma - pos));
      pos = comma;
    }
    fields.push_back(std::move(field));
    if (pos >= s.size()) break;
    ++pos;  // the comma
  }
  return fields;
}

Result<bool> boolValue(std::string_view key, std::string_view value, bool hasValue) {
  if (!hasValue) return true;
  const std::string lower = text::toLower(value);
  if (lower == "true" || lower == "1") return true;
  if (lower == "false" || lower == "0") return false;
  return failInvalid(fmt::format("invalid value for {}: {}", key, value));
}

Result<uint32_t> number(std::string_view key, std::string_view value, int base) {
  uint32_t out = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), out, base);
  if (value.empty() || ec != std::errc() || end != value.data() + value.size())
    return failInvalid(fmt::format("invalid value for {}: {}", key, value));
  return out;
}

// Sizes as Docker writes them for memory: "64m", "1g", "512k", "1024", binary multiples.
Result<int64_t> ramBytes(std::string_view value) {
  std::size_t i = 0;
  double n = 0;
  while (i < value.size() && value[i] >= '0' && value[i] <= '9') n = n * 10 + (value[i++] - '0');
  if (i == 0) return failInvalid(fmt::format("invalid size: {}", value));
  if (i < value.size() && value[i] == '.') {
    double scale = 0.1;
    for (++i; i < value.size() && value[i] >= '0' && value[i] <= '9'; ++i, scale /= 10)
      n += (value[i] - '0') * scale;
  }
  if (i < value.size() && value[i] == ' ') ++i;
  std::string unit = text::toLower(value.substr(i));
  if (unit.ends_with("b")) unit.pop_back();
  if (unit.ends_with("i")) unit.pop_back();
  static const std::string_view kUnits = "kmgtp";
  double mult = 1;
  if (unit.size() == 1 && kUnits.find(unit[0]) != std::string_view::npos) {
    for (std::size_t k = 0; k <= kUnits.find(unit[0]); ++k) mult *= 1024;
  } else if (!unit.empty()) {
    return failInvalid(fmt::format("invalid size: {}", value));
  }
  return static_cast<int64_t>(n * mult);
}

}  // namespace

Result<Mount> parseMount(std::string_view spec) {
  Mount m;
  std::vector<std::string> fields = TRY(csvFields(spec));
  // The type decides the defaults, so find it first.
  for (const std::string& field : fields) {
    std::string_view f = field;
    if (!f.starts_with("type=")) continue;
    std::string_view type = f.substr(5);
    if (type == "bind") m.type = Mount::Type::Bind;
    else if (type == "cache") m.type = Mount::Type::Cache;
    else if (type == "tmpfs") m.type = Mount::Type::Tmpfs;
    else if (type == "secret") m.type = Mount::Type::Secret;
    else if (type == "ssh") m.type = Mount::Type::Ssh;
    else return failInvalid(fmt::format("unsupported mount type \"{}\"", type));
  }
  m.readOnly = m.type == Mount::Type::Bind;
  for (const std::string& field : fields) {
    std::string_view f = text::trim(field);
    if (f.empty()) continue;
    const std::size_t eq = f.find('=');
    const bool hasValue = eq != std::string_view::npos;
    const std::string key = text::toLower(f.substr(0, eq));
    const std::string_view value = hasValue ? f.substr(eq + 1) : std::string_view();
    const auto needValue = [&]() -> Status {
      if (!hasValue) return failInvalid(fmt::format("invalid field '{}' must be a key=value pair", f));
      return {};
    };
    if (key == "type") {
      continue;
    } else if (key == "target" || key == "dst" || key == "destination") {
      TRYV(needValue());
      m.target = std::string(value);
    } else if (key == "source" || key == "src") {
      TRYV(needValue());
      m.source = std::string(value);
    } else if (key == "from") {
      TRYV(needValue());
      m.from = std::string(value);
    } else if (key == "readonly" || key == "ro") {
      m.readOnly = TRY(boolValue(key, value, hasValue));
    } else if (key == "rw" || key == "readwrite") {
      m.readOnly = !TRY(boolValue(key, value, hasValue));
    } else if (key == "id") {
      TRYV(needValue());
      m.id = std::string(value);
    } else if (key == "sharing") {
      TRYV(needValue());
      if (value == "shared") m.sharing = Mount::Sharing::Shared;
      else if (value == "private") m.sharing = Mount::Sharing::Private;
      else if (value == "locked") m.sharing = Mount::Sharing::Locked;
      else return failInvalid(fmt::format("unsupported sharing value \"{}\"", value));
    } else if (key == "mode") {
      TRYV(needValue());
      m.mode = TRY(number(key, value, 8));
    } else if (key == "uid") {
      TRYV(needValue());
      m.uid = TRY(number(key, value, 10));
    } else if (key == "gid") {
      TRYV(needValue());
      m.gid = TRY(number(key, value, 10));
    } else if (key == "size") {
      TRYV(needValue());
      if (m.type != Mount::Type::Tmpfs) return failInvalid("size is only valid for tmpfs mounts");
      m.size = TRY(ramBytes(value));
    } else if (key == "required") {
      m.required = TRY(boolValue(key, value, hasValue));
    } else if (key == "env") {
      TRYV(needValue());
      m.env = std::string(value);
    } else {
      return failInvalid(fmt::format("unexpected key '{}' in '{}'", key, f));
    }
  }
  switch (m.type) {
    case Mount::Type::Bind:
    case Mount::Type::Cache:
    case Mount::Type::Tmpfs:
      if (m.target.empty()) return failInvalid(fmt::format("mount target not set in \"{}\"", spec));
      break;
    case Mount::Type::Secret:
      if (m.id.empty() && m.target.empty() && m.env.empty())
        return failInvalid(fmt::format("secret mount needs an id or a target in \"{}\"", spec));
      break;
    case Mount::Type::Ssh:
      break;
  }
  if (m.type == Mount::Type::Cache && m.id.empty()) m.id = m.target;
  return m;
}

}  // namespace strata::dockerfile
