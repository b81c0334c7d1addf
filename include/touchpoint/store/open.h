// store/open.h — choosing a backend by URL: the one place that knows every adapter. Called only
// by the composition roots (server, cli) and by tests.
//
//   sqlite:///abs/path/touchpoint.db   sqlite://relative/path.db   (the embedded default)
//   memory:                            a new empty in-process store
//   memory:NAME                        an in-process store shared by every Open of the same NAME
//   postgresql://user@host:port/db     a PostgreSQL 15 database (libpq's URI; the password from
//                                      OpenOptions::password, PGPASSWORD or ~/.pgpass)
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <touchpoint/core/result.h>
#include <touchpoint/store/store.h>

namespace touchpoint::store {

struct OpenOptions {
  // Read-only opens never create, migrate or lock; they may run next to a writer.
  bool read_only = false;
  // A writer holds the backend's writer lock (SQLite: flock on LOCK beside the database file)
  // while the store is open; `purpose` names the holder in the error another writer gets
  // ("pid 123 (touchpoint serve)"). Empty: take no writer lock (small writes such as API keys
  // that the database's own locking serialises with a running writer).
  std::string purpose;
  // SQLite: "full" (fsync each commit) or "normal". Ignored by other backends.
  std::string synchronous = "full";
  int cache_mib = 32;  // SQLite page cache
  // Several nodes (store/cluster.h): > 0 opens a writer fenced at this epoch: Begin() fails with
  // kFailedPrecondition ("fenced") once another node was elected. 0: no fencing.
  std::int64_t fence_epoch = 0;
  // PostgreSQL: the password when the URL has none (read from [store] password_file); libpq
  // otherwise uses PGPASSWORD or ~/.pgpass. Never logged.
  std::string password;
  // Open the backend's store itself, without the process's open layer (see SetOpenLayer).
  bool without_layer = false;
};

// A layer the composition root puts over every store Open returns in this process (encryption
// at rest: wiring/encryption.h): called with the URL, the options and the opened store, it
// returns the store to use (the same one, or a wrapper over it) or an error that Open returns.
// Empty (the default, and in tests that do not set one): no layer.
using OpenLayer =
    std::function<Result<std::unique_ptr<Store>>(std::string_view url, const OpenOptions&, std::unique_ptr<Store>)>;
void SetOpenLayer(OpenLayer layer);

// Opens the store at `url`. kInvalidArgument for an unknown scheme or a malformed URL;
// kUnavailable when the database cannot be reached or the writer lock is held by another
// process; kFailedPrecondition for a read-only open of a store that does not exist yet, or a
// database newer than this binary. Messages name the URL without its password.
Result<std::unique_ptr<Store>> Open(std::string_view url, const OpenOptions& options = {});

// The URL of the SQLite database in a data directory (DIR/touchpoint.db).
std::string UrlForDataDir(const std::string& dir);

// `url` with any password replaced by "***" (for messages and logs).
std::string RedactUrl(std::string_view url);

}  // namespace touchpoint::store
