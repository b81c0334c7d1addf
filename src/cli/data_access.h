// cli/data_access.h — how commands open their data: the store chosen by URL (store/open.h) —
// `--store URL` when given, else the SQLite file of the command's data directory — and the
// engine over it. The CLI's one place that opens stores.
#pragma once

#include <memory>
#include <string>

#include <touchpoint/core/result.h>
#include <touchpoint/pipeline/engine.h>
#include <touchpoint/store/open.h>
#include <touchpoint/store/store.h>
#include <touchpoint/wiring/wiring.h>

namespace touchpoint::cli {

// The global `--store URL` option (empty when not given).
std::string& StoreUrlOverride();
// The global `--store-password-file FILE` option (empty when not given): the database password,
// read when a store is opened (core/secret_file.h); libpq's PGPASSWORD and ~/.pgpass work too.
std::string& StorePasswordFile();
// The data directory of the last StoreUrl call (the command's --data), for settings of stores
// not in it (wiring/encryption.h).
std::string& CurrentDataDir();
// `--store URL` when given, else sqlite in `data_dir`.
std::string StoreUrl(const std::string& data_dir);
// Open options with the password of --store-password-file (errors reading it as they come).
Result<store::OpenOptions> BaseOpenOptions();

using wiring::OpenedEngine;

// Opens the store for writing (takes the backend's writer lock, named after `purpose`) and
// loads the engine; with `escalation`, subscribes the escalation rules (when text data exists).
Result<std::unique_ptr<OpenedEngine>> OpenForWriting(const std::string& data_dir, pipeline::EngineOptions options,
                                                     const std::string& purpose,
                                                     const std::string& synchronous = "full",
                                                     bool escalation = false);
// Opens the store read-only (no lock; works next to a running writer). kFailedPrecondition when
// there is no database yet.
Result<std::unique_ptr<store::Store>> OpenReadOnly(const std::string& data_dir);
// Opens the store for the API key table's small writes (no writer lock).
Result<std::unique_ptr<store::Store>> OpenForKeys(const std::string& data_dir);

}  // namespace touchpoint::cli
