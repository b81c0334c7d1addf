// store/identifier_key.h — the identifiers table's lookup key, shared by the SQLite and
// PostgreSQL adapters: a 64-bit hash of (kind, value), indexed instead of the strings (a unique
// index on ~50-byte keys took random inserts in every commit; the single writer's in-memory
// graph already keeps identifiers unique). It is on disk (SQLite schema 3, PostgreSQL schema 1),
// so it must never change; XXH3's output has been frozen since xxHash 0.8.0.
#pragma once

#include <xxhash.h>

#include <cstdint>
#include <string_view>

namespace touchpoint::store {

inline std::int64_t IdentifierKey(std::string_view kind, std::string_view value) {
  const XXH64_hash_t seed = XXH3_64bits(kind.data(), kind.size());
  return static_cast<std::int64_t>(XXH3_64bits_withSeed(value.data(), value.size(), seed));
}

}  // namespace touchpoint::store
