// Helpers shared by the server tests: temporary data directories, keys, auth headers.
#pragma once

#include <filesystem>
#include <random>
#include <string>

#include <touchpoint/core/time.h>
#include <touchpoint/privacy/keys.h>
#include <touchpoint/server/config.h>
#include <touchpoint/store/api_key_repository.h>

#include "testing/data_dir.h"

#include "testing/http_client.h"

namespace touchpoint::server::test {

inline std::filesystem::path MakeTempDir(const std::string& tag) {
  std::random_device rd;
  auto dir = std::filesystem::temp_directory_path() / ("tp_server_" + tag + "_" + std::to_string(rd()));
  std::filesystem::create_directories(dir);
  return dir;
}

// A server configuration for a test over `data_dir` and `store_url`: loopback on a free port, one
// I/O and four worker threads, SQLite's `normal` sync, warnings only, no API-key cache (keys
// take effect at once) and no scheduled jobs. Tests change what they are about.
inline ServerConfig TestConfig(const std::string& data_dir, const std::string& store_url) {
  ServerConfig c;
  c.data_dir = data_dir;
  c.store_url = store_url;
  c.listen = "127.0.0.1:0";
  c.io_threads = 1;
  c.worker_threads = 4;
  c.synchronous = "normal";
  c.log_level = "warn";
  c.key_cache_seconds = 0;
  c.jobs_schedule = "off";
  return c;
}

// Creates a key with `role` in the data directory (as `touchpoint keys create` does).
inline std::string MakeKey(const std::string& dir, privacy::Role role) {
  auto store = testing::OpenForKeys(dir);
  if (!store.ok()) return "";
  auto created = privacy::CreateApiKey((*store)->Get<store::ApiKeyRepository>(), role, 1'700'000'000'000);
  return created.ok() ? created->key : "";
}

inline std::string Base64(const std::string& in) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i + 1 == in.size()) {
    const unsigned v = static_cast<unsigned>(static_cast<unsigned char>(in[i])) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    const unsigned v = (static_cast<unsigned>(static_cast<unsigned char>(in[i])) << 16) |
                       (static_cast<unsigned>(static_cast<unsigned char>(in[i + 1])) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

// Segment's way: the write key as the Basic user name, empty password.
inline touchpoint::testing::HttpHeaders BasicAuth(const std::string& key) {
  return {{"Authorization", "Basic " + Base64(key + ":")}};
}
inline touchpoint::testing::HttpHeaders BearerAuth(const std::string& key) {
  return {{"Authorization", "Bearer " + key}};
}

}  // namespace touchpoint::server::test
