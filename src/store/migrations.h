// Numbered schema migrations, applied in order at start.
//
// Each migration is written once with two tokens that differ per dialect:
// {ID} (an auto-assigned 64-bit id column) and {KEY} (the table key: PRIMARY
// KEY on PostgreSQL, where the id is not the key, UNIQUE on SQLite, where the
// rowid is). {INT} is a 64-bit integer column; lines starting with {PG} exist on
// PostgreSQL only. Never edit a released migration;
// add a new one.
#pragma once

#include <string>
#include <vector>

#include "store/sql.h"

namespace loyalty::store {

struct Migration {
  int version;
  const char* name;
  const char* sql;
};

const std::vector<Migration>& migrations();
// The migration's SQL with the dialect's tokens substituted.
std::string render_migration(const Migration& m, Dialect dialect);

}  // namespace loyalty::store
