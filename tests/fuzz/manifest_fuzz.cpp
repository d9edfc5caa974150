// libFuzzer target: manifests, indexes and image configs. Any input either fails cleanly or
// yields documents whose serialisation parses back to the same serialisation.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "oci/image.h"

namespace {

template <typename T, typename Parse>
void roundTrip(std::string_view text, Parse parse) {
  auto doc = parse(text);
  if (!doc) {
    if (doc.error().message().empty()) std::abort();
    return;
  }
  std::string once = strata::oci::serialize(strata::oci::toJson(*doc));
  auto again = parse(once);
  if (!again) std::abort();
  if (strata::oci::serialize(strata::oci::toJson(*again)) != once) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  using namespace strata::oci;
  (void)sniffMediaType(text);
  roundTrip<Manifest>(text, [](std::string_view t) { return parseManifest(t); });
  roundTrip<Index>(text, [](std::string_view t) { return parseIndex(t); });
  roundTrip<ImageConfig>(text, [](std::string_view t) { return parseImageConfig(t); });
  return 0;
}
