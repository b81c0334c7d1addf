// core/secret_file.h — reading a secret (a database password, the cluster secret) from a file
// named in the configuration, so that it is never written in a config file or on a command line.
#pragma once

#include <string>

#include <touchpoint/core/result.h>

namespace touchpoint {

// The file's content without trailing newlines. kNotFound when it cannot be read;
// kFailedPrecondition when it is empty, or readable or writable by group or others (like
// ~/.pgpass: chmod 600 it). The secret never appears in a message.
Result<std::string> ReadSecretFile(const std::string& path);

}  // namespace touchpoint
