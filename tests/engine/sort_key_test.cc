// Tests for engine/value/sort_key.h: the order-preserving byte encoding of values used for
// index keys. The central property: memcmp(SortKey(a), SortKey(b)) has the sign of
// CompareValues(a, b), and concatenated keys order like tuples (convex-protocol.md §4).

#include "engine/value/sort_key.h"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "engine/value/document_id.h"
#include "engine/value/json.h"
#include "engine/value/value.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cvx {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

int Sign(int c) { return (c > 0) - (c < 0); }

// Unsigned bytewise comparison, spelled out with memcmp.
int CompareBytes(const std::string& a, const std::string& b) {
  int c = std::memcmp(a.data(), b.data(), std::min(a.size(), b.size()));
  if (c != 0) return Sign(c);
  return a.size() < b.size() ? -1 : (a.size() > b.size() ? 1 : 0);
}

std::string Hex(const std::string& s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
    out.push_back(' ');
  }
  return out;
}

std::string Describe(const Value& v) { return ToConvexJson(v); }

Value Str(std::string s) { return Value::String(std::move(s)); }
Value I(int64_t v) { return Value::Int64(v); }
Value F(double v) { return Value::Float64(v); }
Value Arr(Array a) { return Value::FromArray(std::move(a)); }
Value Obj(Object o) { return Value::FromObject(std::move(o)); }

std::string UndefinedKey() {
  std::string out;
  AppendSortKey(std::optional<Value>{}, &out);
  return out;
}

// ---------------------------------------------------------------------------------------
// Random value generation, biased towards edge cases and towards pairs that are close.

class ValueGen {
 public:
  explicit ValueGen(uint64_t seed) : rng_(seed) {}

  uint64_t Next() { return rng_(); }
  uint64_t Below(uint64_t n) { return rng_() % n; }

  Value Random(int depth) {
    int kinds = depth > 0 ? 8 : 6;
    switch (Below(kinds)) {
      case 0: return Value::Null();
      case 1: return I(RandomInt());
      case 2: return F(RandomFloat());
      case 3: return Value::Boolean(Below(2) == 1);
      case 4: return Str(RandomString());
      case 5: return Value::Bytes(RandomString());
      case 6: {
        Array a;
        size_t n = Below(5);
        for (size_t i = 0; i < n; ++i) a.push_back(Random(depth - 1));
        return Arr(std::move(a));
      }
      default: {
        Object o;
        size_t n = Below(4);
        for (size_t i = 0; i < n; ++i) o.emplace(RandomName(), Random(depth - 1));
        return Obj(std::move(o));
      }
    }
  }

  // A value near `v`: same shape with one change, so comparisons go deep.
  Value Mutate(const Value& v, int depth) {
    switch (v.type()) {
      case ValueType::kArray: {
        Array a = v.array();
        uint64_t op = Below(4);
        if (a.empty() || op == 0) {
          a.push_back(Random(std::max(depth - 1, 0)));
        } else if (op == 1) {
          a.pop_back();
        } else {
          size_t i = Below(a.size());
          a[i] = Mutate(a[i], depth - 1);
        }
        return Arr(std::move(a));
      }
      case ValueType::kObject: {
        Object o = v.object();
        uint64_t op = Below(4);
        if (o.empty() || op == 0) {
          o[RandomName()] = Random(std::max(depth - 1, 0));
        } else if (op == 1) {
          auto it = o.begin();
          std::advance(it, Below(o.size()));
          o.erase(it);
        } else {
          auto it = o.begin();
          std::advance(it, Below(o.size()));
          it->second = Mutate(it->second, depth - 1);
        }
        return Obj(std::move(o));
      }
      case ValueType::kString: {
        std::string s = v.string();
        MutateString(&s);
        return Str(std::move(s));
      }
      case ValueType::kBytes: {
        std::string s = v.bytes();
        MutateString(&s);
        return Value::Bytes(std::move(s));
      }
      case ValueType::kInt64: {
        int64_t x = v.int64();
        // Wrapping +-1 via unsigned arithmetic reaches the extremes' neighbours.
        return I(static_cast<int64_t>(static_cast<uint64_t>(x) + (Below(2) ? 1 : -1)));
      }
      case ValueType::kFloat64: {
        uint64_t bits = std::bit_cast<uint64_t>(v.float64());
        switch (Below(3)) {
          case 0: return F(std::bit_cast<double>(bits + 1));
          case 1: return F(std::bit_cast<double>(bits - 1));
          default: return F(std::bit_cast<double>(bits ^ (uint64_t{1} << 63)));
        }
      }
      default: return Random(depth);
    }
  }

 private:
  int64_t RandomInt() {
    constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
    constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
    switch (Below(6)) {
      case 0: {
        static constexpr int64_t kEdges[] = {kMin, kMin + 1, -256, -1, 0, 1, 255, 256,
                                             kMax - 1, kMax};
        return kEdges[Below(std::size(kEdges))];
      }
      case 1:
      case 2: return static_cast<int64_t>(Below(7)) - 3;
      default: return static_cast<int64_t>(Next());
    }
  }

  double RandomFloat() {
    constexpr uint64_t kSign = uint64_t{1} << 63;
    uint64_t sign = Below(2) ? kSign : 0;
    switch (Below(10)) {
      case 0: {  // NaN with a random non-zero payload and sign
        uint64_t payload = Next() & 0x000fffffffffffffULL;
        if (payload == 0) payload = 1;
        return std::bit_cast<double>(sign | 0x7ff0000000000000ULL | payload);
      }
      case 1: return std::bit_cast<double>(sign);  // +-0
      case 2: return sign ? -kInf : kInf;
      case 3: {  // subnormal
        uint64_t mantissa = Next() & 0x000fffffffffffffULL;
        if (Below(2)) mantissa = Below(3);
        return std::bit_cast<double>(sign | mantissa);
      }
      case 4: {
        static constexpr double kEdges[] = {std::numeric_limits<double>::denorm_min(),
                                            std::numeric_limits<double>::min(),
                                            std::numeric_limits<double>::max(),
                                            std::numeric_limits<double>::epsilon(),
                                            1.0,
                                            0.5,
                                            9007199254740992.0};
        double d = kEdges[Below(std::size(kEdges))];
        return sign ? -d : d;
      }
      case 5:
      case 6: return static_cast<double>(static_cast<int64_t>(Below(7)) - 3);
      default: return std::bit_cast<double>(Next());
    }
  }

  std::string RandomString() {
    static const std::string kPieces[] = {std::string(1, '\0'), "\x01", "a", "b", "\xfe",
                                          "\xff", "\xc3\xa9", "\xf0\x9f\x98\x80"};
    std::string s;
    size_t n = Below(5);
    for (size_t i = 0; i < n; ++i) s += kPieces[Below(std::size(kPieces))];
    return s;
  }

  void MutateString(std::string* s) {
    static const char kChars[] = {'\0', '\x01', 'a', 'b', '\xfe', '\xff'};
    uint64_t op = Below(3);
    if (s->empty() || op == 0) {
      s->insert(s->begin() + static_cast<std::ptrdiff_t>(Below(s->size() + 1)),
                kChars[Below(std::size(kChars))]);
    } else if (op == 1) {
      s->erase(s->begin() + static_cast<std::ptrdiff_t>(Below(s->size())));
    } else {
      (*s)[Below(s->size())] = kChars[Below(std::size(kChars))];
    }
  }

  std::string RandomName() {
    static const std::string kNames[] = {"", "a", "aa", "ab", "b", "_id", "z", "a b",
                                         std::string("a\0", 2), "\x7e"};
    return kNames[Below(std::size(kNames))];
  }

  std::mt19937_64 rng_;
};

// ---------------------------------------------------------------------------------------
// The property test.

TEST(SortKeyPropertyTest, MemcmpOrderMatchesCompareValues) {
  ValueGen gen(0x5017'4E7C'0DE5'EED5ULL);
  constexpr int kPairs = 60000;
  int equal_pairs = 0, less_pairs = 0, greater_pairs = 0, failures = 0;
  for (int i = 0; i < kPairs; ++i) {
    Value a = gen.Random(4);
    Value b;
    switch (gen.Below(4)) {
      case 0: b = a; break;
      case 1: b = gen.Mutate(a, 4); break;
      default: b = gen.Random(4); break;
    }
    int expected = Sign(CompareValues(a, b));
    int reverse = Sign(CompareValues(b, a));
    std::string ka = SortKey(a), kb = SortKey(b);
    int actual = CompareBytes(ka, kb);
    if (expected == 0) ++equal_pairs;
    if (expected < 0) ++less_pairs;
    if (expected > 0) ++greater_pairs;
    if (actual != expected || reverse != -expected) {
      if (++failures <= 5) {
        ADD_FAILURE() << "a = " << Describe(a) << "\nb = " << Describe(b)
                      << "\nCompareValues sign " << expected << ", reversed " << reverse
                      << ", memcmp sign " << actual << "\nkey a: " << Hex(ka)
                      << "\nkey b: " << Hex(kb);
      }
    }
  }
  EXPECT_EQ(failures, 0);
  // The generator must actually exercise all three outcomes.
  EXPECT_GT(equal_pairs, kPairs / 10);
  EXPECT_GT(less_pairs, kPairs / 5);
  EXPECT_GT(greater_pairs, kPairs / 5);
}

TEST(SortKeyPropertyTest, ConcatenatedKeysOrderLikeTuples) {
  ValueGen gen(20240229);
  int failures = 0;
  for (int i = 0; i < 20000; ++i) {
    Value x1 = gen.Random(3);
    Value x2 = gen.Below(2) ? x1 : gen.Mutate(x1, 3);
    Value y1 = gen.Random(3);
    Value y2 = gen.Below(3) ? gen.Mutate(y1, 3) : gen.Random(3);
    int expected = Sign(CompareValues(x1, x2));
    if (expected == 0) expected = Sign(CompareValues(y1, y2));
    std::string k1 = SortKey(x1) + SortKey(y1);
    std::string k2 = SortKey(x2) + SortKey(y2);
    if (CompareBytes(k1, k2) != expected && ++failures <= 5) {
      ADD_FAILURE() << "(" << Describe(x1) << ", " << Describe(y1) << ") vs (" << Describe(x2)
                    << ", " << Describe(y2) << "): expected " << expected;
    }
  }
  EXPECT_EQ(failures, 0);
}

TEST(SortKeyPropertyTest, PrefixRangeContainsExactlyMatchingFirstComponent) {
  ValueGen gen(777);
  int failures = 0;
  for (int i = 0; i < 20000; ++i) {
    Value v = gen.Random(3);
    Value w = gen.Below(2) ? gen.Mutate(v, 3) : gen.Random(3);
    Value y = gen.Random(2);
    std::string lo = SortKey(v);
    std::string hi = RangeEnd(lo);
    std::string key_v = lo + SortKey(y);
    std::string key_w = SortKey(w) + SortKey(y);
    bool v_in = CompareBytes(lo, key_v) <= 0 && CompareBytes(key_v, hi) < 0;
    bool w_in = CompareBytes(lo, key_w) <= 0 && CompareBytes(key_w, hi) < 0;
    bool w_should_be_in = CompareValues(v, w) == 0;
    // The bare prefix (a key with nothing after it) is in range too.
    bool bare_in = CompareBytes(lo, hi) < 0;
    if ((!v_in || w_in != w_should_be_in || !bare_in) && ++failures <= 5) {
      ADD_FAILURE() << "v = " << Describe(v) << " w = " << Describe(w) << " y = " << Describe(y)
                    << " v_in=" << v_in << " w_in=" << w_in;
    }
  }
  EXPECT_EQ(failures, 0);
}

TEST(SortKeyPropertyTest, UndefinedInCompositeKeys) {
  // A missing field (undefined) in the first position sorts before any present value, and
  // composite keys remain prefix-ordered.
  ValueGen gen(4242);
  const std::string undef = UndefinedKey();
  for (int i = 0; i < 2000; ++i) {
    Value v = gen.Random(3);
    Value y1 = gen.Random(2), y2 = gen.Random(2);
    EXPECT_LT(CompareBytes(undef + SortKey(y1), SortKey(v) + SortKey(y2)), 0) << Describe(v);
    std::string k1 = undef + SortKey(y1), k2 = undef + SortKey(y2);
    EXPECT_EQ(CompareBytes(k1, k2), Sign(CompareValues(y1, y2)));
    EXPECT_LT(CompareBytes(undef, k1), 0);
    EXPECT_LT(CompareBytes(k1, RangeEnd(undef)), 0);
  }
}

// ---------------------------------------------------------------------------------------
// Targeted cases.

void ExpectStrictlyAscending(const std::vector<Value>& values) {
  for (size_t i = 0; i + 1 < values.size(); ++i) {
    EXPECT_LT(CompareValues(values[i], values[i + 1]), 0) << i;
    EXPECT_LT(CompareBytes(SortKey(values[i]), SortKey(values[i + 1])), 0)
        << Describe(values[i]) << " vs " << Describe(values[i + 1]);
  }
}

TEST(SortKeyTest, StringsWithNulBytes) {
  ExpectStrictlyAscending({Str(""), Str(std::string("\0", 1)), Str("a"), Str(std::string("a\0", 2)),
                           Str(std::string("a\0\0", 3)), Str(std::string("a\0\x01", 3)),
                           Str("a\x01"), Str("b"), Str("\xff"), Str("\xff\xff")});
}

TEST(SortKeyTest, BytesWithNulAndFf) {
  ExpectStrictlyAscending({Value::Bytes(""), Value::Bytes(std::string("\0", 1)),
                           Value::Bytes(std::string("\0\0", 2)),
                           Value::Bytes(std::string("\0\xff", 2)), Value::Bytes("\x01"),
                           Value::Bytes("\xfe"), Value::Bytes("\xff"),
                           Value::Bytes(std::string("\xff\0", 2)), Value::Bytes("\xff\xff")});
}

TEST(SortKeyTest, ArraysAndObjects) {
  ExpectStrictlyAscending({Arr({}), Arr({Value::Null()}), Arr({Value::Null(), Value::Null()}),
                           Arr({I(1)}), Arr({I(1), I(2)}), Arr({I(2)}), Arr({Str("a")}),
                           Arr({Str(std::string("a\0", 2))}), Arr({Arr({})})});
  ExpectStrictlyAscending({Obj({}), Obj({{"", Value::Null()}}), Obj({{"", I(0)}}),
                           Obj({{"a", I(1)}}), Obj({{"a", I(1)}, {"b", I(1)}}),
                           Obj({{"a", I(2)}}), Obj({{std::string("a\0", 2), Value::Null()}}),
                           Obj({{"aa", Value::Null()}}), Obj({{"b", Value::Null()}})});
}

TEST(SortKeyTest, TypeOrderAndFloats) {
  const double kNaN = std::numeric_limits<double>::quiet_NaN();
  ExpectStrictlyAscending(
      {Value::Null(), I(std::numeric_limits<int64_t>::min()), I(-1), I(0), I(1),
       I(std::numeric_limits<int64_t>::max()), F(-kNaN), F(-kInf),
       F(-std::numeric_limits<double>::max()), F(-1.0),
       F(-std::numeric_limits<double>::denorm_min()), F(-0.0), F(0.0),
       F(std::numeric_limits<double>::denorm_min()), F(1.0), F(kInf), F(kNaN),
       Value::Boolean(false), Value::Boolean(true), Str(""), Str("\xff"), Value::Bytes(""),
       Value::Bytes("\xff"), Arr({}), Arr({Obj({})}), Obj({})});
  EXPECT_NE(SortKey(I(1)), SortKey(F(1.0)));
  EXPECT_NE(SortKey(F(-0.0)), SortKey(F(0.0)));
}

TEST(SortKeyTest, UndefinedSortsBeforeNull) {
  std::string undef = UndefinedKey();
  EXPECT_EQ(undef, "\x01");
  EXPECT_LT(CompareBytes(undef, SortKey(Value::Null())), 0);
  for (const Value& v : {Value::Null(), I(std::numeric_limits<int64_t>::min()), F(-kInf),
                         Value::Boolean(false), Str(""), Value::Bytes(""), Arr({}), Obj({})}) {
    EXPECT_LT(CompareBytes(undef, SortKey(v)), 0) << Describe(v);
  }
  // A present optional encodes like the value itself.
  std::string present;
  AppendSortKey(std::optional<Value>(I(5)), &present);
  EXPECT_EQ(present, SortKey(I(5)));
}

TEST(SortKeyTest, DocumentedLayout) {
  EXPECT_EQ(SortKey(Value::Null()), std::string("\x02"));
  EXPECT_EQ(SortKey(I(0)), std::string("\x03\x80\0\0\0\0\0\0\0", 9));
  EXPECT_EQ(SortKey(I(-1)), std::string("\x03\x7f\xff\xff\xff\xff\xff\xff\xff", 9));
  EXPECT_EQ(SortKey(F(0.0)), std::string("\x04\x80\0\0\0\0\0\0\0", 9));
  EXPECT_EQ(SortKey(F(-0.0)), std::string("\x04\x7f\xff\xff\xff\xff\xff\xff\xff", 9));
  EXPECT_EQ(SortKey(F(1.0)), std::string("\x04\xbf\xf0\0\0\0\0\0\0", 9));
  EXPECT_EQ(SortKey(Value::Boolean(false)), "\x05");
  EXPECT_EQ(SortKey(Value::Boolean(true)), "\x06");
  EXPECT_EQ(SortKey(Str("a")), std::string("\x07" "a\0", 3));
  EXPECT_EQ(SortKey(Str(std::string("a\0", 2))), std::string("\x07" "a\0\xff\0", 5));
  EXPECT_EQ(SortKey(Value::Bytes(std::string("\0", 1))), std::string("\x08\0\xff\0", 4));
  EXPECT_EQ(SortKey(Arr({})), std::string("\x09\0", 2));
  EXPECT_EQ(SortKey(Arr({Value::Null()})), std::string("\x09\x02\0", 3));
  EXPECT_EQ(SortKey(Obj({})), std::string("\x0a\0", 2));
  EXPECT_EQ(SortKey(Obj({{"a", Value::Null()}})), std::string("\x0a\x01" "a\0\x02\0", 6));
}

TEST(SortKeyTest, AppendSortKeyAppends) {
  std::string out = "xy";
  AppendSortKey(Value::Boolean(true), &out);
  AppendSortKey(Str("s"), &out);
  EXPECT_EQ(out, std::string("xy\x06\x07s\0", 6));
}

TEST(SortKeyTest, RangeEnd) {
  EXPECT_EQ(RangeEnd(""), "\xff");
  EXPECT_EQ(RangeEnd(SortKey(Value::Null())), "\x02\xff");
  // Keys extending "a" are in range; keys for "a\0" and "b" are not.
  std::string a = SortKey(Str("a"));
  std::string end = RangeEnd(a);
  EXPECT_LT(CompareBytes(a + SortKey(I(1)), end), 0);
  EXPECT_LT(CompareBytes(a + SortKey(Obj({{"z", Str("\xff\xff")}})), end), 0);
  EXPECT_GE(CompareBytes(SortKey(Str(std::string("a\0", 2))), end), 0);
  EXPECT_GE(CompareBytes(SortKey(Str(std::string("a\0", 2))) + SortKey(Value::Null()), end), 0);
  EXPECT_GE(CompareBytes(SortKey(Str("a\x01")), end), 0);
  EXPECT_GE(CompareBytes(SortKey(Str("b")), end), 0);
  // Keys for [] don't capture [null] and vice versa.
  std::string empty = SortKey(Arr({}));
  std::string with_null = SortKey(Arr({Value::Null()}));
  EXPECT_GE(CompareBytes(with_null, RangeEnd(empty)), 0);
}

TEST(SortKeyTest, IdSortKeyOrdersByTableThenInternalId) {
  std::mt19937_64 rng(55);
  auto random_id = [&] {
    DocumentId id;
    id.table_number = static_cast<uint32_t>(rng() % 4 == 0 ? rng() : 10001 + rng() % 3);
    for (uint8_t& b : id.internal_id) b = static_cast<uint8_t>(rng() % 4 == 0 ? rng() : rng() % 2);
    return id;
  };
  for (int i = 0; i < 5000; ++i) {
    DocumentId a = random_id();
    DocumentId b = rng() % 4 == 0 ? a : random_id();
    std::string ka, kb;
    AppendIdSortKey(a, &ka);
    AppendIdSortKey(b, &kb);
    ASSERT_EQ(ka.size(), 21u);
    EXPECT_EQ(ka[0], '\x0b');
    int expected = a < b ? -1 : (b < a ? 1 : 0);
    EXPECT_EQ(CompareBytes(ka, kb), expected);
  }
  DocumentId id{0x01020304, {}};
  id.internal_id[15] = 0xaa;
  std::string k;
  AppendIdSortKey(id, &k);
  EXPECT_EQ(k.substr(0, 5), std::string("\x0b\x01\x02\x03\x04", 5));
  EXPECT_EQ(static_cast<uint8_t>(k[20]), 0xaa);
}

TEST(SortKeyTest, IndexKeyWithIdTiebreak) {
  // [value, _creationTime] + _id: rows with equal fields order by id.
  DocumentId lo{10001, {}}, hi{10001, {}};
  hi.internal_id[0] = 1;
  std::string k1 = SortKey(Str("x")) + SortKey(F(1.0));
  std::string k2 = k1;
  AppendIdSortKey(lo, &k1);
  AppendIdSortKey(hi, &k2);
  EXPECT_LT(CompareBytes(k1, k2), 0);
  std::string prefix = SortKey(Str("x"));
  EXPECT_LT(CompareBytes(prefix, k1), 0);
  EXPECT_LT(CompareBytes(k2, RangeEnd(prefix)), 0);
}

}  // namespace
}  // namespace cvx
