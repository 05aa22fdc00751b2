// File: tools/generated_schema.h
//
// How Convex's snapshot import turns a documents.jsonl line into a document, given the
// table's `generated_schema.jsonl` (docs/design/snapshots.md §2; Convex's
// shape_inference export_context.rs and pretty.rs). Three cases:
//
//   "uniform"            (exports since 2024) lines are clean lossless JSON: ParseExportJson.
//   a shape (legacy)     line 1 is a JSON string holding the table's inferred shape; every
//                        further line is {"<_id>": <context>}, a per-document hint.
//                        Documents are clean JSON (int64 and bytes as strings, ±Inf/NaN as
//                        "Infinity"/"-Infinity"/"NaN"), turned back with the shape or hint.
//   none                 (.jsonl / .json / .csv imports) as a legacy schema of shape
//                        `unknown`: numbers are float64, strings stay strings.
//
// The shape grammar, exactly as Convex prints and parses it (no other whitespace):
//
//   shape   := prefix (" | " prefix)*                  a union when more than one
//   prefix  := "never" | "null" | "int64" | "float64" | "-inf" | "inf" | "-0" | "NaN"
//            | "normalfloat64" | "boolean" | "field_name" | "string" | "bytes" | "unknown"
//            | '"' <text without '"'> '"'               a string literal
//            | "id<" <table number> ">"
//            | "array<" shape ">" | "set<" shape ">"     (set and map: older exports)
//            | "record<" shape ", " shape ">" | "map<" shape ", " shape ">"
//            | "{" [field (", " field)*] "}"
//   field   := '"' <field name> '"' ["?"] ": " shape
//
// A context (hint) is JSON: "infer" | "int64" | "float64inf" | "bytes" | "set" | "map"
//   | {"$float64NaN": "<base64 of the 8 little-endian bytes>"} | [context, ...]
//   | {"<field>": context, ...}.
//
// Decoding a JSON value with a context and the set S of shapes it may have: null, booleans
// and numbers map directly (every JSON number is a float64); a string under "infer" takes
// the one reading all of S agree on (int64 for `int64`, ±Inf for `inf`/`-inf`, bytes for
// `bytes`), else stays a string; under a hint it must parse as that hint says. Arrays and
// objects recurse, with element and field shapes of S and the nested hints.
//
// Thread safety: a parsed GeneratedSchema is immutable; Decode is const.

#ifndef CVX_TOOLS_GENERATED_SCHEMA_H_
#define CVX_TOOLS_GENERATED_SCHEMA_H_

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/value/value.h"

namespace cvx::tools {

struct Shape;
struct ExportContext;

class GeneratedSchema {
 public:
  // The decoding of a table without generated_schema.jsonl: shape `unknown`, no hints.
  GeneratedSchema();
  ~GeneratedSchema();
  GeneratedSchema(GeneratedSchema&&) noexcept;
  GeneratedSchema& operator=(GeneratedSchema&&) noexcept;

  // Parses a generated_schema.jsonl file; `entry` (its name in the ZIP) goes into errors.
  // kInvalidArgument: "InvalidGeneratedSchema" for a shape that does not parse,
  // "InvalidConvexValue" for a malformed line ("Row N ...", rows counted from 1).
  [[nodiscard]] static absl::StatusOr<GeneratedSchema> Parse(std::string_view file,
                                                             std::string_view entry);

  bool uniform() const { return uniform_; }

  // Decodes one document (a JSON object). kInvalidArgument "InvalidConvexValue" with the
  // reason (as Convex words it) for a value the schema cannot read.
  [[nodiscard]] absl::StatusOr<Value> Decode(std::string_view json) const;
  // Decodes a JSON array of documents (a .json import). kInvalidArgument "InvalidImport"
  // when `json` is not an array; errors of Decode otherwise, with the row (from 1).
  [[nodiscard]] absl::StatusOr<std::vector<Value>> DecodeArray(std::string_view json) const;

  // The shape in the printed grammar (for tests).
  std::string ShapeText() const;

 private:
  bool uniform_ = false;
  bool legacy_ = false;  // a shape was read (else: no generated schema)
  std::unique_ptr<Shape> shape_;
  std::map<std::string, std::unique_ptr<ExportContext>> overrides_;  // by _id
};

}  // namespace cvx::tools

#endif  // CVX_TOOLS_GENERATED_SCHEMA_H_
