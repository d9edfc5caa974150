// libFuzzer target: layer extraction of arbitrary bytes must never crash and never write outside
// its root. Build with: cmake -B build-fuzz -DSTRATA_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++
#include <cstring>
#include <string>

#include "layer/tar.h"
#include "util/fs.h"

namespace {

class BytesReader : public strata::layer::Reader {
 public:
  BytesReader(const uint8_t* d, size_t n) : d_(d), n_(n) {}
  strata::Result<size_t> read(void* buf, size_t size) override {
    size = std::min(size, n_ - off_);
    std::memcpy(buf, d_ + off_, size);
    off_ += size;
    return size;
  }

 private:
  const uint8_t* d_;
  size_t n_, off_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto base = strata::TempDir::create("/tmp", "strata-tar-fuzz-");
  if (!base) return 0;
  std::string root = base->path() + "/root";
  if (!strata::mkdirAll(root)) return 0;
  strata::layer::ExtractOptions opt;
  opt.maxBytes = 64 << 20;
  opt.whiteouts = size % 2 ? strata::layer::WhiteoutMode::Apply : strata::layer::WhiteoutMode::Overlay;
  (void)strata::layer::extractLayer(std::make_unique<BytesReader>(data, size), root, opt);
  // Anything written must be under root: the base dir holds root only.
  auto names = strata::listDirectory(base->path());
  if (!names || names->size() != 1) __builtin_trap();
  return 0;
}
