// A SQLite VFS that gathers a transaction's WAL writes into one write call.
//
// SQLite appends a commit to the WAL as two pwrite() calls per page (the
// 24-byte frame header, then the page), so a batch of 25 credits (~80 pages)
// made ~160 system calls, each of which walked the page cache for one or two
// 4 KiB folios: a third of the writer thread's CPU was in the kernel's
// buffered-write path (docs/performance.md, "WAL writes gathered"). SQLite has
// no setting for this; a VFS shim is its extension point for it.
//
// "loyaltyd-wal" wraps the default VFS. Every file but a WAL is the default
// VFS's own file, untouched. A WAL file keeps consecutive writes in a buffer
// and hands them to the default VFS (in 64 KiB writes) when the file is
// synced (every commit, with synchronous=FULL), read, asked its size,
// truncated, given a file control or closed, on a write elsewhere than at the
// buffer's end, or when the buffer reaches kWalGatherMaxBuffer. Lock calls
// pass straight through (SQLite locks the -shm file, not the WAL).
//
// Why this is safe: SQLite makes a commit's frames visible to other
// connections (the wal-index header) only after the commit's sync of the WAL,
// and with synchronous=FULL every commit syncs; the flush happens at that sync
// and so before any reader can look. Frames still buffered when the process
// dies belong to a transaction that never committed: recovery ignores a WAL
// tail exactly as it ignores frames written but not synced. Write errors
// surface at the flush, i.e. from the commit's sync, which fails the commit.
// The connections of open_sqlite() always use synchronous=FULL; a connection
// with synchronous=NORMAL or OFF must not use this VFS (its commits do not
// sync, so other connections could see frames that are still in the buffer).
#pragma once

#include <cstddef>

namespace loyalty::store {

// The VFS's name, registered on first call (thread-safe; never the default
// VFS). nullptr when SQLite has no default VFS to wrap.
const char* wal_gathering_vfs();

// The largest buffer a WAL file keeps before writing it out.
inline constexpr size_t kWalGatherMaxBuffer = size_t{4} << 20;

// Counters of the process's WAL files (for tests and benchmarks).
struct WalGatherStats {
  long long writes_gathered = 0;  // write calls SQLite made
  long long writes_issued = 0;    // write calls handed to the default VFS
};
WalGatherStats wal_gather_stats();

}  // namespace loyalty::store
