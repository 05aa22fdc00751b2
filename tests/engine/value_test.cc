// Tests for engine/value/value.h: the value model, Convex's total order, the size and
// nesting formulas, name rules and the client/document validation limits
// (convex-protocol.md §2 and §4).

#include "engine/value/value.h"

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/values.h"

namespace cvx {
namespace {

using ::cvx::testing::StatusIs;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

using ::cvx::testing::Arr;
using ::cvx::testing::Bits;
using ::cvx::testing::F;
using ::cvx::testing::FromBits;
using ::cvx::testing::I;
using ::cvx::testing::Obj;
using ::cvx::testing::Str;

// `depth` arrays wrapped around `inner`: NestedArrays(2, null) = [[null]].
Value NestedArrays(int depth, Value inner) {
  Value v = std::move(inner);
  for (int i = 0; i < depth; ++i) v = Arr({std::move(v)});
  return v;
}
// `depth` empty arrays nested: NestedEmptyArrays(2) = [[]]; its nesting is `depth`.
Value NestedEmptyArrays(int depth) { return NestedArrays(depth - 1, Arr({})); }
Value NestedObjects(int depth, Value inner) {
  Value v = std::move(inner);
  for (int i = 0; i < depth; ++i) v = Obj({{"a", std::move(v)}});
  return v;
}

// ---------------------------------------------------------------------------------------
// Accessors and construction.

TEST(ValueTest, DefaultIsNull) {
  Value v;
  EXPECT_TRUE(v.is_null());
  EXPECT_EQ(v.type(), ValueType::kNull);
  EXPECT_TRUE(Value::Null().is_null());
  EXPECT_EQ(v, Value::Null());
}

TEST(ValueTest, ScalarAccessors) {
  Value i = Value::Int64(-42);
  EXPECT_TRUE(i.is_int64());
  EXPECT_EQ(i.type(), ValueType::kInt64);
  EXPECT_EQ(i.int64(), -42);
  EXPECT_FALSE(i.is_float64());

  Value f = Value::Float64(2.5);
  EXPECT_TRUE(f.is_float64());
  EXPECT_EQ(f.type(), ValueType::kFloat64);
  EXPECT_EQ(f.float64(), 2.5);
  EXPECT_FALSE(f.is_int64());

  Value b = Value::Boolean(true);
  EXPECT_TRUE(b.is_boolean());
  EXPECT_EQ(b.type(), ValueType::kBoolean);
  EXPECT_TRUE(b.boolean());
  EXPECT_FALSE(Value::Boolean(false).boolean());

  Value s = Value::String(std::string("h\0i", 3));
  EXPECT_TRUE(s.is_string());
  EXPECT_FALSE(s.is_bytes());
  EXPECT_EQ(s.type(), ValueType::kString);
  EXPECT_EQ(s.string(), std::string("h\0i", 3));

  Value by = Value::Bytes(std::string("\x00\xff", 2));
  EXPECT_TRUE(by.is_bytes());
  EXPECT_FALSE(by.is_string());
  EXPECT_EQ(by.type(), ValueType::kBytes);
  EXPECT_EQ(by.bytes(), std::string("\x00\xff", 2));
}

TEST(ValueTest, FloatKeepsExactBits) {
  const uint64_t payload_nan = 0x7ff4000000000abcULL;
  EXPECT_EQ(Bits(Value::Float64(FromBits(payload_nan)).float64()), payload_nan);
  EXPECT_EQ(Bits(Value::Float64(-0.0).float64()), 0x8000000000000000ULL);
  Value copy = Value::Float64(FromBits(0xfff8000000000001ULL));
  Value copied = copy;
  EXPECT_EQ(Bits(copied.float64()), 0xfff8000000000001ULL);
}

TEST(ValueTest, StringAndBytesAreDistinct) {
  EXPECT_NE(Value::String("abc"), Value::Bytes("abc"));
  EXPECT_LT(CompareValues(Value::String("zzz"), Value::Bytes("")), 0);
}

TEST(ValueTest, ArrayAccessorsAndMutation) {
  Value a = Arr({I(1), Str("x")});
  ASSERT_TRUE(a.is_array());
  EXPECT_EQ(a.type(), ValueType::kArray);
  ASSERT_EQ(a.array().size(), 2u);
  EXPECT_EQ(a.array()[0], I(1));
  EXPECT_EQ(a.array()[1], Str("x"));
  a.mutable_array().push_back(Value::Null());
  EXPECT_EQ(a.array().size(), 3u);
  EXPECT_TRUE(a.array()[2].is_null());
}

TEST(ValueTest, ObjectFieldsAreSortedAndFindable) {
  Object o;
  o.emplace("zeta", I(1));
  o.emplace("alpha", I(2));
  o.emplace("Mid", I(3));
  o.emplace("_id", I(4));
  Value v = Obj(std::move(o));
  ASSERT_TRUE(v.is_object());
  EXPECT_EQ(v.type(), ValueType::kObject);
  std::vector<std::string> names;
  for (const auto& [name, field] : v.object()) names.push_back(name);
  // Bytewise: 'M' (0x4d) < '_' (0x5f) < 'a' < 'z'.
  EXPECT_THAT(names, ::testing::ElementsAre("Mid", "_id", "alpha", "zeta"));

  ASSERT_NE(v.Find("alpha"), nullptr);
  EXPECT_EQ(*v.Find("alpha"), I(2));
  EXPECT_EQ(v.Find("missing"), nullptr);
  EXPECT_EQ(v.Find(""), nullptr);

  v.mutable_object()["new"] = Str("n");
  ASSERT_NE(v.Find("new"), nullptr);
  EXPECT_EQ(v.Find("new")->string(), "n");
}

TEST(ValueTest, FindOnNonObjectIsNull) {
  EXPECT_EQ(Value::Null().Find("a"), nullptr);
  EXPECT_EQ(Arr({I(1)}).Find("0"), nullptr);
  EXPECT_EQ(Str("a").Find("a"), nullptr);
}

TEST(ValueTest, CopiesAreDeep) {
  Value original = Obj({{"list", Arr({I(1)})}});
  Value copy = original;
  copy.mutable_object()["list"].mutable_array().push_back(I(2));
  copy.mutable_object()["extra"] = Value::Null();
  EXPECT_EQ(original.Find("list")->array().size(), 1u);
  EXPECT_EQ(original.Find("extra"), nullptr);
  EXPECT_NE(original, copy);
}

TEST(ValueTest, TypeNames) {
  EXPECT_STREQ(ValueTypeName(ValueType::kNull), "null");
  EXPECT_STREQ(ValueTypeName(ValueType::kInt64), "int64");
  EXPECT_STREQ(ValueTypeName(ValueType::kFloat64), "float64");
  EXPECT_STREQ(ValueTypeName(ValueType::kBoolean), "boolean");
  EXPECT_STREQ(ValueTypeName(ValueType::kString), "string");
  EXPECT_STREQ(ValueTypeName(ValueType::kBytes), "bytes");
  EXPECT_STREQ(ValueTypeName(ValueType::kArray), "array");
  EXPECT_STREQ(ValueTypeName(ValueType::kObject), "object");
}

// ---------------------------------------------------------------------------------------
// CompareValues: Convex's total order.

// Every value strictly ascending. Checked pairwise, so transitivity is covered too.
std::vector<Value> AscendingValues() {
  const double kMax = std::numeric_limits<double>::max();
  const double kMinNormal = std::numeric_limits<double>::min();
  const double kDenorm = std::numeric_limits<double>::denorm_min();
  return {
      Value::Null(),
      I(std::numeric_limits<int64_t>::min()),
      I(-1),
      I(0),
      I(1),
      I(std::numeric_limits<int64_t>::max()),
      F(FromBits(0xffffffffffffffffULL)),  // -NaN, largest payload
      F(FromBits(0xfff8000000000000ULL)),  // -NaN (quiet)
      F(FromBits(0xfff0000000000001ULL)),  // -NaN (smallest payload)
      F(-kInf),
      F(-kMax),
      F(-1.0),
      F(-kMinNormal),
      F(-kDenorm),
      F(-0.0),
      F(0.0),
      F(kDenorm),
      F(kMinNormal),
      F(0.5),
      F(1.0),
      F(kMax),
      F(kInf),
      F(FromBits(0x7ff0000000000001ULL)),  // +NaN (signalling, smallest payload)
      F(FromBits(0x7ff8000000000000ULL)),  // +NaN (quiet)
      F(FromBits(0x7fffffffffffffffULL)),  // +NaN, largest payload
      Value::Boolean(false),
      Value::Boolean(true),
      Str(""),
      Str(std::string("\0", 1)),
      Str("A"),
      Str("Z"),
      Str("a"),
      Str(std::string("a\0", 2)),
      Str("ab"),
      Str("b"),
      Str("\x7f"),
      Str("\xc3\xa9"),          // é
      Str("\xef\xbf\xbf"),      // U+FFFF
      Str("\xf0\x9f\x98\x80"),  // U+1F600 (in UTF-16 this would sort before U+FFFF)
      Value::Bytes(""),
      Value::Bytes(std::string("\0", 1)),
      Value::Bytes(std::string("\0\0", 2)),
      Value::Bytes("\x01"),
      Value::Bytes("\x7f"),
      Value::Bytes("\x80"),
      Value::Bytes("\xff"),
      Arr({}),
      Arr({Value::Null()}),
      Arr({Value::Null(), Value::Null()}),
      Arr({I(1)}),
      Arr({I(1), I(2)}),
      Arr({I(2)}),
      Arr({F(0.0)}),
      Arr({Str("")}),
      Arr({Arr({})}),
      Obj({}),
      Obj({{"", Value::Null()}}),
      Obj({{"", I(1)}}),
      Obj({{"a", I(1)}}),
      Obj({{"a", I(1)}, {"b", I(0)}}),
      Obj({{"a", I(2)}}),
      Obj({{"a", F(0)}}),
      Obj({{"aa", Value::Null()}}),
      Obj({{"b", Value::Null()}}),
  };
}

TEST(CompareValuesTest, TotalOrderPairwise) {
  std::vector<Value> values = AscendingValues();
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(CompareValues(values[i], values[i]), 0) << "index " << i;
    EXPECT_EQ(values[i], values[i]);
    for (size_t j = i + 1; j < values.size(); ++j) {
      EXPECT_LT(CompareValues(values[i], values[j]), 0) << "indices " << i << " < " << j;
      EXPECT_GT(CompareValues(values[j], values[i]), 0) << "indices " << j << " > " << i;
      EXPECT_NE(values[i], values[j]) << i << " vs " << j;
    }
  }
}

TEST(CompareValuesTest, ResultIsMinusOneZeroOrOne) {
  for (const Value& a : AscendingValues()) {
    for (const Value& b : AscendingValues()) {
      int c = CompareValues(a, b);
      EXPECT_TRUE(c == -1 || c == 0 || c == 1) << c;
    }
  }
}

TEST(CompareValuesTest, TypeOrder) {
  // null < int64 < float64 < false < true < string < bytes < array < object, regardless of
  // the contents.
  std::vector<Value> by_type = {Value::Null(),
                                I(std::numeric_limits<int64_t>::max()),
                                F(-kInf),
                                Value::Boolean(false),
                                Value::Boolean(true),
                                Str(""),
                                Value::Bytes(""),
                                Arr({}),
                                Obj({})};
  std::vector<Value> big_of_type = {Value::Null(),
                                    I(std::numeric_limits<int64_t>::max()),
                                    F(kNaN),
                                    Value::Boolean(false),
                                    Value::Boolean(true),
                                    Str("\xff\xff\xff"),
                                    Value::Bytes("\xff\xff"),
                                    Arr({Obj({{"z", I(1)}})}),
                                    Obj({{"z", Obj({})}})};
  for (size_t i = 0; i + 1 < by_type.size(); ++i) {
    EXPECT_LT(CompareValues(big_of_type[i], by_type[i + 1]), 0) << i;
  }
}

TEST(CompareValuesTest, Int64NeverEqualsFloat64) {
  EXPECT_NE(I(1), F(1.0));
  EXPECT_NE(I(0), F(0.0));
  EXPECT_LT(CompareValues(I(1), F(1.0)), 0);
  EXPECT_LT(CompareValues(I(100), F(0.5)), 0);
  EXPECT_LT(CompareValues(I(std::numeric_limits<int64_t>::max()), F(-kInf)), 0);
  EXPECT_GT(CompareValues(F(FromBits(0xffffffffffffffffULL)), I(5)), 0);
}

TEST(CompareValuesTest, FloatsUseIeeeTotalOrder) {
  EXPECT_NE(F(-0.0), F(0.0));
  EXPECT_LT(CompareValues(F(-0.0), F(0.0)), 0);
  EXPECT_LT(CompareValues(F(-kInf), F(-0.0)), 0);
  EXPECT_LT(CompareValues(F(0.0), F(kInf)), 0);
  EXPECT_LT(CompareValues(F(kInf), F(kNaN)), 0);
  EXPECT_LT(CompareValues(F(-kNaN), F(-kInf)), 0);
  // NaN equals itself (same bits), unlike IEEE ==.
  EXPECT_EQ(F(kNaN), F(kNaN));
  EXPECT_EQ(CompareValues(F(kNaN), F(kNaN)), 0);
  // Different NaN payloads are different values.
  EXPECT_NE(F(FromBits(0x7ff8000000000000ULL)), F(FromBits(0x7ff8000000000001ULL)));
  EXPECT_LT(CompareValues(F(FromBits(0x7ff8000000000000ULL)),
                          F(FromBits(0x7ff8000000000001ULL))),
            0);
  // Negative NaNs: a larger payload is further from zero, so smaller.
  EXPECT_LT(CompareValues(F(FromBits(0xfff8000000000001ULL)),
                          F(FromBits(0xfff8000000000000ULL))),
            0);
  EXPECT_LT(CompareValues(F(-2.0), F(-1.0)), 0);
  EXPECT_LT(CompareValues(F(1.0), F(2.0)), 0);
  EXPECT_LT(CompareValues(F(std::nextafter(1.0, 0.0)), F(1.0)), 0);
}

TEST(CompareValuesTest, Int64Order) {
  EXPECT_LT(CompareValues(I(std::numeric_limits<int64_t>::min()), I(-1)), 0);
  EXPECT_LT(CompareValues(I(-1), I(0)), 0);
  EXPECT_LT(CompareValues(I(std::numeric_limits<int64_t>::max() - 1),
                          I(std::numeric_limits<int64_t>::max())),
            0);
  EXPECT_EQ(CompareValues(I(7), I(7)), 0);
}

TEST(CompareValuesTest, BooleanOrder) {
  EXPECT_LT(CompareValues(Value::Boolean(false), Value::Boolean(true)), 0);
  EXPECT_GT(CompareValues(Value::Boolean(true), Value::Boolean(false)), 0);
  EXPECT_EQ(Value::Boolean(true), Value::Boolean(true));
}

TEST(CompareValuesTest, StringsAreBytewiseUtf8) {
  // High bytes compare as unsigned.
  EXPECT_LT(CompareValues(Str("a"), Str("\xc3\xa9")), 0);
  EXPECT_LT(CompareValues(Str("\x7f"), Str("\x80")), 0);
  EXPECT_LT(CompareValues(Str("a"), Str("\xff")), 0);
  // U+FFFF (EF BF BF) < U+1F600 (F0 9F 98 80) in UTF-8, the reverse of UTF-16 order.
  EXPECT_LT(CompareValues(Str("\xef\xbf\xbf"), Str("\xf0\x9f\x98\x80")), 0);
  EXPECT_LT(CompareValues(Str("\xee\x80\x80"), Str("\xf0\x90\x80\x80")), 0);
  // Uppercase before lowercase; a prefix first; embedded NULs count.
  EXPECT_LT(CompareValues(Str("Z"), Str("a")), 0);
  EXPECT_LT(CompareValues(Str("abc"), Str("abcd")), 0);
  EXPECT_LT(CompareValues(Str("a"), Str(std::string("a\0", 2))), 0);
  EXPECT_LT(CompareValues(Str(std::string("a\0", 2)), Str(std::string("a\0\0", 3))), 0);
  EXPECT_LT(CompareValues(Str(std::string("a\0\0", 3)), Str("a\x01")), 0);
  EXPECT_NE(Str("a"), Str(std::string("a\0", 2)));
}

TEST(CompareValuesTest, BytesAreBytewise) {
  EXPECT_LT(CompareValues(Value::Bytes("\x7f"), Value::Bytes("\x80")), 0);
  EXPECT_LT(CompareValues(Value::Bytes("\x01\xff"), Value::Bytes("\x02")), 0);
  EXPECT_LT(CompareValues(Value::Bytes(""), Value::Bytes(std::string("\0", 1))), 0);
  EXPECT_EQ(Value::Bytes(std::string("\0\xff", 2)), Value::Bytes(std::string("\0\xff", 2)));
}

TEST(CompareValuesTest, ArraysAreLexicographicWithPrefixFirst) {
  EXPECT_LT(CompareValues(Arr({}), Arr({Value::Null()})), 0);
  EXPECT_LT(CompareValues(Arr({I(1)}), Arr({I(1), I(2)})), 0);
  EXPECT_LT(CompareValues(Arr({I(1), I(2)}), Arr({I(2)})), 0);
  EXPECT_LT(CompareValues(Arr({I(1), I(3)}), Arr({I(2), I(0)})), 0);
  EXPECT_GT(CompareValues(Arr({I(1), I(3)}), Arr({I(1), I(2), I(9)})), 0);
  // Element type order applies inside arrays.
  EXPECT_LT(CompareValues(Arr({I(5)}), Arr({F(0.0)})), 0);
  EXPECT_LT(CompareValues(Arr({Arr({})}), Arr({Arr({Value::Null()})})), 0);
  EXPECT_EQ(Arr({I(1), Str("x")}), Arr({I(1), Str("x")}));
  EXPECT_NE(Arr({I(1)}), Arr({F(1)}));
}

TEST(CompareValuesTest, ObjectsCompareAsSortedFieldSequences) {
  EXPECT_LT(CompareValues(Obj({}), Obj({{"", Value::Null()}})), 0);
  EXPECT_LT(CompareValues(Obj({{"a", I(1)}}), Obj({{"a", I(2)}})), 0);
  EXPECT_LT(CompareValues(Obj({{"a", I(2)}}), Obj({{"b", I(1)}})), 0);
  // A prefix sequence sorts first.
  EXPECT_LT(CompareValues(Obj({{"a", I(1)}}), Obj({{"a", I(1)}, {"b", I(1)}})), 0);
  // The first field of each (by name) decides: ("a",1) < ("b",0).
  EXPECT_LT(CompareValues(Obj({{"a", I(1)}, {"c", I(1)}}), Obj({{"b", I(0)}})), 0);
  EXPECT_GT(CompareValues(Obj({{"b", I(0)}}), Obj({{"a", I(1)}, {"c", I(1)}})), 0);
  // Name decides before value.
  EXPECT_LT(CompareValues(Obj({{"a", Obj({{"z", Str("zzz")}})}}), Obj({{"b", Value::Null()}})),
            0);
  // Name "a" < "aa" even though the value is larger.
  EXPECT_LT(CompareValues(Obj({{"a", I(9)}}), Obj({{"aa", I(0)}})), 0);
  // Insertion order does not matter.
  Object x;
  x.emplace("b", I(2));
  x.emplace("a", I(1));
  Object y;
  y.emplace("a", I(1));
  y.emplace("b", I(2));
  EXPECT_EQ(Obj(x), Obj(y));
  EXPECT_NE(Obj({{"a", I(1)}}), Obj({{"a", F(1)}}));
}

// ---------------------------------------------------------------------------------------
// ValueSize and ValueNesting.

TEST(ValueSizeTest, Scalars) {
  EXPECT_EQ(ValueSize(Value::Null()), 1u);
  EXPECT_EQ(ValueSize(Value::Boolean(true)), 1u);
  EXPECT_EQ(ValueSize(Value::Boolean(false)), 1u);
  EXPECT_EQ(ValueSize(I(0)), 9u);
  EXPECT_EQ(ValueSize(I(std::numeric_limits<int64_t>::min())), 9u);
  EXPECT_EQ(ValueSize(F(kNaN)), 9u);
  EXPECT_EQ(ValueSize(Str("")), 2u);
  EXPECT_EQ(ValueSize(Str("abc")), 5u);
  EXPECT_EQ(ValueSize(Str("\xc3\xa9")), 4u);          // é is 2 UTF-8 bytes
  EXPECT_EQ(ValueSize(Str("\xf0\x9f\x98\x80")), 6u);  // U+1F600 is 4 UTF-8 bytes
  EXPECT_EQ(ValueSize(Value::Bytes("")), 2u);
  EXPECT_EQ(ValueSize(Value::Bytes(std::string(10, '\0'))), 12u);
}

TEST(ValueSizeTest, Containers) {
  EXPECT_EQ(ValueSize(Arr({})), 2u);
  EXPECT_EQ(ValueSize(Arr({I(1), Str("a")})), 2u + 9u + 3u);
  EXPECT_EQ(ValueSize(Obj({})), 2u);
  EXPECT_EQ(ValueSize(Obj({{"ab", Value::Null()}})), 2u + (2u + 1u + 1u));
  EXPECT_EQ(ValueSize(Obj({{"", Value::Null()}})), 2u + (0u + 1u + 1u));
  // {"x": [true, {"yz": 1.5}], "w": "hi"}
  Value v = Obj({{"x", Arr({Value::Boolean(true), Obj({{"yz", F(1.5)}})})}, {"w", Str("hi")}});
  size_t inner_obj = 2 + (2 + 1 + 9);
  size_t arr = 2 + 1 + inner_obj;
  size_t expected = 2 + (1 + 1 + arr) + (1 + 1 + 4);
  EXPECT_EQ(ValueSize(v), expected);
}

TEST(ValueNestingTest, Counts) {
  EXPECT_EQ(ValueNesting(Value::Null()), 0);
  EXPECT_EQ(ValueNesting(Str("abc")), 0);
  EXPECT_EQ(ValueNesting(Value::Bytes("abc")), 0);
  EXPECT_EQ(ValueNesting(Arr({})), 1);
  EXPECT_EQ(ValueNesting(Obj({})), 1);
  EXPECT_EQ(ValueNesting(Arr({I(1)})), 1);
  EXPECT_EQ(ValueNesting(Arr({Arr({})})), 2);
  EXPECT_EQ(ValueNesting(Obj({{"a", Arr({I(1)})}})), 2);
  EXPECT_EQ(ValueNesting(Arr({I(1), Arr({I(2), Arr({I(3)})}), Arr({})})), 3);
  EXPECT_EQ(ValueNesting(NestedArrays(10, I(1))), 10);
  EXPECT_EQ(ValueNesting(NestedEmptyArrays(10)), 10);
  EXPECT_EQ(ValueNesting(NestedObjects(7, Obj({}))), 8);
}

// ---------------------------------------------------------------------------------------
// Names.

TEST(FieldNameTest, Valid) {
  EXPECT_TRUE(IsValidFieldName(""));
  EXPECT_TRUE(IsValidFieldName("a"));
  EXPECT_TRUE(IsValidFieldName(" "));
  EXPECT_TRUE(IsValidFieldName("~"));
  EXPECT_TRUE(IsValidFieldName("a$"));
  EXPECT_TRUE(IsValidFieldName("_id"));
  EXPECT_TRUE(IsValidFieldName("_anything"));
  EXPECT_TRUE(IsValidFieldName("with space.and-dash!"));
  std::string all_printable;
  for (char c = 32; c <= 126; ++c) {
    if (c != '$') all_printable.push_back(c);
  }
  all_printable.push_back('$');  // '$' is fine after the first character
  EXPECT_TRUE(IsValidFieldName(all_printable));
  EXPECT_TRUE(IsValidFieldName(std::string(kMaxFieldNameLength, 'x')));
}

TEST(FieldNameTest, Invalid) {
  EXPECT_FALSE(IsValidFieldName("$"));
  EXPECT_FALSE(IsValidFieldName("$x"));
  EXPECT_FALSE(IsValidFieldName("$integer"));
  EXPECT_FALSE(IsValidFieldName("\x1f"));
  EXPECT_FALSE(IsValidFieldName("a\tb"));
  EXPECT_FALSE(IsValidFieldName("\x7f"));
  EXPECT_FALSE(IsValidFieldName(std::string("a\0", 2)));
  EXPECT_FALSE(IsValidFieldName("\xc3\xa9"));          // é: non-ASCII
  EXPECT_FALSE(IsValidFieldName("caf\xc3\xa9"));
  EXPECT_FALSE(IsValidFieldName("\xf0\x9f\x98\x80"));  // emoji
  EXPECT_FALSE(IsValidFieldName("\xff"));
  EXPECT_FALSE(IsValidFieldName(std::string(kMaxFieldNameLength + 1, 'x')));
}

TEST(IdentifierTest, Valid) {
  EXPECT_TRUE(IsValidIdentifier("a"));
  EXPECT_TRUE(IsValidIdentifier("A"));
  EXPECT_TRUE(IsValidIdentifier("messages"));
  EXPECT_TRUE(IsValidIdentifier("_a"));
  EXPECT_TRUE(IsValidIdentifier("_storage"));
  EXPECT_TRUE(IsValidIdentifier("a_1"));
  EXPECT_TRUE(IsValidIdentifier("by_creation_time"));
  EXPECT_TRUE(IsValidIdentifier("__9"));
  EXPECT_TRUE(IsValidIdentifier(std::string(kMaxIdentifierLength, 'z')));
}

TEST(IdentifierTest, Invalid) {
  EXPECT_FALSE(IsValidIdentifier(""));
  EXPECT_FALSE(IsValidIdentifier("1a"));
  EXPECT_FALSE(IsValidIdentifier("9"));
  EXPECT_FALSE(IsValidIdentifier("a-b"));
  EXPECT_FALSE(IsValidIdentifier("a b"));
  EXPECT_FALSE(IsValidIdentifier("a.b"));
  EXPECT_FALSE(IsValidIdentifier("a:b"));
  EXPECT_FALSE(IsValidIdentifier("$a"));
  EXPECT_FALSE(IsValidIdentifier("_"));
  EXPECT_FALSE(IsValidIdentifier("___"));
  EXPECT_FALSE(IsValidIdentifier("caf\xc3\xa9"));
  EXPECT_FALSE(IsValidIdentifier(std::string(kMaxIdentifierLength + 1, 'z')));
}

// ---------------------------------------------------------------------------------------
// ValidateValue.

TEST(ValidateValueTest, AcceptsOrdinaryValues) {
  EXPECT_OK(ValidateValue(Value::Null()));
  EXPECT_OK(ValidateValue(F(kNaN)));
  EXPECT_OK(ValidateValue(Str(std::string("\0\xff", 2))));  // strings are not checked here
  EXPECT_OK(ValidateValue(Obj({{"", I(1)}, {"_id", I(2)}, {"a$", Arr({Obj({})})}})));
}

TEST(ValidateValueTest, NestingLimitWithScalarInside) {
  // 64 arrays around a scalar: nesting 64, allowed.
  Value ok = NestedArrays(kMaxValueNesting, I(1));
  ASSERT_EQ(ValueNesting(ok), 64);
  EXPECT_OK(ValidateValue(ok));
  Value bad = NestedArrays(kMaxValueNesting + 1, I(1));
  ASSERT_EQ(ValueNesting(bad), 65);
  EXPECT_THAT(ValidateValue(bad), StatusIs(absl::StatusCode::kInvalidArgument, "TooNested"));
}

TEST(ValidateValueTest, NestingLimitWithEmptyInnermostContainer) {
  // Nesting counts containers, so 65 nested empty arrays have nesting 65 > 64 and must be
  // rejected just like 65 arrays around a scalar (Convex: check_nesting(nesting > 64)).
  Value ok = NestedEmptyArrays(kMaxValueNesting);
  ASSERT_EQ(ValueNesting(ok), 64);
  EXPECT_OK(ValidateValue(ok));
  Value bad = NestedEmptyArrays(kMaxValueNesting + 1);
  ASSERT_EQ(ValueNesting(bad), 65);
  EXPECT_THAT(ValidateValue(bad), StatusIs(absl::StatusCode::kInvalidArgument, "TooNested"));
  Value bad_obj = NestedObjects(kMaxValueNesting, Obj({}));
  ASSERT_EQ(ValueNesting(bad_obj), 65);
  EXPECT_THAT(ValidateValue(bad_obj),
              StatusIs(absl::StatusCode::kInvalidArgument, "TooNested"));
}

TEST(ValidateValueTest, NestingLimitWithObjects) {
  EXPECT_OK(ValidateValue(NestedObjects(kMaxValueNesting, Str("x"))));
  EXPECT_THAT(ValidateValue(NestedObjects(kMaxValueNesting + 1, Str("x"))),
              StatusIs(absl::StatusCode::kInvalidArgument, "TooNested"));
  // Mixed arrays and objects, deep branch not first.
  Value mixed = Obj({{"a", I(1)}, {"b", NestedArrays(kMaxValueNesting, Value::Null())}});
  ASSERT_EQ(ValueNesting(mixed), 65);
  EXPECT_THAT(ValidateValue(mixed), StatusIs(absl::StatusCode::kInvalidArgument, "TooNested"));
}

TEST(ValidateValueTest, ArrayLength) {
  EXPECT_OK(ValidateValue(Arr(Array(kMaxArrayLength, Value::Null()))));
  EXPECT_THAT(ValidateValue(Arr(Array(kMaxArrayLength + 1, Value::Null()))),
              StatusIs(absl::StatusCode::kInvalidArgument, "ArrayTooLong"));
  // Nested inside an object.
  EXPECT_THAT(ValidateValue(Obj({{"a", Arr(Array(kMaxArrayLength + 1, I(0)))}})),
              StatusIs(absl::StatusCode::kInvalidArgument, "ArrayTooLong"));
}

Object ManyFields(size_t n) {
  Object o;
  for (size_t i = 0; i < n; ++i) o.emplace("f" + std::to_string(i), Value::Null());
  return o;
}

TEST(ValidateValueTest, ObjectFieldCount) {
  EXPECT_OK(ValidateValue(Obj(ManyFields(kMaxObjectFields))));
  EXPECT_THAT(ValidateValue(Obj(ManyFields(kMaxObjectFields + 1))),
              StatusIs(absl::StatusCode::kInvalidArgument, "TooManyFields"));
  EXPECT_THAT(ValidateValue(Arr({Obj(ManyFields(kMaxObjectFields + 1))})),
              StatusIs(absl::StatusCode::kInvalidArgument, "TooManyFields"));
}

TEST(ValidateValueTest, BadFieldNames) {
  const auto kBad = StatusIs(absl::StatusCode::kInvalidArgument, "InvalidFieldName");
  EXPECT_THAT(ValidateValue(Obj({{"$x", I(1)}})), kBad);
  EXPECT_THAT(ValidateValue(Obj({{"$", I(1)}})), kBad);
  EXPECT_THAT(ValidateValue(Obj({{"caf\xc3\xa9", I(1)}})), kBad);
  EXPECT_THAT(ValidateValue(Obj({{"a\nb", I(1)}})), kBad);
  EXPECT_THAT(ValidateValue(Obj({{std::string("\0", 1), I(1)}})), kBad);
  EXPECT_THAT(ValidateValue(Obj({{std::string(kMaxFieldNameLength + 1, 'n'), I(1)}})), kBad);
  EXPECT_OK(ValidateValue(Obj({{std::string(kMaxFieldNameLength, 'n'), I(1)}})));
  // Deep inside arrays and objects.
  EXPECT_THAT(ValidateValue(Arr({I(1), Obj({{"ok", Arr({Obj({{"$bad", I(1)}})})}})})), kBad);
}

// ---------------------------------------------------------------------------------------
// ValidateDocumentFields.

TEST(ValidateDocumentFieldsTest, AcceptsSystemFieldsAndOrdinaryFields) {
  EXPECT_OK(ValidateDocumentFields({}));
  EXPECT_OK(ValidateDocumentFields({{"_id", Str("j57020g30g2gc1r81450p30d1s721dgy")},
                                    {"_creationTime", F(1700000000000.0)},
                                    {"name", Str("ada")},
                                    {"", I(1)}}));
  // '_' is only reserved at the top level.
  EXPECT_OK(ValidateDocumentFields({{"nested", Obj({{"_private", I(1)}})}}));
  EXPECT_OK(ValidateDocumentFields({{"a_", I(1)}}));
}

TEST(ValidateDocumentFieldsTest, RejectsReservedTopLevelFields) {
  const auto kBad = StatusIs(absl::StatusCode::kInvalidArgument, "InvalidFieldName");
  EXPECT_THAT(ValidateDocumentFields({{"_foo", I(1)}}), kBad);
  EXPECT_THAT(ValidateDocumentFields({{"_", I(1)}}), kBad);
  EXPECT_THAT(ValidateDocumentFields({{"_ID", I(1)}}), kBad);
  EXPECT_THAT(ValidateDocumentFields({{"_id_", I(1)}}), kBad);
  EXPECT_THAT(ValidateDocumentFields({{"_creationtime", I(1)}}), kBad);
  EXPECT_THAT(ValidateDocumentFields({{"ok", I(1)}, {"_scheduled", I(1)}}), kBad);
}

TEST(ValidateDocumentFieldsTest, AppliesValueRules) {
  EXPECT_THAT(ValidateDocumentFields({{"$x", I(1)}}),
              StatusIs(absl::StatusCode::kInvalidArgument, "InvalidFieldName"));
  EXPECT_THAT(ValidateDocumentFields({{"a", Obj({{"\xc3\xa9", I(1)}})}}),
              StatusIs(absl::StatusCode::kInvalidArgument, "InvalidFieldName"));
  EXPECT_THAT(ValidateDocumentFields({{"a", Arr(Array(kMaxArrayLength + 1, I(0)))}}),
              StatusIs(absl::StatusCode::kInvalidArgument, "ArrayTooLong"));
  EXPECT_THAT(ValidateDocumentFields(ManyFields(kMaxObjectFields + 1)),
              StatusIs(absl::StatusCode::kInvalidArgument, "TooManyFields"));
}

TEST(ValidateDocumentFieldsTest, DocumentNestingLimit) {
  // The document object itself counts: {"a": <nesting 15>} has nesting 16.
  Object ok = {{"a", NestedArrays(kMaxDocumentNesting - 1, I(1))}};
  ASSERT_EQ(ValueNesting(Obj(ok)), 16);
  EXPECT_OK(ValidateDocumentFields(ok));
  Object bad = {{"a", NestedArrays(kMaxDocumentNesting, I(1))}};
  ASSERT_EQ(ValueNesting(Obj(bad)), 17);
  EXPECT_THAT(ValidateDocumentFields(bad),
              StatusIs(absl::StatusCode::kInvalidArgument, "TooNested"));
  Object bad_empty = {{"a", NestedEmptyArrays(kMaxDocumentNesting)}};
  ASSERT_EQ(ValueNesting(Obj(bad_empty)), 17);
  EXPECT_THAT(ValidateDocumentFields(bad_empty),
              StatusIs(absl::StatusCode::kInvalidArgument, "TooNested"));
  Object bad_obj = {{"x", I(1)}, {"y", NestedObjects(kMaxDocumentNesting, I(1))}};
  EXPECT_THAT(ValidateDocumentFields(bad_obj),
              StatusIs(absl::StatusCode::kInvalidArgument, "TooNested"));
}

TEST(ValidateDocumentFieldsTest, DocumentSizeLimit) {
  // size({"s": <n chars>}) = 2 + (1 + 1 + (2 + n)) = n + 6.
  const size_t n = kMaxDocumentSize - 6;
  Object exact = {{"s", Str(std::string(n, 'x'))}};
  ASSERT_EQ(ValueSize(Obj(exact)), kMaxDocumentSize);
  EXPECT_OK(ValidateDocumentFields(exact));
  Object over = {{"s", Str(std::string(n + 1, 'x'))}};
  ASSERT_EQ(ValueSize(Obj(over)), kMaxDocumentSize + 1);
  EXPECT_THAT(ValidateDocumentFields(over),
              StatusIs(absl::StatusCode::kInvalidArgument, "DocumentTooLarge"));
  // Spread across fields and bytes.
  Object spread = {{"a", Value::Bytes(std::string(kMaxDocumentSize / 2, '\0'))},
                   {"b", Value::Bytes(std::string(kMaxDocumentSize / 2, '\0'))}};
  EXPECT_THAT(ValidateDocumentFields(spread),
              StatusIs(absl::StatusCode::kInvalidArgument, "DocumentTooLarge"));
}

}  // namespace
}  // namespace cvx
