// The engine side of `loyaltyd import orders` (docs/import.md): ImportOrders
// runs each record through the same order commands as the API (create_order,
// update_order_status, refund_order), each at the record's own historical
// instant, so earning, pending, vesting and rolling expiry happen as they would
// have live. Engine-internal: included by src/engine/*.cpp only.
#pragma once

#include "common/result.h"
#include "common/time.h"
#include "engine/engine.h"
#include "store/store.h"

namespace loyalty::engine {

// Runs ImportOrders (see engine.h). `now` is the engine's clock: no record may
// be later than it.
Result<ImportResult> import_orders(store::StoreSession& s, ProgramCache& programs,
                                   const ImportOrders& command, Instant now);

}  // namespace loyalty::engine
