// Calendar periods of caps and limits, in the program's time zone; the store
// keys them with period_key (domain/earning.h).
#pragma once

namespace loyalty {

enum class CapPeriod { kDay, kWeek, kMonth, kYear, kLifetime };

}  // namespace loyalty
