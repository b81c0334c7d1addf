// Prints a new API key with the given role for a data directory: bench_key DIR ROLE.
#include <cstdio>

#include <touchpoint/privacy/keys.h>
#include <touchpoint/store/api_key_repository.h>
#include <touchpoint/store/open.h>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s DATA_DIR ROLE\n", argv[0]);
    return 2;
  }
  auto role = touchpoint::privacy::ParseRole(argv[2]);
  if (!role.ok()) {
    std::fprintf(stderr, "%s\n", role.status().message().c_str());
    return 2;
  }
  auto store = touchpoint::store::Open(touchpoint::store::UrlForDataDir(argv[1]));
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.status().message().c_str());
    return 1;
  }
  auto created = touchpoint::privacy::CreateApiKey((*store)->Get<touchpoint::store::ApiKeyRepository>(), *role, 0);
  if (!created.ok()) {
    std::fprintf(stderr, "%s\n", created.status().message().c_str());
    return 1;
  }
  std::printf("%s\n", created->key.c_str());
  return 0;
}
