// The evaluator's entry point for one subtree, shared by evaluate() and the
// compiler's constant folding (which evaluates constant subtrees with an empty
// Context: they read nothing from it).
#pragma once

#include <cstdint>

#include "domain/rules/context.h"
#include "domain/rules/node.h"
#include "domain/rules/rules.h"

namespace loyalty::rules::detail {

// Evaluates the subtree of `program` rooted at `node`; no allocation.
EvalResult evaluate_node(const CompiledProgram& program, uint16_t node, const Context& context);

// Calendar conversions (proleptic Gregorian, any int64 within +-10^9 days).
int64_t days_from_civil(int64_t year, int64_t month, int64_t day);
void civil_from_days(int64_t days, int64_t* year, int64_t* month, int64_t* day);
// The range of dates the language accepts: years 1..9999.
inline constexpr int64_t kMinDays = -719'162;   // 0001-01-01
inline constexpr int64_t kMaxDays = 2'932'896;  // 9999-12-31

}  // namespace loyalty::rules::detail
