// File: engine/base/text.h
//
// Small text formatting shared by the command line and the HTTP surfaces.
// Thread safety: pure functions.

#ifndef CVX_ENGINE_BASE_TEXT_H_
#define CVX_ENGINE_BASE_TEXT_H_

#include <cstdint>
#include <string>

namespace cvx {

// 1234567 -> "1,234,567", as Convex's CLI and import summaries print counts.
std::string WithCommas(uint64_t n);

}  // namespace cvx

#endif  // CVX_ENGINE_BASE_TEXT_H_
