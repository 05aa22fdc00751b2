// Tests for engine/value/json.h: convex_encoded_json both ways, clean JSON, JavaScript
// number formatting and strict base64 (convex-protocol.md §1, §2).

#include "engine/value/json.h"

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <random>
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
constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();
constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

using ::cvx::testing::Arr;
using ::cvx::testing::Bits;
using ::cvx::testing::F;
using ::cvx::testing::FromBits;
using ::cvx::testing::I;
using ::cvx::testing::Obj;
using ::cvx::testing::Str;

const auto kInvalidJson = StatusIs(absl::StatusCode::kInvalidArgument, "InvalidJson");
const auto kInvalidConvexValue =
    StatusIs(absl::StatusCode::kInvalidArgument, "InvalidConvexValue");

// CompareValues == 0 is bit-exact for floats (NaN payloads, -0), so this is a strict check.
void ExpectRoundTrip(const Value& v) {
  std::string json = ToConvexJson(v);
  absl::StatusOr<Value> parsed = ParseConvexJson(json);
  ASSERT_TRUE(parsed.ok()) << json << ": " << parsed.status();
  EXPECT_EQ(CompareValues(*parsed, v), 0) << json << " parsed to " << ToConvexJson(*parsed);
  EXPECT_EQ(ToConvexJson(*parsed), json);
}

// Parses `json` (which must be valid) and checks it is written back exactly as `json`.
void ExpectCanonical(const std::string& json) {
  absl::StatusOr<Value> parsed = ParseConvexJson(json);
  ASSERT_TRUE(parsed.ok()) << json << ": " << parsed.status();
  EXPECT_EQ(ToConvexJson(*parsed), json);
}

// ---------------------------------------------------------------------------------------
// int64

TEST(ConvexJsonTest, Int64Encoding) {
  EXPECT_EQ(ToConvexJson(I(1)), R"({"$integer":"AQAAAAAAAAA="})");
  EXPECT_EQ(ToConvexJson(I(0)), R"({"$integer":"AAAAAAAAAAA="})");
  EXPECT_EQ(ToConvexJson(I(-1)), R"({"$integer":"//////////8="})");
  EXPECT_EQ(ToConvexJson(I(256)), R"({"$integer":"AAEAAAAAAAA="})");
  EXPECT_EQ(ToConvexJson(I(kInt64Max)), R"({"$integer":"/////////38="})");
  EXPECT_EQ(ToConvexJson(I(kInt64Min)), R"({"$integer":"AAAAAAAAAIA="})");
}

TEST(ConvexJsonTest, Int64Decoding) {
  ASSERT_OK_AND_ASSIGN(Value one, ParseConvexJson(R"({"$integer":"AQAAAAAAAAA="})"));
  ASSERT_TRUE(one.is_int64());
  EXPECT_EQ(one.int64(), 1);
  ASSERT_OK_AND_ASSIGN(Value max, ParseConvexJson(R"({"$integer":"/////////38="})"));
  ASSERT_TRUE(max.is_int64());
  EXPECT_EQ(max.int64(), kInt64Max);
  ASSERT_OK_AND_ASSIGN(Value min, ParseConvexJson(R"({"$integer":"AAAAAAAAAIA="})"));
  ASSERT_TRUE(min.is_int64());
  EXPECT_EQ(min.int64(), kInt64Min);
  ASSERT_OK_AND_ASSIGN(Value neg, ParseConvexJson(R"( { "$integer" : "//////////8=" } )"));
  EXPECT_EQ(neg, I(-1));
}

TEST(ConvexJsonTest, Int64RoundTrips) {
  for (int64_t v : {int64_t{0}, int64_t{1}, int64_t{-1}, int64_t{42}, int64_t{1} << 53,
                    (int64_t{1} << 53) + 1, kInt64Max, kInt64Min, kInt64Min + 1}) {
    SCOPED_TRACE(v);
    ExpectRoundTrip(I(v));
  }
}

// ---------------------------------------------------------------------------------------
// float64

TEST(ConvexJsonTest, SpecialFloatsUseDollarFloat) {
  EXPECT_EQ(ToConvexJson(F(std::numeric_limits<double>::quiet_NaN())),
            R"({"$float":"AAAAAAAA+H8="})");
  EXPECT_EQ(ToConvexJson(F(-0.0)), R"({"$float":"AAAAAAAAAIA="})");
  EXPECT_EQ(ToConvexJson(F(kInf)), R"({"$float":"AAAAAAAA8H8="})");
  EXPECT_EQ(ToConvexJson(F(-kInf)), R"({"$float":"AAAAAAAA8P8="})");
}

TEST(ConvexJsonTest, SpecialFloatsDecode) {
  ASSERT_OK_AND_ASSIGN(Value nan, ParseConvexJson(R"({"$float":"AAAAAAAA+H8="})"));
  ASSERT_TRUE(nan.is_float64());
  EXPECT_TRUE(std::isnan(nan.float64()));
  EXPECT_EQ(Bits(nan.float64()), 0x7ff8000000000000ULL);

  ASSERT_OK_AND_ASSIGN(Value neg_zero, ParseConvexJson(R"({"$float":"AAAAAAAAAIA="})"));
  ASSERT_TRUE(neg_zero.is_float64());
  EXPECT_EQ(neg_zero.float64(), 0.0);
  EXPECT_TRUE(std::signbit(neg_zero.float64()));

  ASSERT_OK_AND_ASSIGN(Value inf, ParseConvexJson(R"({"$float":"AAAAAAAA8H8="})"));
  EXPECT_EQ(inf, F(kInf));
  ASSERT_OK_AND_ASSIGN(Value ninf, ParseConvexJson(R"({"$float":"AAAAAAAA8P8="})"));
  EXPECT_EQ(ninf, F(-kInf));

  // A NaN with a payload and the sign bit set keeps its exact bits.
  ASSERT_OK_AND_ASSIGN(Value odd_nan, ParseConvexJson(R"({"$float":"vAoAAAAA9H8="})"));
  EXPECT_EQ(Bits(odd_nan.float64()), 0x7ff4000000000abcULL);
  ASSERT_OK_AND_ASSIGN(Value neg_nan, ParseConvexJson(R"({"$float":"AAAAAAAA+P8="})"));
  EXPECT_EQ(Bits(neg_nan.float64()), 0xfff8000000000000ULL);
}

TEST(ConvexJsonTest, SpecialFloatsRoundTripBitExact) {
  for (uint64_t bits : {0x7ff8000000000000ULL, 0xfff8000000000000ULL, 0x7ff0000000000001ULL,
                        0x7ff4000000000abcULL, 0xffffffffffffffffULL, 0x7fffffffffffffffULL,
                        0x8000000000000000ULL, 0x7ff0000000000000ULL, 0xfff0000000000000ULL}) {
    SCOPED_TRACE(bits);
    ExpectRoundTrip(F(FromBits(bits)));
  }
}

TEST(ConvexJsonTest, BareNumbersAreFloat64) {
  ASSERT_OK_AND_ASSIGN(Value five, ParseConvexJson("5"));
  ASSERT_TRUE(five.is_float64());
  EXPECT_EQ(five.float64(), 5.0);
  EXPECT_EQ(five, F(5));
  EXPECT_NE(five, I(5));

  struct Case {
    const char* json;
    double value;
  };
  for (const Case& c : std::vector<Case>{
           {"0", 0.0},
           {"-5", -5.0},
           {"1.5", 1.5},
           {"-2.5e3", -2500.0},
           {"1E2", 100.0},
           {"0.1", 0.1},
           {"1e-7", 1e-7},
           {"5e-324", 5e-324},
           {"1.7976931348623157e308", 1.7976931348623157e308},
           {"9007199254740993", 9007199254740992.0},  // rounds to nearest double
           {"9223372036854775807", 9223372036854775807.0},
           {"-9223372036854775808", -9223372036854775808.0},
           {"18446744073709551615", 18446744073709551615.0},
       }) {
    SCOPED_TRACE(c.json);
    absl::StatusOr<Value> v = ParseConvexJson(c.json);
    ASSERT_TRUE(v.ok()) << v.status();
    ASSERT_TRUE(v->is_float64());
    EXPECT_EQ(Bits(v->float64()), Bits(c.value));
  }
}

TEST(ConvexJsonTest, BareZeroIsPositiveZero) {
  ASSERT_OK_AND_ASSIGN(Value zero, ParseConvexJson("0"));
  EXPECT_FALSE(std::signbit(zero.float64()));
  ASSERT_OK_AND_ASSIGN(Value zero2, ParseConvexJson("0.0"));
  EXPECT_FALSE(std::signbit(zero2.float64()));
}

TEST(ConvexJsonTest, BareNegativeZeroIsNegativeZero) {
  // JSON.parse("-0") and serde_json both give -0.0; "-0.0" already does here.
  ASSERT_OK_AND_ASSIGN(Value a, ParseConvexJson("-0.0"));
  EXPECT_TRUE(std::signbit(a.float64()));
  ASSERT_OK_AND_ASSIGN(Value b, ParseConvexJson("-0"));
  ASSERT_TRUE(b.is_float64());
  EXPECT_TRUE(std::signbit(b.float64())) << "\"-0\" parsed as +0";
}

TEST(ConvexJsonTest, LargeIntegerLiteralsAreFloat64) {
  // Integer literals beyond the int64/uint64 range are ordinary JSON numbers (JSON.parse and
  // serde_json read them as doubles), and FormatJsNumber itself writes such literals for
  // doubles in [1e19, 1e21), so ParseConvexJson must accept them.
  struct Case {
    const char* json;
    double value;
  };
  for (const Case& c : std::vector<Case>{
           {"18446744073709551616", 18446744073709551616.0},
           {"100000000000000000000", 1e20},
           {"123456789012345680000", 123456789012345680000.0},
           {"-100000000000000000000", -1e20},
           {"-9223372036854775809", -9223372036854775808.0},
       }) {
    SCOPED_TRACE(c.json);
    absl::StatusOr<Value> v = ParseConvexJson(c.json);
    ASSERT_TRUE(v.ok()) << v.status();
    ASSERT_TRUE(v->is_float64());
    EXPECT_EQ(v->float64(), c.value);
  }
}

TEST(ConvexJsonTest, FiniteFloatsAreWrittenAsPlainNumbers) {
  EXPECT_EQ(ToConvexJson(F(0.0)), "0");
  EXPECT_EQ(ToConvexJson(F(5)), "5");
  EXPECT_EQ(ToConvexJson(F(-5)), "-5");
  EXPECT_EQ(ToConvexJson(F(1.5)), "1.5");
  EXPECT_EQ(ToConvexJson(F(0.1)), "0.1");
  EXPECT_EQ(ToConvexJson(F(1e21)), "1e+21");
  EXPECT_EQ(ToConvexJson(F(5e-324)), "5e-324");
  EXPECT_EQ(ToConvexJson(F(std::numeric_limits<double>::max())), "1.7976931348623157e+308");
}

TEST(ConvexJsonTest, FiniteFloatsRoundTrip) {
  for (double d : {0.0, 1.0, -1.0, 0.1, 1.5, 1e-7, 1.234e-5, 1e21, 1e22, -1e300, 5e-324,
                   std::numeric_limits<double>::min(), std::numeric_limits<double>::max(),
                   -std::numeric_limits<double>::max(), 9007199254740992.0, 0.30000000000000004,
                   1e20, 123456789012345680000.0, 18446744073709551616.0, 9.999999999999999e20}) {
    SCOPED_TRACE(FormatJsNumber(d));
    ExpectRoundTrip(F(d));
  }
}

TEST(ConvexJsonTest, RandomFloatBitPatternsRoundTrip) {
  std::mt19937_64 rng(0xC0FFEE);
  int failures = 0;
  for (int i = 0; i < 20000; ++i) {
    Value v = F(FromBits(rng()));
    std::string json = ToConvexJson(v);
    absl::StatusOr<Value> parsed = ParseConvexJson(json);
    bool ok = parsed.ok() && CompareValues(*parsed, v) == 0;
    if (!ok && ++failures <= 3) {
      ADD_FAILURE() << "round trip failed for " << json << ": "
                    << (parsed.ok() ? ToConvexJson(*parsed) : parsed.status().ToString());
    }
  }
  EXPECT_EQ(failures, 0);
}

// ---------------------------------------------------------------------------------------
// bytes

TEST(ConvexJsonTest, Bytes) {
  EXPECT_EQ(ToConvexJson(Value::Bytes("")), R"({"$bytes":""})");
  EXPECT_EQ(ToConvexJson(Value::Bytes(std::string("\x00\x01\xff", 3))), R"({"$bytes":"AAH/"})");
  EXPECT_EQ(ToConvexJson(Value::Bytes("foobar")), R"({"$bytes":"Zm9vYmFy"})");

  ASSERT_OK_AND_ASSIGN(Value empty, ParseConvexJson(R"({"$bytes":""})"));
  ASSERT_TRUE(empty.is_bytes());
  EXPECT_EQ(empty.bytes(), "");
  ASSERT_OK_AND_ASSIGN(Value bin, ParseConvexJson(R"({"$bytes":"AAH/"})"));
  ASSERT_TRUE(bin.is_bytes());
  EXPECT_EQ(bin.bytes(), std::string("\x00\x01\xff", 3));

  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (size_t len = 0; len <= 7; ++len) ExpectRoundTrip(Value::Bytes(all.substr(0, len)));
  ExpectRoundTrip(Value::Bytes(all));
  ExpectRoundTrip(Value::Bytes(std::string(5, '\0')));
}

// ---------------------------------------------------------------------------------------
// strings

TEST(ConvexJsonTest, PlainScalars) {
  EXPECT_EQ(ToConvexJson(Value::Null()), "null");
  EXPECT_EQ(ToConvexJson(Value::Boolean(true)), "true");
  EXPECT_EQ(ToConvexJson(Value::Boolean(false)), "false");
  EXPECT_EQ(ToConvexJson(Str("hi")), "\"hi\"");
  ASSERT_OK_AND_ASSIGN(Value null, ParseConvexJson("null"));
  EXPECT_TRUE(null.is_null());
  ASSERT_OK_AND_ASSIGN(Value t, ParseConvexJson(" true "));
  EXPECT_EQ(t, Value::Boolean(true));
  ASSERT_OK_AND_ASSIGN(Value f, ParseConvexJson("false"));
  EXPECT_EQ(f, Value::Boolean(false));
  ASSERT_OK_AND_ASSIGN(Value s, ParseConvexJson("\"hi\""));
  EXPECT_EQ(s, Str("hi"));
}

TEST(ConvexJsonTest, StringEscapesAreWritten) {
  EXPECT_EQ(ToConvexJson(Str("a\"b")), R"("a\"b")");
  EXPECT_EQ(ToConvexJson(Str("a\\b")), R"("a\\b")");
  EXPECT_EQ(ToConvexJson(Str("\n\r\t\b\f")), R"("\n\r\t\b\f")");
  EXPECT_EQ(ToConvexJson(Str(std::string("a\0b", 3))), R"("a\u0000b")");
  EXPECT_EQ(ToConvexJson(Str("\x01\x1f")), R"("\u0001\u001f")");
  // '/' , DEL and non-ASCII UTF-8 are written as-is.
  EXPECT_EQ(ToConvexJson(Str("a/b\x7f")), "\"a/b\x7f\"");
  EXPECT_EQ(ToConvexJson(Str("\xf0\x9f\x98\x80")), "\"\xf0\x9f\x98\x80\"");
}

TEST(ConvexJsonTest, StringEscapesAreRead) {
  ASSERT_OK_AND_ASSIGN(Value nul, ParseConvexJson(R"("\u0000")"));
  EXPECT_EQ(nul.string(), std::string("\0", 1));
  ASSERT_OK_AND_ASSIGN(Value quoted, ParseConvexJson(R"("\"\\\/\b\f\n\r\t")"));
  EXPECT_EQ(quoted.string(), "\"\\/\b\f\n\r\t");
  ASSERT_OK_AND_ASSIGN(Value e_acute, ParseConvexJson(R"("caf\u00e9")"));
  EXPECT_EQ(e_acute.string(), "caf\xc3\xa9");
  // A surrogate pair becomes one 4-byte UTF-8 character (U+1F600).
  ASSERT_OK_AND_ASSIGN(Value emoji, ParseConvexJson(R"("\ud83d\ude00")"));
  EXPECT_EQ(emoji.string(), "\xf0\x9f\x98\x80");
  ASSERT_OK_AND_ASSIGN(Value raw_emoji, ParseConvexJson("\"\xf0\x9f\x98\x80\""));
  EXPECT_EQ(raw_emoji, emoji);
}

TEST(ConvexJsonTest, StringsRoundTrip) {
  std::string controls;
  for (int c = 0; c < 0x20; ++c) controls.push_back(static_cast<char>(c));
  for (const std::string& s :
       {std::string(""), std::string("plain"), std::string("a\0b\0", 4), controls,
        std::string("\"quoted\" and \\backslash\\"), std::string("\xf0\x9f\x98\x80 emoji"),
        std::string("\xf4\x8f\xbf\xbf"),  // U+10FFFF
        std::string("\xef\xbf\xbf"),      // U+FFFF
        std::string("caf\xc3\xa9 \xe2\x82\xac"), std::string("\x7f/</script>")}) {
    SCOPED_TRACE(s);
    ExpectRoundTrip(Str(s));
  }
}

// ---------------------------------------------------------------------------------------
// arrays and objects

TEST(ConvexJsonTest, NestedArraysAndObjects) {
  ASSERT_OK_AND_ASSIGN(Value v, ParseConvexJson(R"( [1, [2, [{"a": [], "b": {}}]], "x"] )"));
  Value expected = Arr({F(1), Arr({F(2), Arr({Obj({{"a", Arr({})}, {"b", Obj({})}})})}),
                        Str("x")});
  EXPECT_EQ(v, expected);
  EXPECT_EQ(ToConvexJson(v), R"([1,[2,[{"a":[],"b":{}}]],"x"])");

  Value all_types = Obj({{"null", Value::Null()},
                         {"int", I(-7)},
                         {"float", F(2.25)},
                         {"nan", F(std::numeric_limits<double>::quiet_NaN())},
                         {"bool", Value::Boolean(true)},
                         {"str", Str("s")},
                         {"bytes", Value::Bytes("\x01")},
                         {"arr", Arr({I(1), Arr({Value::Bytes("")}), Obj({{"", F(-0.0)}})})},
                         {"obj", Obj({{"deep", Obj({{"deeper", I(kInt64Min)}})}})},
                         {"", Value::Null()}});
  ExpectRoundTrip(all_types);
  ExpectRoundTrip(Arr({}));
  ExpectRoundTrip(Obj({}));
  ExpectRoundTrip(Arr({Arr({Arr({})})}));
}

TEST(ConvexJsonTest, SpecialObjectsNestInsideContainers) {
  ASSERT_OK_AND_ASSIGN(
      Value v, ParseConvexJson(R"({"n":{"$integer":"AQAAAAAAAAA="},"l":[{"$bytes":"AAH/"}]})"));
  EXPECT_EQ(v, Obj({{"n", I(1)}, {"l", Arr({Value::Bytes(std::string("\x00\x01\xff", 3))})}}));
}

TEST(ConvexJsonTest, KeysAreEmittedSorted) {
  ASSERT_OK_AND_ASSIGN(Value v, ParseConvexJson(R"({"b":1,"a":2,"_id":3,"B":4,"":5})"));
  EXPECT_EQ(ToConvexJson(v), R"({"":5,"B":4,"_id":3,"a":2,"b":1})");
  ExpectCanonical(R"({"a":{"x":1,"y":[{"m":null,"n":true}]},"z":false})");
}

TEST(ConvexJsonTest, AppendConvexJsonAppends) {
  std::string out = "prefix:";
  AppendConvexJson(Arr({I(1), Str("x")}), &out);
  EXPECT_EQ(out, R"(prefix:[{"$integer":"AQAAAAAAAAA="},"x"])");
}

TEST(ConvexJsonTest, AppendJsonStringQuotes) {
  std::string out;
  AppendJsonString("say \"hi\"\n", &out);
  EXPECT_EQ(out, R"("say \"hi\"\n")");
}

// ---------------------------------------------------------------------------------------
// Rejections.

TEST(ConvexJsonParseErrorTest, MalformedJson) {
  for (const std::string& text :
       {std::string(""), std::string("   "), std::string("{"), std::string("["),
        std::string("[1,]"), std::string("{\"a\":1,}"), std::string("{'a':1}"),
        std::string("{a:1}"), std::string("nul"), std::string("True"), std::string("1 2"),
        std::string("{\"a\":1}x"), std::string("NaN"), std::string("Infinity"),
        std::string("-Infinity"), std::string("01"), std::string("1."), std::string(".5"),
        std::string("+1"), std::string("\"unterminated"), std::string("\"\\x41\""),
        std::string("\"a\nb\""),                 // raw control character in a string
        std::string("\"a\0b\"", 5),              // raw NUL in a string
        std::string("\"\xff\""),                 // invalid UTF-8
        std::string("\"\xc3\""),                 // truncated UTF-8
        std::string("\"\xed\xa0\x80\""),         // UTF-8-encoded surrogate
        std::string("\"\xc0\xaf\""),             // overlong encoding
        std::string("{\"\xff\":1}")}) {          // invalid UTF-8 in a key
    SCOPED_TRACE(text);
    EXPECT_THAT(ParseConvexJson(text), kInvalidJson);
  }
}

TEST(ConvexJsonParseErrorTest, LoneSurrogateEscapes) {
  // A lone surrogate cannot be represented in UTF-8. simdjson rejects these strings as
  // malformed JSON, so they surface as InvalidJson (not InvalidConvexValue).
  for (const char* text : {R"("\ud800")", R"("\udc00")", R"("\ud83d")", R"("\ude00\ud83d")",
                           R"("\ud800\u0041")", R"({"a":"x\udfff"})"}) {
    SCOPED_TRACE(text);
    EXPECT_THAT(ParseConvexJson(text), kInvalidJson);
  }
}

TEST(ConvexJsonParseErrorTest, DollarFloatHoldingOrdinaryNumber) {
  // 1.5, 1.0, +0 and the smallest subnormal must be plain JSON numbers.
  for (const char* text : {R"({"$float":"AAAAAAAA+D8="})", R"({"$float":"AAAAAAAA8D8="})",
                           R"({"$float":"AAAAAAAAAAA="})", R"({"$float":"AQAAAAAAAAA="})"}) {
    SCOPED_TRACE(text);
    EXPECT_THAT(ParseConvexJson(text), kInvalidConvexValue);
  }
}

TEST(ConvexJsonParseErrorTest, DollarFloatAndIntegerMustBeEightBytes) {
  for (const char* text : {
           R"({"$integer":"AAAAAAAAAA=="})",  // 7 bytes
           R"({"$integer":"AAAAAAAAAAAA"})",  // 9 bytes
           R"({"$integer":""})",              // 0 bytes
           R"({"$float":"AAAAAAAAAA=="})",
           R"({"$float":"AAAAAAAAAAAA"})",
       }) {
    SCOPED_TRACE(text);
    EXPECT_THAT(ParseConvexJson(text), kInvalidConvexValue);
  }
}

TEST(ConvexJsonParseErrorTest, SpecialValuesMustBeStrings) {
  for (const char* text : {R"({"$integer":1})", R"({"$float":null})", R"({"$bytes":[]})",
                           R"({"$bytes":{"$bytes":""}})"}) {
    SCOPED_TRACE(text);
    EXPECT_THAT(ParseConvexJson(text), kInvalidConvexValue);
  }
}

TEST(ConvexJsonParseErrorTest, InvalidBase64) {
  for (const char* text : {
           R"({"$integer":"AQAAAAAAAAA"})",   // missing padding
           R"({"$integer":"AQAAAAAAAA*="})",  // bad character
           R"({"$integer":"AQAAAAAAAAB="})",  // non-zero pad bits
           R"({"$integer":"AQAA AAAAAAA="})",  // whitespace
           R"({"$bytes":"-_8="})",            // URL-safe alphabet
           R"({"$bytes":"Zg="})",             // wrong padding length
           R"({"$bytes":"Zg"})",
           R"({"$bytes":"Zh=="})",            // non-zero pad bits
           R"({"$bytes":"Zm9=v"})",
           R"({"$bytes":"Zg==Zg=="})",        // padding in the middle
           R"({"$bytes":"===="})",
           R"({"$float":"AAAAAAAA+H8"})",
       }) {
    SCOPED_TRACE(text);
    EXPECT_THAT(ParseConvexJson(text), kInvalidConvexValue);
  }
}

TEST(ConvexJsonParseErrorTest, UnknownDollarKeys) {
  for (const char* text : {R"({"$set":1})", R"({"$foo":1})", R"({"$map":[]})", R"({"$":1})",
                           R"({"$Integer":"AQAAAAAAAAA="})", R"({"$bytes ":""})",
                           R"([{"$foo":1}])", R"({"a":{"$set":[]}})"}) {
    SCOPED_TRACE(text);
    EXPECT_THAT(ParseConvexJson(text), kInvalidConvexValue);
  }
}

TEST(ConvexJsonParseErrorTest, DollarKeyAmongSeveralFields) {
  for (const char* text : {R"({"$bytes":"","a":1})", R"({"a":1,"$integer":"AQAAAAAAAAA="})",
                           R"({"$float":"AAAAAAAA+H8=","$bytes":""})", R"({"a":1,"$x":2})"}) {
    SCOPED_TRACE(text);
    EXPECT_THAT(ParseConvexJson(text), kInvalidConvexValue);
  }
}

TEST(ConvexJsonParseErrorTest, DuplicateKeys) {
  for (const char* text : {R"({"a":1,"a":2})", R"({"a":1,"a":1})", R"({"a":1,"b":2,"a":3})",
                           R"([{"x":{"y":1,"y":1}}])", R"({"":1,"":2})"}) {
    SCOPED_TRACE(text);
    EXPECT_THAT(ParseConvexJson(text), kInvalidConvexValue);
  }
}

TEST(ConvexJsonParseErrorTest, InvalidFieldNames) {
  const auto kBadName = StatusIs(absl::StatusCode::kInvalidArgument, "InvalidFieldName");
  EXPECT_THAT(ParseConvexJson(R"({"caf\u00e9":1})"), kBadName);
  EXPECT_THAT(ParseConvexJson("{\"caf\xc3\xa9\":1}"), kBadName);
  EXPECT_THAT(ParseConvexJson(R"({"a\u0001":1})"), kBadName);
  EXPECT_THAT(ParseConvexJson(R"({"a\nb":1})"), kBadName);
}

std::string NestedJsonArrays(int depth, const std::string& inner) {
  return std::string(depth, '[') + inner + std::string(depth, ']');
}

TEST(ConvexJsonParseErrorTest, NestingLimit) {
  const auto kTooNested = StatusIs(absl::StatusCode::kInvalidArgument, "TooNested");
  EXPECT_OK(ParseConvexJson(NestedJsonArrays(64, "1")));
  EXPECT_THAT(ParseConvexJson(NestedJsonArrays(65, "1")), kTooNested);
  EXPECT_THAT(ParseConvexJson(NestedJsonArrays(200, "null")), kTooNested);

  std::string objects64 = "1";
  for (int i = 0; i < 64; ++i) objects64 = "{\"a\":" + objects64 + "}";
  EXPECT_OK(ParseConvexJson(objects64));
  EXPECT_THAT(ParseConvexJson("{\"a\":" + objects64 + "}"), kTooNested);
}

TEST(ConvexJsonParseErrorTest, NestingLimitWithEmptyInnermostArray) {
  // [[...[]...]] with 65 levels has nesting 65, just like 65 levels around a scalar.
  const auto kTooNested = StatusIs(absl::StatusCode::kInvalidArgument, "TooNested");
  EXPECT_OK(ParseConvexJson(NestedJsonArrays(64, "")));
  EXPECT_THAT(ParseConvexJson(NestedJsonArrays(65, "")), kTooNested);
}

TEST(ConvexJsonParseErrorTest, ArrayAndObjectLimits) {
  std::string ok = "[";
  for (size_t i = 0; i < kMaxArrayLength; ++i) ok += i ? ",0" : "0";
  EXPECT_OK(ParseConvexJson(ok + "]"));
  EXPECT_THAT(ParseConvexJson(ok + ",0]"),
              StatusIs(absl::StatusCode::kInvalidArgument, "ArrayTooLong"));

  std::string obj = "{";
  for (size_t i = 0; i <= kMaxObjectFields; ++i) {
    obj += (i ? ",\"f" : "\"f") + std::to_string(i) + "\":null";
  }
  EXPECT_THAT(ParseConvexJson(obj + "}"),
              StatusIs(absl::StatusCode::kInvalidArgument, "TooManyFields"));
}

// ---------------------------------------------------------------------------------------
// Clean JSON.

TEST(CleanJsonTest, Scalars) {
  EXPECT_EQ(ToCleanJson(Value::Null()), "null");
  EXPECT_EQ(ToCleanJson(Value::Boolean(true)), "true");
  EXPECT_EQ(ToCleanJson(Value::Boolean(false)), "false");
  EXPECT_EQ(ToCleanJson(Str("a\"b\n")), R"("a\"b\n")");
  EXPECT_EQ(ToCleanJson(F(1.5)), "1.5");
  EXPECT_EQ(ToCleanJson(F(5)), "5");
  EXPECT_EQ(ToCleanJson(F(1e21)), "1e+21");
}

TEST(CleanJsonTest, Int64AsDecimalString) {
  EXPECT_EQ(ToCleanJson(I(0)), R"("0")");
  EXPECT_EQ(ToCleanJson(I(5)), R"("5")");
  EXPECT_EQ(ToCleanJson(I(-5)), R"("-5")");
  EXPECT_EQ(ToCleanJson(I(kInt64Max)), R"("9223372036854775807")");
  EXPECT_EQ(ToCleanJson(I(kInt64Min)), R"("-9223372036854775808")");
}

TEST(CleanJsonTest, BytesAsBase64String) {
  EXPECT_EQ(ToCleanJson(Value::Bytes("")), R"("")");
  EXPECT_EQ(ToCleanJson(Value::Bytes(std::string("\x00\x01\xff", 3))), R"("AAH/")");
  EXPECT_EQ(ToCleanJson(Value::Bytes("foob")), R"("Zm9vYg==")");
}

TEST(CleanJsonTest, SpecialFloatsAsStrings) {
  EXPECT_EQ(ToCleanJson(F(std::numeric_limits<double>::quiet_NaN())), R"("NaN")");
  EXPECT_EQ(ToCleanJson(F(FromBits(0xfff8000000000001ULL))), R"("NaN")");
  EXPECT_EQ(ToCleanJson(F(kInf)), R"("Infinity")");
  EXPECT_EQ(ToCleanJson(F(-kInf)), R"("-Infinity")");
}

TEST(CleanJsonTest, Containers) {
  Value v = Obj({{"z", I(1)},
                 {"a", Arr({Value::Bytes("\xff"), F(kInf), Obj({{"k", I(-2)}})})},
                 {"m", Str("s")}});
  EXPECT_EQ(ToCleanJson(v), R"({"a":["/w==","Infinity",{"k":"-2"}],"m":"s","z":"1"})");
}

// ---------------------------------------------------------------------------------------
// FormatJsNumber: JavaScript's Number#toString.

TEST(FormatJsNumberTest, MatchesJavaScript) {
  struct Case {
    double value;
    const char* js;
  };
  for (const Case& c : std::vector<Case>{
           {0.0, "0"},
           {-0.0, "0"},
           {1.0, "1"},
           {-5.0, "-5"},
           {1.5, "1.5"},
           {-1.5, "-1.5"},
           {0.1, "0.1"},
           {0.30000000000000004, "0.30000000000000004"},
           {100.0, "100"},
           {1e6, "1000000"},
           {1e20, "100000000000000000000"},
           {123456789012345680000.0, "123456789012345680000"},
           {1e21, "1e+21"},
           {-1e21, "-1e+21"},
           {1.5e300, "1.5e+300"},
           {1e-6, "0.000001"},
           {1e-7, "1e-7"},
           {-1e-7, "-1e-7"},
           {1.234e-5, "0.00001234"},
           {1.23e-18, "1.23e-18"},
           {123.456, "123.456"},
           {9007199254740992.0, "9007199254740992"},
           {9007199254740991.0, "9007199254740991"},
           {5e-324, "5e-324"},
           {-5e-324, "-5e-324"},
           {2.2250738585072014e-308, "2.2250738585072014e-308"},
           {1.7976931348623157e308, "1.7976931348623157e+308"},
           {std::numeric_limits<double>::infinity(), "Infinity"},
           {-std::numeric_limits<double>::infinity(), "-Infinity"},
           {std::numeric_limits<double>::quiet_NaN(), "NaN"},
       }) {
    EXPECT_EQ(FormatJsNumber(c.value), c.js) << "expected " << c.js;
  }
}

TEST(FormatJsNumberTest, ShortestRoundTripDigits) {
  std::mt19937_64 rng(12345);
  for (int i = 0; i < 5000; ++i) {
    double d = FromBits(rng());
    if (!std::isfinite(d)) continue;
    std::string s = FormatJsNumber(d);
    EXPECT_EQ(Bits(std::strtod(s.c_str(), nullptr)), Bits(d == 0 ? 0.0 : d)) << s;
  }
}

// ---------------------------------------------------------------------------------------
// Base64.

TEST(Base64Test, Rfc4648Vectors) {
  struct Case {
    const char* raw;
    const char* b64;
  };
  for (const Case& c : std::vector<Case>{{"", ""},
                                         {"f", "Zg=="},
                                         {"fo", "Zm8="},
                                         {"foo", "Zm9v"},
                                         {"foob", "Zm9vYg=="},
                                         {"fooba", "Zm9vYmE="},
                                         {"foobar", "Zm9vYmFy"}}) {
    EXPECT_EQ(Base64Encode(c.raw), c.b64);
    std::string out = "junk";
    ASSERT_TRUE(Base64Decode(c.b64, &out)) << c.b64;
    EXPECT_EQ(out, c.raw);
  }
  EXPECT_EQ(Base64Encode(std::string("\xfb\xff", 2)), "+/8=");
}

TEST(Base64Test, StrictDecodingRejects) {
  for (const char* bad : {"Zg", "Zg=", "Zg===", "Z===", "Zh==", "Zm9=", "Zm9vY", "Zm9v\n",
                          " Zm9v", "Zm-v", "Zm_v", "-_8=", "=Zg=", "Zg==Zg==", "Zm9vYg=a",
                          "====", "Zm9v*A=="}) {
    std::string out;
    EXPECT_FALSE(Base64Decode(bad, &out)) << bad;
  }
}

TEST(Base64Test, RandomRoundTrip) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 500; ++i) {
    std::string raw(rng() % 40, '\0');
    for (char& c : raw) c = static_cast<char>(rng());
    std::string out;
    ASSERT_TRUE(Base64Decode(Base64Encode(raw), &out));
    EXPECT_EQ(out, raw);
  }
}

}  // namespace
}  // namespace cvx

namespace cvx {
namespace {

// The snapshot export format (generated_schema "uniform"): integers stay int64, floats
// always carry '.' or an exponent, special floats and bytes use the $ forms.
TEST(ExportJsonTest, RoundTripsEveryValueKind) {
  using ::cvx::testing::Arr;
  using ::cvx::testing::F;
  using ::cvx::testing::I;
  using ::cvx::testing::Obj;
  using ::cvx::testing::Str;
  Value v = Obj({{"i", I(7)}, {"big", I(INT64_MIN)}, {"f", F(1)}, {"nz", F(-0.0)},
                 {"half", F(0.5)}, {"e", F(1e21)}, {"nan", F(std::nan(""))},
                 {"inf", F(-INFINITY)}, {"b", Value::Bytes(std::string("\x00\x01", 2))},
                 {"s", Str("x\"y")}, {"a", Arr({I(1), F(2), Value::Null(), Value::Boolean(true)})}});
  std::string text = ToExportJson(v);
  EXPECT_NE(text.find("\"i\":7,"), std::string::npos) << text;
  EXPECT_NE(text.find("\"f\":1.0"), std::string::npos) << text;
  EXPECT_NE(text.find("\"nz\":-0.0"), std::string::npos) << text;
  EXPECT_NE(text.find("\"e\":1e+21"), std::string::npos) << text;
  EXPECT_NE(text.find("\"big\":-9223372036854775808"), std::string::npos) << text;
  EXPECT_NE(text.find("\"b\":{\"$bytes\":\"AAE=\"}"), std::string::npos) << text;
  EXPECT_NE(text.find("\"a\":[1,2.0,null,true]"), std::string::npos) << text;
  absl::StatusOr<Value> back = ParseExportJson(text);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->Find("i")->type(), ValueType::kInt64);
  EXPECT_EQ(back->Find("f")->type(), ValueType::kFloat64);
  EXPECT_TRUE(std::signbit(back->Find("nz")->float64()));
  EXPECT_TRUE(std::isnan(back->Find("nan")->float64()));
  EXPECT_EQ(*back->Find("big"), I(INT64_MIN));
  EXPECT_EQ(*back->Find("b"), Value::Bytes(std::string("\x00\x01", 2)));
  EXPECT_EQ(back->Find("a")->array()[0].type(), ValueType::kInt64);
  EXPECT_EQ(back->Find("a")->array()[1].type(), ValueType::kFloat64);
  EXPECT_FALSE(ParseExportJson("18446744073709551615").ok());  // beyond int64
  EXPECT_FALSE(ParseExportJson("{\"$weird\":1}").ok());
}

}  // namespace
}  // namespace cvx
