#include "store/layer_tar.h"

#include <sys/socket.h>

#include <optional>
#include <thread>

#include "util/fd.h"
#include "util/fs.h"

namespace strata::store {
namespace {

layer::WriteTarOptions layerTarOptions() {
  layer::WriteTarOptions options;
  options.overlay = layer::OverlayMarkers::ToLayer;
  return options;
}

class LayerTarReader final : public layer::Reader {
 public:
  LayerTarReader(UniqueFd in, std::string diffIdHex, uint64_t size)
      : in_(std::move(in)), diffIdHex_(std::move(diffIdHex)), size_(size) {}
  LayerTarReader(const LayerTarReader&) = delete;
  LayerTarReader& operator=(const LayerTarReader&) = delete;

  ~LayerTarReader() override {
    in_.reset();  // a writer still sending gets EPIPE and stops
    if (writer_.joinable()) writer_.join();
  }

  // Starts the thread that writes tree's tar into out, the other end of in_.
  void start(std::string tree, UniqueFd out) {
    writer_ = std::thread([this, tree = std::move(tree), out = std::move(out)] {
      made_ = writeLayerTar(tree, [&](const void* data, size_t n) {
        return sendAll(out.get(), data, n, "send layer tar");
      });
    });  // out is closed as the thread ends: the reader sees the end of the stream
  }

  Result<size_t> read(void* buf, size_t size) override {
    const size_t n = TRY_CTX(readSome(in_.get(), buf, size), "layer sha256:" + diffIdHex_);
    read_ += n;
    if (read_ > size_) return fail(layerChangedError(diffIdHex_));
    if (n > 0) return n;
    if (writer_.joinable()) writer_.join();
    if (!*made_)
      return fail(Error(made_->error()).wrap("layer sha256:" + diffIdHex_ + ": make its tar"));
    if ((*made_)->sha256Hex != diffIdHex_ || (*made_)->size != size_)
      return fail(layerChangedError(diffIdHex_));
    return size_t(0);
  }

 private:
  UniqueFd in_;
  const std::string diffIdHex_;
  const uint64_t size_;
  uint64_t read_ = 0;
  std::thread writer_;
  std::optional<Result<layer::WriteTarResult>> made_;  // set by writer_ before it ends
};

}  // namespace

Result<layer::WriteTarResult> writeLayerTar(const std::string& tree, const layer::Sink& sink) {
  return layer::writeTarFromDir(tree, sink, layerTarOptions());
}

Result<layer::WriteTarResult> writeLayerTar(const std::string& tree, int fd) {
  return layer::writeTarFromDir(tree, fd, layerTarOptions());
}

Error layerChangedError(const std::string& diffIdHex) {
  return Error::invalid("layer sha256:" + diffIdHex +
                        " changed on disk: its tar no longer matches its diff_id");
}

Result<std::unique_ptr<layer::Reader>> openLayerTar(const std::string& tree,
                                                    const std::string& diffIdHex, uint64_t size) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0)
    return failErrno("socketpair for the tar of layer sha256:" + diffIdHex);
  UniqueFd in(fds[0]), out(fds[1]);
  auto reader = std::make_unique<LayerTarReader>(std::move(in), diffIdHex, size);
  reader->start(tree, std::move(out));
  return std::unique_ptr<layer::Reader>(std::move(reader));
}

}  // namespace strata::store
