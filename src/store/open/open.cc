#include <touchpoint/store/open.h>

#include <filesystem>
#include <mutex>

#include <touchpoint/store/memory.h>
#include <touchpoint/store/sqlite.h>
#ifdef TP_WITH_POSTGRES
#include <touchpoint/store/postgres.h>
#endif

namespace touchpoint::store {
namespace {

// "sqlite:///abs/x.db" → "/abs/x.db"; "sqlite://rel/x.db" → "rel/x.db"; "sqlite:x.db" → "x.db".
std::string_view AfterScheme(std::string_view url, std::string_view scheme) {
  std::string_view rest = url.substr(scheme.size() + 1);
  if (rest.substr(0, 2) == "//") rest.remove_prefix(2);
  return rest;
}

}  // namespace

// The backend's store for `url`, without the layer.
Result<std::unique_ptr<Store>> OpenBackend(std::string_view url, const OpenOptions& options);

std::string RedactUrl(std::string_view url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::string(url);
  const size_t auth_begin = scheme_end + 3;
  const size_t at = url.find('@', auth_begin);
  const size_t slash = url.find('/', auth_begin);
  if (at == std::string_view::npos || (slash != std::string_view::npos && slash < at)) return std::string(url);
  const size_t colon = url.find(':', auth_begin);
  if (colon == std::string_view::npos || colon > at) return std::string(url);
  return std::string(url.substr(0, colon + 1)) + "***" + std::string(url.substr(at));
}

std::string UrlForDataDir(const std::string& dir) {
  return "sqlite://" + (std::filesystem::path(dir) / "touchpoint.db").string();
}

namespace {
std::mutex& LayerMutex() {
  static std::mutex mu;
  return mu;
}
OpenLayer& Layer() {
  static OpenLayer layer;
  return layer;
}
}  // namespace

void SetOpenLayer(OpenLayer layer) {
  std::scoped_lock lock(LayerMutex());
  Layer() = std::move(layer);
}

Result<std::unique_ptr<Store>> Open(std::string_view url, const OpenOptions& options) {
  TP_ASSIGN_OR_RETURN(auto store, OpenBackend(url, options));
  if (options.without_layer) return store;
  OpenLayer layer;
  {
    std::scoped_lock lock(LayerMutex());
    layer = Layer();
  }
  if (!layer) return store;
  return layer(url, options, std::move(store));
}

Result<std::unique_ptr<Store>> OpenBackend(std::string_view url, const OpenOptions& options) {
  const size_t colon = url.find(':');
  const std::string_view scheme = colon == std::string_view::npos ? std::string_view() : url.substr(0, colon);
  if (scheme == "sqlite") {
    const std::string path(AfterScheme(url, scheme));
    if (path.empty()) return Status::InvalidArgument("store URL " + RedactUrl(url) + " names no database file");
    if (options.read_only && !std::filesystem::exists(path)) {
      const std::string dir = std::filesystem::path(path).parent_path().string();
      return Status::FailedPrecondition("no Touchpoint database in " + (dir.empty() ? std::string(".") : dir) +
                                        " (ingest something first)");
    }
    sqlite::Options so;
    so.path = path;
    so.read_only = options.read_only;
    so.lock_purpose = options.read_only ? std::string() : options.purpose;
    so.synchronous = options.synchronous;
    so.cache_mib = options.cache_mib;
    auto opened = sqlite::Open(so);
    if (!opened.ok()) return opened.status();
    return opened;
  }
  if (scheme == "memory") {
    const std::string name(url.substr(colon + 1));
    if (name.empty()) {
      if (options.read_only) return Status::InvalidArgument("memory: without a name cannot be opened read-only");
      return memory::Open();
    }
    return memory::OpenShared(name, options.read_only, options.fence_epoch);
  }
  if (scheme == "postgresql" || scheme == "postgres") {
#ifdef TP_WITH_POSTGRES
    postgres::Options po;
    po.url = std::string(url);
    po.password = options.password;
    po.read_only = options.read_only;
    po.lock_purpose = options.read_only ? std::string() : options.purpose;
    po.fence_epoch = options.fence_epoch;
    auto opened = postgres::Open(po);
    if (!opened.ok()) return opened.status().WithContext(RedactUrl(url));
    return opened;
#else
    return Status::InvalidArgument("store URL " + RedactUrl(url) +
                                   ": this binary was built without PostgreSQL (cmake -DTP_WITH_POSTGRES=ON)");
#endif
  }
  return Status::InvalidArgument("store URL " + RedactUrl(url) +
                                 ": unknown scheme (use sqlite:///path/to/touchpoint.db or memory:)");
}

}  // namespace touchpoint::store
