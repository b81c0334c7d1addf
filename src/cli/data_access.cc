#include "cli/data_access.h"

#include <unistd.h>

#include <touchpoint/store/open.h>

namespace touchpoint::cli {

std::string& StoreUrlOverride() {
  static std::string url;
  return url;
}

std::string StoreUrl(const std::string& data_dir) {
  const std::string& url = StoreUrlOverride();
  if (url.empty()) return store::UrlForDataDir(data_dir);
  // An unnamed memory store would be a different one at every open; name it after the process.
  if (url == "memory:") return "memory:cli-" + std::to_string(getpid());
  return url;
}

Result<std::unique_ptr<OpenedEngine>> OpenForWriting(const std::string& data_dir, pipeline::EngineOptions options,
                                                     const std::string& purpose, const std::string& synchronous,
                                                     bool escalation) {
  const std::string url = StoreUrl(data_dir);
  store::OpenOptions o;
  o.purpose = purpose;
  o.synchronous = synchronous;
  TP_ASSIGN_OR_RETURN(auto st, store::Open(url, o));
  const bool analysed = static_cast<bool>(options.analyze_message);
  auto out = std::make_unique<OpenedEngine>();
  TP_ASSIGN_OR_RETURN(out->engine, pipeline::Engine::Open(std::move(st), std::move(options)));
  if (escalation && analysed) {
    store::OpenOptions side;
    side.cache_mib = 4;
    side.synchronous = "normal";  // firings are not acknowledged to anyone: no fsync per batch
    TP_ASSIGN_OR_RETURN(auto side_store, store::Open(url, side));
    auto attached = service::AttachEscalation(*out->engine, std::move(side_store));
    if (attached.ok()) out->escalation = std::move(*attached);
  }
  return out;
}

Result<std::unique_ptr<store::Store>> OpenReadOnly(const std::string& data_dir) {
  store::OpenOptions o;
  o.read_only = true;
  o.cache_mib = 16;
  return store::Open(StoreUrl(data_dir), o);
}

Result<std::unique_ptr<store::Store>> OpenForKeys(const std::string& data_dir) {
  store::OpenOptions o;
  o.cache_mib = 4;
  return store::Open(StoreUrl(data_dir), o);
}

}  // namespace touchpoint::cli
