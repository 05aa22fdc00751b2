// Tests for engine/value/document_id.h: Convex v6 document IDs, base32 and Fletcher-16
// (convex-protocol.md §3).

#include "engine/value/document_id.h"

#include <array>
#include <cctype>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace cvx {
namespace {

using ::cvx::testing::StatusIs;

const auto kInvalidId = StatusIs(absl::StatusCode::kInvalidArgument, "InvalidId");
constexpr char kAlphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";

// The worked example from the spec.
constexpr char kSpecId[] = "j57020g30g2gc1r81450p30d1s721dgy";
DocumentId SpecId() {
  return DocumentId{10001, {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b,
                            0x0c, 0x0d, 0x0e, 0x4e, 0x20}};
}

std::string Varint(uint32_t n) {
  std::string out;
  while (n >= 0x80) {
    out.push_back(static_cast<char>((n & 0x7f) | 0x80));
    n >>= 7;
  }
  out.push_back(static_cast<char>(n));
  return out;
}

// Builds an ID text by hand from raw table-number bytes and an internal id, with a correct
// footer, so decoding failures can be attributed to one thing.
std::string HandEncode(const std::string& table_bytes, const InternalId& internal_id) {
  std::string bytes = table_bytes;
  bytes.append(reinterpret_cast<const char*>(internal_id.data()), internal_id.size());
  uint16_t footer = Fletcher16(bytes);
  bytes.push_back(static_cast<char>(footer & 0xff));
  bytes.push_back(static_cast<char>(footer >> 8));
  return Base32Encode(bytes);
}

InternalId RandomInternalId(std::mt19937_64& rng) {
  InternalId id;
  for (uint8_t& b : id) b = static_cast<uint8_t>(rng());
  return id;
}

// ---------------------------------------------------------------------------------------

TEST(DocumentIdTest, SpecVectorEncodes) {
  EXPECT_EQ(SpecId().Encode(), kSpecId);
}

TEST(DocumentIdTest, SpecVectorDecodes) {
  ASSERT_OK_AND_ASSIGN(DocumentId id, DocumentId::Decode(kSpecId));
  EXPECT_EQ(id.table_number, 10001u);
  EXPECT_EQ(id.internal_id, SpecId().internal_id);
  EXPECT_EQ(id, SpecId());
}

TEST(DocumentIdTest, ConvexStabilityVector) {
  // crates/value/src/id_v6.rs test_document_id_stability: table 1017, internal id
  // b[0] = 251, b[i] = b[i-1] * 251 (mod 256).
  DocumentId id{1017, {}};
  id.internal_id[0] = 251;
  for (int i = 1; i < 16; ++i) {
    id.internal_id[i] = static_cast<uint8_t>(id.internal_id[i - 1] * 251);
  }
  EXPECT_EQ(id.Encode(), "z43zp6c3e75gkmz1kfwj6mbbx5sw281h");
  ASSERT_OK_AND_ASSIGN(DocumentId back, DocumentId::Decode("z43zp6c3e75gkmz1kfwj6mbbx5sw281h"));
  EXPECT_EQ(back, id);
}

TEST(DocumentIdTest, UserTablesStartWithJ5) {
  std::mt19937_64 rng(1);
  for (int i = 0; i < 20; ++i) {
    DocumentId id{kFirstUserTableNumber, RandomInternalId(rng)};
    EXPECT_EQ(id.Encode().substr(0, 2), "j5");
  }
}

TEST(DocumentIdTest, EncodedLengths) {
  struct Case {
    uint32_t table;
    size_t length;
  };
  for (const Case& c : std::vector<Case>{{1, 31},
                                         {127, 31},
                                         {128, 32},
                                         {kFirstSystemTableNumber, 32},
                                         {kFirstUserTableNumber, 32},
                                         {16383, 32},
                                         {16384, 34},
                                         {(1u << 21) - 1, 34},
                                         {1u << 21, 36},
                                         {(1u << 28) - 1, 36},
                                         {1u << 28, 37},
                                         {UINT32_MAX, 37}}) {
    DocumentId id{c.table, {}};
    std::string text = id.Encode();
    EXPECT_EQ(text.size(), c.length) << "table " << c.table;
    ASSERT_OK_AND_ASSIGN(DocumentId back, DocumentId::Decode(text));
    EXPECT_EQ(back, id);
  }
}

TEST(DocumentIdTest, EncodingUsesOnlyTheAlphabet) {
  std::mt19937_64 rng(2);
  const std::string alphabet = kAlphabet;
  for (int i = 0; i < 200; ++i) {
    DocumentId id{static_cast<uint32_t>(rng()) | 1u, RandomInternalId(rng)};
    for (char c : id.Encode()) {
      EXPECT_NE(alphabet.find(c), std::string::npos) << c;
    }
  }
}

TEST(DocumentIdTest, RandomRoundTrips) {
  std::mt19937_64 rng(0x5eed);
  for (int i = 0; i < 5000; ++i) {
    uint32_t table;
    switch (i % 4) {
      case 0: table = 1 + static_cast<uint32_t>(rng() % 127); break;
      case 1: table = 128 + static_cast<uint32_t>(rng() % (16384 - 128)); break;
      case 2: table = kFirstUserTableNumber + static_cast<uint32_t>(rng() % 1000); break;
      default: table = static_cast<uint32_t>(rng() % UINT32_MAX) + 1; break;
    }
    DocumentId id{table, RandomInternalId(rng)};
    std::string text = id.Encode();
    ASSERT_GE(text.size(), 31u);
    ASSERT_LE(text.size(), 37u);
    absl::StatusOr<DocumentId> back = DocumentId::Decode(text);
    ASSERT_TRUE(back.ok()) << text << ": " << back.status();
    EXPECT_EQ(*back, id) << text;
    EXPECT_EQ(back->Encode(), text);
  }
}

TEST(DocumentIdTest, OrderingComparesTableThenInternalId) {
  DocumentId a{1, {}};
  DocumentId b{2, {}};
  DocumentId c{1, {}};
  c.internal_id[15] = 1;
  EXPECT_LT(a, b);
  EXPECT_LT(a, c);
  EXPECT_LT(c, b);
  EXPECT_EQ(a, (DocumentId{1, {}}));
}

// ---------------------------------------------------------------------------------------
// Rejections.

TEST(DocumentIdDecodeTest, WrongLength) {
  std::string id = kSpecId;
  EXPECT_THAT(DocumentId::Decode(""), kInvalidId);
  EXPECT_THAT(DocumentId::Decode(id.substr(0, 30)), kInvalidId);
  EXPECT_THAT(DocumentId::Decode(std::string(30, '0')), kInvalidId);
  EXPECT_THAT(DocumentId::Decode(std::string(38, '0')), kInvalidId);
  EXPECT_THAT(DocumentId::Decode(id + "000000"), kInvalidId);  // 38 chars
  EXPECT_THAT(DocumentId::Decode(id + "0"), kInvalidId);       // 33: not a byte boundary
  EXPECT_THAT(DocumentId::Decode(id.substr(0, 31)), kInvalidId);
  EXPECT_THAT(DocumentId::Decode(std::string(1000, 'a')), kInvalidId);
}

TEST(DocumentIdDecodeTest, Uppercase) {
  std::string upper = kSpecId;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_THAT(DocumentId::Decode(upper), kInvalidId);
  std::string one_upper = kSpecId;
  one_upper[0] = 'J';
  EXPECT_THAT(DocumentId::Decode(one_upper), kInvalidId);
}

TEST(DocumentIdDecodeTest, CharactersOutsideTheAlphabet) {
  // The alphabet drops i, l, o and u (no Crockford-style aliasing either).
  for (char bad : {'i', 'l', 'o', 'u', 'I', 'L', 'O', 'U', '-', '_', '=', ' ', '\0', '\xff'}) {
    for (size_t pos : {size_t{0}, size_t{5}, size_t{31}}) {
      std::string text = kSpecId;
      text[pos] = bad;
      EXPECT_THAT(DocumentId::Decode(text), kInvalidId) << "char " << int(bad) << " at " << pos;
    }
  }
}

TEST(DocumentIdDecodeTest, FlippedCharacterBreaksFooter) {
  // Changing any single character must be caught (footer, canonical padding or a bad table
  // number); never decode to a different ID.
  const std::string good = kSpecId;
  int checked = 0;
  for (size_t pos = 0; pos < good.size(); ++pos) {
    for (const char* p = kAlphabet; *p; ++p) {
      if (*p == good[pos]) continue;
      std::string text = good;
      text[pos] = *p;
      absl::StatusOr<DocumentId> r = DocumentId::Decode(text);
      if (r.ok()) {
        // Fletcher-16 cannot catch every change; an accepted text must still be canonical.
        EXPECT_EQ(r->Encode(), text);
        continue;
      }
      EXPECT_THAT(r, kInvalidId) << text;
      ++checked;
    }
  }
  EXPECT_GT(checked, 900);
}

TEST(DocumentIdDecodeTest, BadFooter) {
  // A specific flip in the internal-id part: the footer no longer matches.
  std::string text = kSpecId;
  text[10] = text[10] == 'a' ? 'b' : 'a';
  EXPECT_THAT(DocumentId::Decode(text), kInvalidId);

  // Hand-built: correct structure, footer off by one.
  std::string bytes = Varint(10001);
  bytes.append(reinterpret_cast<const char*>(SpecId().internal_id.data()), 16);
  uint16_t footer = Fletcher16(bytes) ^ 1;
  bytes.push_back(static_cast<char>(footer & 0xff));
  bytes.push_back(static_cast<char>(footer >> 8));
  EXPECT_THAT(DocumentId::Decode(Base32Encode(bytes)), kInvalidId);

  // Footer in big-endian order instead of little-endian.
  std::string be = Varint(10001);
  be.append(reinterpret_cast<const char*>(SpecId().internal_id.data()), 16);
  uint16_t f = Fletcher16(be);
  ASSERT_NE(f & 0xff, f >> 8);
  be.push_back(static_cast<char>(f >> 8));
  be.push_back(static_cast<char>(f & 0xff));
  EXPECT_THAT(DocumentId::Decode(Base32Encode(be)), kInvalidId);
}

TEST(DocumentIdDecodeTest, NonCanonicalPadBits) {
  // The spec ID has 20 bytes = 160 bits = exactly 32 characters: no pad bits. A 31-char ID
  // (19 bytes, 152 bits) has 3 pad bits in its last character.
  DocumentId small{5, SpecId().internal_id};
  std::string text = small.Encode();
  ASSERT_EQ(text.size(), 31u);
  std::string alphabet = kAlphabet;
  size_t last = alphabet.find(text.back());
  ASSERT_EQ(last & 7, 0u) << "pad bits of the canonical text must be zero";
  for (size_t pad = 1; pad < 8; ++pad) {
    std::string bad = text;
    bad.back() = alphabet[last | pad];
    EXPECT_THAT(DocumentId::Decode(bad), kInvalidId) << bad;
  }
  // A 34-char ID (21 bytes, 168 bits) has 2 pad bits.
  DocumentId mid{20000, SpecId().internal_id};
  std::string text34 = mid.Encode();
  ASSERT_EQ(text34.size(), 34u);
  size_t last34 = alphabet.find(text34.back());
  ASSERT_EQ(last34 & 3, 0u);
  for (size_t pad = 1; pad < 4; ++pad) {
    std::string bad = text34;
    bad.back() = alphabet[last34 | pad];
    EXPECT_THAT(DocumentId::Decode(bad), kInvalidId) << bad;
  }
}

TEST(DocumentIdDecodeTest, TableNumberZero) {
  InternalId internal = SpecId().internal_id;
  std::string text = HandEncode(std::string(1, '\0'), internal);
  ASSERT_EQ(text.size(), 31u);
  EXPECT_THAT(DocumentId::Decode(text), kInvalidId);
  // Also through DocumentId::Encode with table 0.
  EXPECT_THAT(DocumentId::Decode(DocumentId{0, internal}.Encode()), kInvalidId);
  // Zero in a two-byte varint.
  EXPECT_THAT(DocumentId::Decode(HandEncode(std::string("\x80\x00", 2), internal)), kInvalidId);
}

TEST(DocumentIdDecodeTest, HandEncodedValidIdDecodes) {
  // Sanity check of HandEncode itself, so the rejections above are meaningful.
  EXPECT_EQ(HandEncode(Varint(10001), SpecId().internal_id), kSpecId);
  ASSERT_OK_AND_ASSIGN(DocumentId id,
                       DocumentId::Decode(HandEncode(Varint(1), SpecId().internal_id)));
  EXPECT_EQ(id.table_number, 1u);
}

TEST(DocumentIdDecodeTest, BadTableVarint) {
  InternalId internal{};
  // Six varint bytes: too long for a u32.
  EXPECT_THAT(DocumentId::Decode(HandEncode(std::string("\x81\x81\x81\x81\x81\x01", 6),
                                            internal)),
              kInvalidId);
  // Five bytes whose value exceeds 2^32 - 1.
  EXPECT_THAT(DocumentId::Decode(HandEncode(std::string("\xff\xff\xff\xff\x7f", 5), internal)),
              kInvalidId);
  // Exactly 2^32 - 1 is fine.
  ASSERT_OK_AND_ASSIGN(
      DocumentId max,
      DocumentId::Decode(HandEncode(std::string("\xff\xff\xff\xff\x0f", 5), internal)));
  EXPECT_EQ(max.table_number, UINT32_MAX);
}

TEST(DocumentIdDecodeTest, WrongPayloadLength) {
  // Valid base32 of the right text length but the wrong number of bytes after the varint:
  // a 2-byte varint followed by a 15-byte internal id (+ footer) = 19 bytes = 31 chars.
  std::string bytes = Varint(10001) + std::string(15, '\x07');
  uint16_t footer = Fletcher16(bytes);
  bytes.push_back(static_cast<char>(footer & 0xff));
  bytes.push_back(static_cast<char>(footer >> 8));
  std::string text = Base32Encode(bytes);
  ASSERT_EQ(text.size(), 31u);
  EXPECT_THAT(DocumentId::Decode(text), kInvalidId);
  // Convex's own regression input (a 1-byte-looking table code that takes two bytes).
  EXPECT_THAT(DocumentId::Decode("sssswsgggggggggsgcsssfafffsffks"), kInvalidId);
}

TEST(DocumentIdDecodeTest, RandomGarbageNeverCrashes) {
  std::mt19937_64 rng(99);
  int accepted = 0;
  for (int i = 0; i < 5000; ++i) {
    std::string text(31 + rng() % 7, '0');
    for (char& c : text) c = kAlphabet[rng() % 32];
    absl::StatusOr<DocumentId> r = DocumentId::Decode(text);
    if (r.ok()) {
      ++accepted;
      EXPECT_EQ(r->Encode(), text);
    } else {
      EXPECT_THAT(r, kInvalidId);
    }
  }
  // A random footer matches about 1 time in 65536.
  EXPECT_LT(accepted, 10);
}

// ---------------------------------------------------------------------------------------
// Helpers.

TEST(MakeInternalIdTest, DayNumberBigEndianInLastTwoBytes) {
  std::array<uint8_t, 14> random;
  for (int i = 0; i < 14; ++i) random[i] = static_cast<uint8_t>(0xa0 + i);
  // 2023-11-14T22:13:20Z = 1700000000 s -> day 19675 = 0x4cdb.
  InternalId id = MakeInternalId(random, 1700000000);
  for (int i = 0; i < 14; ++i) EXPECT_EQ(id[i], random[i]) << i;
  EXPECT_EQ(id[14], 0x4c);
  EXPECT_EQ(id[15], 0xdb);

  // Day 20000 = 0x4e20, the spec example's suffix.
  InternalId spec = MakeInternalId(random, int64_t{20000} * 86400 + 86399);
  EXPECT_EQ(spec[14], 0x4e);
  EXPECT_EQ(spec[15], 0x20);

  InternalId epoch = MakeInternalId(random, 0);
  EXPECT_EQ(epoch[14], 0);
  EXPECT_EQ(epoch[15], 0);
  InternalId day_one = MakeInternalId(random, 86400);
  EXPECT_EQ(day_one[14], 0);
  EXPECT_EQ(day_one[15], 1);
  InternalId day_256 = MakeInternalId(random, int64_t{256} * 86400);
  EXPECT_EQ(day_256[14], 1);
  EXPECT_EQ(day_256[15], 0);
}

TEST(Fletcher16Test, KnownValues) {
  EXPECT_EQ(Fletcher16(""), 0);
  // Modulus 256 (not Wikipedia's 255): c0 wraps 294 -> 38 on "abc".
  EXPECT_EQ(Fletcher16("abcde"), 0xc3ef);
  EXPECT_EQ(Fletcher16("abcdef"), 0x1855);
  EXPECT_EQ(Fletcher16("abcdefgh"), 0xf824);
  // 0xff + 0x01 wraps c0 to 0.
  EXPECT_EQ(Fletcher16(std::string("\xff\x01", 2)), 0xff00);
  EXPECT_EQ(Fletcher16(std::string("\xff", 1)), 0xffff);
}

TEST(Base32Test, Vectors) {
  EXPECT_EQ(Base32Encode(""), "");
  EXPECT_EQ(Base32Encode(std::string(1, '\0')), "00");
  EXPECT_EQ(Base32Encode("\xff"), "zw");
  EXPECT_EQ(Base32Encode(std::string(5, '\xff')), "zzzzzzzz");
  EXPECT_EQ(Base32Encode(std::string(5, '\0')), "00000000");
  // 0x08 = 00001 000 -> '1', then pad 000 00 -> '0'.
  EXPECT_EQ(Base32Encode("\x08"), "10");
  std::string out;
  ASSERT_TRUE(Base32Decode("zw", &out));
  EXPECT_EQ(out, "\xff");
  EXPECT_FALSE(Base32Decode("zz", &out));  // non-zero pad bits
  EXPECT_FALSE(Base32Decode("z", &out));   // 5 bits: not a whole byte
  EXPECT_FALSE(Base32Decode("zu", &out));  // 'u' is not in the alphabet
  EXPECT_FALSE(Base32Decode("ZW", &out));  // uppercase
}

TEST(Base32Test, RandomRoundTrip) {
  std::mt19937_64 rng(3);
  for (int i = 0; i < 1000; ++i) {
    std::string raw(rng() % 30, '\0');
    for (char& c : raw) c = static_cast<char>(rng());
    std::string text = Base32Encode(raw);
    EXPECT_EQ(text.size(), (raw.size() * 8 + 4) / 5);
    std::string out;
    ASSERT_TRUE(Base32Decode(text, &out)) << text;
    EXPECT_EQ(out, raw);
  }
}

}  // namespace
}  // namespace cvx
