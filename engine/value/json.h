// File: engine/value/json.h
//
// Convex JSON (convex-protocol.md §1, §2), both ways.
//
// convex_encoded_json, the client's format:
//   null | true | false | <string>             as plain JSON
//   <number>                                   float64 (a bare number is never an int64)
//   {"$float":   "<b64 of 8-byte LE IEEE754>"} float64 that JSON cannot hold: NaN, ±Inf, -0
//   {"$integer": "<b64 of 8-byte LE int64>"}   int64
//   {"$bytes":   "<b64>"}                      bytes
//   [ ... ] | { "<field>": ..., ... }          array | object
// Base64 is standard with padding. Only a one-key object with one of the three `$` keys is
// special; any other key starting with '$' is an error, as is a `$float` that holds a
// normal or subnormal number (those must be plain numbers) and a `$integer` that is not
// exactly 8 bytes. Duplicate object keys are an error. Strings must be valid UTF-8.
//
// clean json (`format: "json"`, export): int64 as a decimal string, bytes as a base64
// string, NaN/±Inf as "NaN"/"Infinity"/"-Infinity", everything else as above. One way only.
//
// Numbers are written the way JavaScript's Number#toString writes them, so output matches
// what a JS client would produce.
//
// Thread safety: all functions are reentrant.

#ifndef CVX_ENGINE_VALUE_JSON_H_
#define CVX_ENGINE_VALUE_JSON_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "engine/value/value.h"

namespace cvx {

// Parses convex_encoded_json text into a Value. Fails with kInvalidArgument, tag
// "InvalidJson" for malformed JSON and "InvalidConvexValue" for JSON that is not a valid
// Convex value; the message says what and where. Also applies ValidateValue().
[[nodiscard]] absl::StatusOr<Value> ParseConvexJson(std::string_view text);

// The "clean lossless" JSON of Convex snapshot exports (generated_schema "uniform"):
//   int64      a bare integer literal: 42
//   float64    a number that always has '.' or an exponent: 1.0, -0.0, 1e+21;
//              NaN and ±Inf as {"$float": "<b64>"}
//   bytes      {"$bytes": "<b64>"}
//   the rest   as convex_encoded_json (object keys sorted)
// ParseExportJson reads it (integer literals are int64); errors as ParseConvexJson.
[[nodiscard]] absl::StatusOr<Value> ParseExportJson(std::string_view text);
std::string ToExportJson(const Value& v);

// Writes `v` as convex_encoded_json (object keys in sorted order).
std::string ToConvexJson(const Value& v);
void AppendConvexJson(const Value& v, std::string* out);

// Writes `v` as convex_encoded_json indented like JSON.stringify(json, null, 2) (what
// `npx convex run` prints).
std::string ToPrettyConvexJson(const Value& v);

// Writes `v` as clean JSON (the export format `json`).
std::string ToCleanJson(const Value& v);

// Appends `s` as a JSON string literal with quotes and escapes.
void AppendJsonString(std::string_view s, std::string* out);

// Formats a finite double as JavaScript's Number#toString does ("1e+21", "0.1", "-5").
std::string FormatJsNumber(double d);

// Standard base64 with padding, as Convex uses in $integer/$bytes/$float and TS values.
std::string Base64Encode(std::string_view bytes);
// Strict decoding: only the standard alphabet, padding required. nullopt on bad input.
[[nodiscard]] bool Base64Decode(std::string_view text, std::string* out);

}  // namespace cvx

#endif  // CVX_ENGINE_VALUE_JSON_H_
