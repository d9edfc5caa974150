// libFuzzer target: image references. Any input either fails cleanly or yields a reference whose
// normalised and familiar forms parse back to the same reference.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "oci/reference.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)strata::oci::asImageIdPrefix(text);
  auto ref = strata::oci::Reference::parse(text);
  if (!ref) {
    const std::string& msg = ref.error().message();
    if (msg.empty() || msg.find('\n') != std::string::npos) std::abort();
    return 0;
  }
  if (ref->repository().size() > 255) std::abort();
  if (ref->tag.empty() && !ref->digest) std::abort();
  for (const std::string& form : {ref->str(), ref->familiar()}) {
    auto again = strata::oci::Reference::parse(form);
    if (!again || again->str() != ref->str() || again->familiar() != ref->familiar()) std::abort();
  }
  return 0;
}
