#include "store/sqlite_wal_vfs.h"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>
#include <new>
#include <vector>

namespace loyalty::store {
namespace {

constexpr const char* kVfsName = "loyaltyd-wal";

std::atomic<long long> g_writes_gathered{0};
std::atomic<long long> g_writes_issued{0};

sqlite3_vfs* real_vfs(sqlite3_vfs* shim) { return static_cast<sqlite3_vfs*>(shim->pAppData); }

// A WAL file: our fields, then the default VFS's file (at kRealOffset).
struct WalFile {
  sqlite3_file base;            // base.pMethods is kWalMethods
  sqlite3_file* real;           // the default VFS's file, inside this allocation
  std::vector<char> buffer;     // consecutive writes not yet handed over
  sqlite3_int64 buffer_at = 0;  // the file offset of buffer[0]
};
constexpr size_t kRealOffset = (sizeof(WalFile) + 15) / 16 * 16;

WalFile* wal(sqlite3_file* f) { return reinterpret_cast<WalFile*>(f); }
const sqlite3_io_methods& real_methods(WalFile* f) { return *f->real->pMethods; }

// The unix VFS takes writes below 128 KiB only (its seekAndWrite masks the
// length with 0x1ffff), so the buffer goes out in pieces of this size.
constexpr size_t kWriteChunk = size_t{64} << 10;

int flush(WalFile* f) {
  if (f->buffer.empty()) return SQLITE_OK;
  int rc = SQLITE_OK;
  for (size_t done = 0; done < f->buffer.size() && rc == SQLITE_OK; done += kWriteChunk) {
    const size_t n = std::min(kWriteChunk, f->buffer.size() - done);
    g_writes_issued.fetch_add(1, std::memory_order_relaxed);
    rc = real_methods(f).xWrite(f->real, f->buffer.data() + done, static_cast<int>(n),
                                f->buffer_at + static_cast<sqlite3_int64>(done));
  }
  // Dropped either way: after a failed write SQLite rolls the transaction back
  // and rewrites what it needs; keeping the bytes would write them again later.
  f->buffer.clear();
  return rc;
}

int wal_close(sqlite3_file* file) {
  WalFile* f = wal(file);
  const int flushed = flush(f);
  const int rc = real_methods(f).xClose(f->real);
  f->~WalFile();
  return flushed != SQLITE_OK ? flushed : rc;
}

int wal_read(sqlite3_file* file, void* out, int amount, sqlite3_int64 offset) {
  WalFile* f = wal(file);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return real_methods(f).xRead(f->real, out, amount, offset);
}

int wal_write(sqlite3_file* file, const void* data, int amount, sqlite3_int64 offset) {
  WalFile* f = wal(file);
  g_writes_gathered.fetch_add(1, std::memory_order_relaxed);
  if (!f->buffer.empty() && offset != f->buffer_at + static_cast<sqlite3_int64>(f->buffer.size())) {
    if (int rc = flush(f); rc != SQLITE_OK) return rc;
  }
  if (f->buffer.empty()) f->buffer_at = offset;
  const auto* bytes = static_cast<const char*>(data);
  f->buffer.insert(f->buffer.end(), bytes, bytes + amount);
  if (f->buffer.size() >= kWalGatherMaxBuffer) return flush(f);
  return SQLITE_OK;
}

int wal_truncate(sqlite3_file* file, sqlite3_int64 size) {
  WalFile* f = wal(file);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return real_methods(f).xTruncate(f->real, size);
}

int wal_sync(sqlite3_file* file, int flags) {
  WalFile* f = wal(file);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return real_methods(f).xSync(f->real, flags);
}

int wal_file_size(sqlite3_file* file, sqlite3_int64* size) {
  WalFile* f = wal(file);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return real_methods(f).xFileSize(f->real, size);
}

int wal_lock(sqlite3_file* file, int level) {
  return real_methods(wal(file)).xLock(wal(file)->real, level);
}
int wal_unlock(sqlite3_file* file, int level) {
  return real_methods(wal(file)).xUnlock(wal(file)->real, level);
}
int wal_check_reserved(sqlite3_file* file, int* out) {
  return real_methods(wal(file)).xCheckReservedLock(wal(file)->real, out);
}

int wal_file_control(sqlite3_file* file, int op, void* arg) {
  WalFile* f = wal(file);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return real_methods(f).xFileControl(f->real, op, arg);
}

int wal_sector_size(sqlite3_file* file) {
  return real_methods(wal(file)).xSectorSize(wal(file)->real);
}
int wal_device_characteristics(sqlite3_file* file) {
  return real_methods(wal(file)).xDeviceCharacteristics(wal(file)->real);
}

// A WAL has no shared memory and is never memory-mapped; these only keep the
// methods complete (version 3) and answer as the default VFS's file would.
int wal_shm_map(sqlite3_file* file, int page, int size, int extend, void volatile** out) {
  return real_methods(wal(file)).xShmMap(wal(file)->real, page, size, extend, out);
}
int wal_shm_lock(sqlite3_file* file, int offset, int n, int flags) {
  return real_methods(wal(file)).xShmLock(wal(file)->real, offset, n, flags);
}
void wal_shm_barrier(sqlite3_file* file) { real_methods(wal(file)).xShmBarrier(wal(file)->real); }
int wal_shm_unmap(sqlite3_file* file, int delete_flag) {
  return real_methods(wal(file)).xShmUnmap(wal(file)->real, delete_flag);
}
int wal_fetch(sqlite3_file* file, sqlite3_int64 offset, int amount, void** out) {
  WalFile* f = wal(file);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return real_methods(f).xFetch(f->real, offset, amount, out);
}
int wal_unfetch(sqlite3_file* file, sqlite3_int64 offset, void* page) {
  return real_methods(wal(file)).xUnfetch(wal(file)->real, offset, page);
}

const sqlite3_io_methods kWalMethods = {
    3,
    wal_close,
    wal_read,
    wal_write,
    wal_truncate,
    wal_sync,
    wal_file_size,
    wal_lock,
    wal_unlock,
    wal_check_reserved,
    wal_file_control,
    wal_sector_size,
    wal_device_characteristics,
    wal_shm_map,
    wal_shm_lock,
    wal_shm_barrier,
    wal_shm_unmap,
    wal_fetch,
    wal_unfetch,
};

int vfs_open(sqlite3_vfs* vfs, sqlite3_filename name, sqlite3_file* file, int flags,
             int* out_flags) {
  sqlite3_vfs* real = real_vfs(vfs);
  // Every other file is the default VFS's file in the memory SQLite gave us
  // (szOsFile covers both layouts): no wrapper on its calls.
  if ((flags & SQLITE_OPEN_WAL) == 0) return real->xOpen(real, name, file, flags, out_flags);
  auto* f = new (file) WalFile{};
  f->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + kRealOffset);
  std::memset(static_cast<void*>(f->real), 0, static_cast<size_t>(real->szOsFile));
  const int rc = real->xOpen(real, name, f->real, flags, out_flags);
  if (rc != SQLITE_OK || f->real->pMethods == nullptr) {
    f->~WalFile();
    file->pMethods = nullptr;  // SQLite then calls no method of the file
    return rc != SQLITE_OK ? rc : SQLITE_CANTOPEN;
  }
  // The methods above assume the default VFS's files have every method of
  // version 3 (the unix VFS's do).
  if (f->real->pMethods->iVersion < 3) {
    f->real->pMethods->xClose(f->real);
    f->~WalFile();
    file->pMethods = nullptr;
    return SQLITE_CANTOPEN;
  }
  f->base.pMethods = &kWalMethods;
  return SQLITE_OK;
}

// The rest forward to the default VFS with its own sqlite3_vfs (its methods
// may read their pAppData).
int vfs_delete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
  return real_vfs(vfs)->xDelete(real_vfs(vfs), name, sync_dir);
}
int vfs_access(sqlite3_vfs* vfs, const char* name, int flags, int* out) {
  return real_vfs(vfs)->xAccess(real_vfs(vfs), name, flags, out);
}
int vfs_full_pathname(sqlite3_vfs* vfs, const char* name, int n, char* out) {
  return real_vfs(vfs)->xFullPathname(real_vfs(vfs), name, n, out);
}
void* vfs_dl_open(sqlite3_vfs* vfs, const char* name) {
  return real_vfs(vfs)->xDlOpen(real_vfs(vfs), name);
}
void vfs_dl_error(sqlite3_vfs* vfs, int n, char* out) {
  real_vfs(vfs)->xDlError(real_vfs(vfs), n, out);
}
void (*vfs_dl_sym(sqlite3_vfs* vfs, void* handle, const char* symbol))() {
  return real_vfs(vfs)->xDlSym(real_vfs(vfs), handle, symbol);
}
void vfs_dl_close(sqlite3_vfs* vfs, void* handle) {
  real_vfs(vfs)->xDlClose(real_vfs(vfs), handle);
}
int vfs_randomness(sqlite3_vfs* vfs, int n, char* out) {
  return real_vfs(vfs)->xRandomness(real_vfs(vfs), n, out);
}
int vfs_sleep(sqlite3_vfs* vfs, int micros) { return real_vfs(vfs)->xSleep(real_vfs(vfs), micros); }
int vfs_current_time(sqlite3_vfs* vfs, double* out) {
  return real_vfs(vfs)->xCurrentTime(real_vfs(vfs), out);
}
int vfs_get_last_error(sqlite3_vfs* vfs, int n, char* out) {
  return real_vfs(vfs)->xGetLastError(real_vfs(vfs), n, out);
}
int vfs_current_time_int64(sqlite3_vfs* vfs, sqlite3_int64* out) {
  return real_vfs(vfs)->xCurrentTimeInt64(real_vfs(vfs), out);
}
int vfs_set_system_call(sqlite3_vfs* vfs, const char* name, sqlite3_syscall_ptr call) {
  return real_vfs(vfs)->xSetSystemCall(real_vfs(vfs), name, call);
}
sqlite3_syscall_ptr vfs_get_system_call(sqlite3_vfs* vfs, const char* name) {
  return real_vfs(vfs)->xGetSystemCall(real_vfs(vfs), name);
}
const char* vfs_next_system_call(sqlite3_vfs* vfs, const char* name) {
  return real_vfs(vfs)->xNextSystemCall(real_vfs(vfs), name);
}

sqlite3_vfs g_vfs;

bool register_vfs() {
  sqlite3_vfs* real = sqlite3_vfs_find(nullptr);
  if (real == nullptr || real->iVersion < 3) return false;
  g_vfs = sqlite3_vfs{};
  g_vfs.iVersion = 3;
  g_vfs.szOsFile = static_cast<int>(kRealOffset) + real->szOsFile;  // covers both layouts
  g_vfs.mxPathname = real->mxPathname;
  g_vfs.zName = kVfsName;
  g_vfs.pAppData = real;
  g_vfs.xOpen = vfs_open;
  g_vfs.xDelete = vfs_delete;
  g_vfs.xAccess = vfs_access;
  g_vfs.xFullPathname = vfs_full_pathname;
  g_vfs.xDlOpen = vfs_dl_open;
  g_vfs.xDlError = vfs_dl_error;
  g_vfs.xDlSym = vfs_dl_sym;
  g_vfs.xDlClose = vfs_dl_close;
  g_vfs.xRandomness = vfs_randomness;
  g_vfs.xSleep = vfs_sleep;
  g_vfs.xCurrentTime = vfs_current_time;
  g_vfs.xGetLastError = vfs_get_last_error;
  g_vfs.xCurrentTimeInt64 = vfs_current_time_int64;
  g_vfs.xSetSystemCall = vfs_set_system_call;
  g_vfs.xGetSystemCall = vfs_get_system_call;
  g_vfs.xNextSystemCall = vfs_next_system_call;
  return sqlite3_vfs_register(&g_vfs, 0) == SQLITE_OK;
}

}  // namespace

const char* wal_gathering_vfs() {
  static std::once_flag once;
  static bool registered = false;
  std::call_once(once, [] { registered = register_vfs(); });
  return registered ? kVfsName : nullptr;
}

WalGatherStats wal_gather_stats() {
  return WalGatherStats{g_writes_gathered.load(std::memory_order_relaxed),
                        g_writes_issued.load(std::memory_order_relaxed)};
}

}  // namespace loyalty::store
