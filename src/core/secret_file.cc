#include <touchpoint/core/secret_file.h>

#include <sys/stat.h>

#include <fstream>
#include <sstream>

namespace touchpoint {

Result<std::string> ReadSecretFile(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return Status::NotFound("cannot read secret file " + path);
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return Status::FailedPrecondition("secret file " + path +
                                      " is accessible to group or others; chmod 600 it");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot read secret file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string secret = ss.str();
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  if (secret.empty()) return Status::FailedPrecondition("secret file " + path + " is empty");
  return secret;
}

}  // namespace touchpoint
