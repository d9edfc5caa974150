#include "cli/output.h"

#include <cstdio>
#include <map>

#include "util/template.h"

namespace strata::cli {

int reportError(const Error& e) { return reportError(e.what()); }

int reportError(const std::string& message) {
  std::string line = message;
  for (auto& c : line)
    if (c == '\n') c = ' ';
  std::fprintf(stderr, "Error: %s\n", line.c_str());
  return kExitError;
}

// Width in terminal columns: UTF-8 code points.
static size_t displayWidth(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

std::string formatTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& r : rows) {
    for (size_t i = 0; i + 1 < r.size(); ++i) {
      if (widths.size() <= i) widths.resize(i + 1, 0);
      widths[i] = std::max(widths[i], displayWidth(r[i]) + 3);
    }
  }
  for (auto& w : widths) w = std::max<size_t>(w, 10);
  std::string out;
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line.append(widths[i] - displayWidth(r[i]), ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

static std::string cell(const oci::Json& row, const std::string& field) {
  auto it = row.find(field);
  if (it == row.end() || it->is_null()) return "";
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}

Status printRows(const std::vector<oci::Json>& rows, const std::vector<Column>& columns,
                 const std::string& format) {
  if (format.empty() || format == "table") {
    std::vector<std::vector<std::string>> table;
    std::vector<std::string> header;
    for (const auto& c : columns) header.push_back(c.title);
    table.push_back(header);
    for (const auto& r : rows) {
      std::vector<std::string> line;
      for (const auto& c : columns) line.push_back(cell(r, c.field));
      table.push_back(std::move(line));
    }
    std::fputs(formatTable(table).c_str(), stdout);
    return {};
  }
  std::string text = format == "json" ? "{{json .}}" : format;
  Template t = TRY(Template::parse(text));
  std::map<std::string, std::string> titles;
  for (const auto& c : columns) titles[c.field] = c.title;
  if (t.isTable()) {
    std::vector<std::vector<std::string>> table;
    auto split = [](const std::string& s) {
      std::vector<std::string> cells;
      size_t start = 0;
      for (size_t i = 0; i <= s.size(); ++i) {
        if (i == s.size() || s[i] == '\t') {
          cells.push_back(s.substr(start, i - start));
          start = i + 1;
        }
      }
      return cells;
    };
    table.push_back(split(t.header(titles)));
    for (const auto& r : rows) table.push_back(split(TRY(t.render(r))));
    std::fputs(formatTable(table).c_str(), stdout);
    return {};
  }
  for (const auto& r : rows) {
    std::string line = TRY(t.render(r));
    std::fputs((line + "\n").c_str(), stdout);
  }
  return {};
}

}  // namespace strata::cli
