// Digest parsing and computation.
#include "oci/digest.h"

#include <gtest/gtest.h>

#include "util/sha256.h"

namespace strata::oci {
namespace {

const std::string kEmpty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const std::string kAbc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

TEST(Digest, OfKnownInputs) {
  EXPECT_EQ(Digest::of("").str(), "sha256:" + kEmpty);
  EXPECT_EQ(Digest::of("abc").str(), "sha256:" + kAbc);
  EXPECT_EQ(Digest::of("abc").algorithm, "sha256");
  // Longer than one SHA-256 block, to cover the block loop.
  EXPECT_EQ(Digest::of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq").hex,
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(Digest::of(std::string(1000000, 'a')).hex,
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Digest, ParseSha256) {
  auto d = Digest::parse("sha256:" + kEmpty);
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(d->algorithm, "sha256");
  EXPECT_EQ(d->hex, kEmpty);
  EXPECT_EQ(d->str(), "sha256:" + kEmpty);
  EXPECT_FALSE(d->empty());
  EXPECT_EQ(*d, Digest::of(""));
  EXPECT_EQ(*d, Digest::sha256(kEmpty));
}

TEST(Digest, ParseSha512) {
  std::string hex(128, 'a');
  auto d = Digest::parse("sha512:" + hex);
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(d->algorithm, "sha512");
  EXPECT_EQ(d->hex, hex);
}

TEST(Digest, ParseErrorsNameTheText) {
  for (const std::string& text : std::vector<std::string>{
           "", std::string("sha256"), kEmpty, "sha256:", "sha256:" + kEmpty.substr(1),
           "sha256:" + kEmpty + "0", "sha256:" + std::string(64, 'A'),
           "sha256:" + std::string(64, 'g'), "md5:d41d8cd98f00b204e9800998ecf8427e",
           "SHA256:" + kEmpty, "sha512:" + kEmpty, ":" + kEmpty,
           "sha256:" + kEmpty.substr(0, 63) + " "}) {
    auto d = Digest::parse(text);
    ASSERT_FALSE(d) << text;
    EXPECT_NE(d.error().message().find(text), std::string::npos) << d.error().message();
    EXPECT_EQ(d.error().code(), 0);
  }
}

TEST(Digest, Ordering) {
  Digest a = Digest::sha256(std::string(64, '0'));
  Digest b = Digest::sha256(std::string(64, '1'));
  EXPECT_LT(a, b);
  EXPECT_NE(a, b);
  EXPECT_EQ(a, Digest::sha256(std::string(64, '0')));
  EXPECT_TRUE(Digest{}.empty());
}

TEST(Digest, IsSha256Hex) {
  EXPECT_TRUE(isSha256Hex(kEmpty));
  EXPECT_FALSE(isSha256Hex("sha256:" + kEmpty));
  EXPECT_FALSE(isSha256Hex(kEmpty.substr(1)));
  EXPECT_FALSE(isSha256Hex(kEmpty + "0"));
  EXPECT_FALSE(isSha256Hex(std::string(64, 'A')));
  EXPECT_FALSE(isSha256Hex(""));
}

// FIPS 180-2's long test vector (a million 'a'), fed in uneven pieces that cross block
// boundaries, and in one piece.
TEST(Digest, Sha256IncrementalMatchesOneShot) {
  const std::string million(1000000, 'a');
  const std::string expected = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
  Sha256 h;
  size_t off = 0;
  for (size_t piece = 1; off < million.size(); piece = piece * 3 + 1) {
    size_t n = std::min(piece % 4099, million.size() - off);
    h.update(million.data() + off, n);
    off += n;
  }
  EXPECT_EQ(h.hex(), expected);
  EXPECT_EQ(Sha256::hexOf(million), expected);
}

}  // namespace
}  // namespace strata::oci
