// PutConfig: how a configuration document becomes a program's next version.
#pragma once

#include "common/result.h"
#include "common/time.h"
#include "engine/engine.h"
#include "store/store.h"

namespace loyalty::engine {

// Parses and validates the document against the program (currency, time zone);
// on success stores it as version latest + 1 and makes it the cache's active
// configuration. Invalid: kInvalidConfig carrying every error
// (config_errors_of), and nothing is written.
Result<store::StoredConfig> put_config(store::StoreSession& s, ProgramCache& programs,
                                       const PutConfig& command, Instant now);

}  // namespace loyalty::engine
