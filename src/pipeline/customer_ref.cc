#include "pipeline/customer_ref.h"

#include <charconv>

namespace touchpoint::pipeline {

Result<Ref> ParseRef(std::string_view ref) {
  Ref r;
  if (!ref.empty() && ref.find(':') == std::string_view::npos) {
    std::int64_t id = 0;
    auto [p, ec] = std::from_chars(ref.data(), ref.data() + ref.size(), id);
    if (ec == std::errc() && p == ref.data() + ref.size() && id > 0) {
      r.is_id = true;
      r.id = CustomerId(id);
      return r;
    }
  }
  TP_ASSIGN_OR_RETURN(r.identifier, identity::ParseIdentifierRef(ref));
  return r;
}

}  // namespace touchpoint::pipeline
