// File: tests/testing/values.h
//
// Short builders for Values in tests: Str("a"), I(1), F(1.5), Arr({...}), Obj({...}), and
// float bit helpers.

#ifndef CVX_TESTS_TESTING_VALUES_H_
#define CVX_TESTS_TESTING_VALUES_H_

#include <bit>
#include <cstdint>
#include <string>

#include "engine/value/value.h"

namespace cvx::testing {

inline double FromBits(uint64_t bits) { return std::bit_cast<double>(bits); }
inline uint64_t Bits(double d) { return std::bit_cast<uint64_t>(d); }

inline Value Str(std::string s) { return Value::String(std::move(s)); }
inline Value I(int64_t v) { return Value::Int64(v); }
inline Value F(double v) { return Value::Float64(v); }
inline Value Arr(Array a) { return Value::FromArray(std::move(a)); }
inline Value Obj(Object o) { return Value::FromObject(std::move(o)); }

}  // namespace cvx::testing

#endif  // CVX_TESTS_TESTING_VALUES_H_
