// Output in Docker's shapes: aligned tables, --format templates, one-line errors.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "oci/image.h"
#include "util/error.h"

namespace strata::cli {

// Exit status for an error of strata itself (Docker's 125).
inline constexpr int kExitError = 125;

// Prints "Error: <what>" on one line to stderr and returns kExitError.
int reportError(const Error& e);
int reportError(const std::string& message);

// Docker's tabwriter layout (minimum width 10, padding 3, last column unpadded).
std::string formatTable(const std::vector<std::vector<std::string>>& rows);

// A table column: the header title and the row field it shows.
struct Column {
  std::string title;
  std::string field;
};

// Prints rows as a table of columns, or through a Go template when format is non-empty
// ("table ..." templates print a header too; "json" prints each row as JSON).
Status printRows(const std::vector<oci::Json>& rows, const std::vector<Column>& columns,
                 const std::string& format);

}  // namespace strata::cli
