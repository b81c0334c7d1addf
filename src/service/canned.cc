#include <touchpoint/service/canned.h>

#include <algorithm>
#include <array>
#include <string>
#include <utility>

namespace touchpoint::service {
namespace {

constexpr std::array<std::string_view, 10> kPlaceholders = {
    "customer.name",  "customer.id",     "ticket.number", "ticket.subject", "ticket.status",
    "ticket.priority", "ticket.channel", "ticket.queue",  "agent.name",     "agent.email"};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string Known() {
  std::string out;
  for (std::string_view p : kPlaceholders) out += (out.empty() ? "" : ", ") + std::string(p);
  return out;
}

// Calls fn(text_before, placeholder) for each placeholder and fn(rest, "") at the end.
template <class Fn>
Status Walk(std::string_view body, Fn&& fn) {
  size_t pos = 0;
  for (;;) {
    const size_t open = body.find("{{", pos);
    if (open == std::string_view::npos) {
      fn(body.substr(pos), std::string_view());
      return Status::Ok();
    }
    const size_t close = body.find("}}", open + 2);
    if (close == std::string_view::npos) {
      return Status::InvalidArgument("body: \"{{\" without \"}}\" at byte " + std::to_string(open));
    }
    const std::string_view name = Trim(body.substr(open + 2, close - open - 2));
    if (std::find(kPlaceholders.begin(), kPlaceholders.end(), name) == kPlaceholders.end()) {
      return Status::InvalidArgument("body: unknown placeholder {{" + std::string(name) + "}} (known: " + Known() + ")");
    }
    fn(body.substr(pos, open - pos), name);
    pos = close + 2;
  }
}

}  // namespace

Result<std::vector<std::string>> CannedPlaceholdersOf(std::string_view body) {
  std::vector<std::string> out;
  TP_RETURN_IF_ERROR(Walk(body, [&](std::string_view, std::string_view name) {
    if (!name.empty()) out.emplace_back(name);
  }));
  return out;
}

Result<std::string> RenderCanned(std::string_view body, const std::map<std::string, std::string>& values) {
  std::string out;
  TP_RETURN_IF_ERROR(Walk(body, [&](std::string_view text, std::string_view name) {
    out += text;
    if (name.empty()) return;
    auto it = values.find(std::string(name));
    if (it != values.end()) out += it->second;
  }));
  return out;
}

Status CheckCanned(const store::CannedReplyRecord& r) {
  if (r.name.empty() || r.name.size() > 64) return Status::InvalidArgument("name: 1 to 64 bytes of a-z 0-9 _ . -");
  for (char c : r.name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-')) {
      return Status::InvalidArgument("name: \"" + r.name + "\" has a character other than a-z 0-9 _ . -");
    }
  }
  if (r.title.size() > 200) return Status::InvalidArgument("title: longer than 200 bytes");
  if (r.body.empty()) return Status::InvalidArgument("body: required");
  if (r.body.size() > 10'000) return Status::InvalidArgument("body: longer than 10000 bytes");
  return CannedPlaceholdersOf(r.body).status();
}

Result<store::CannedReplyRecord> PutCanned(store::Store& store, store::CannedReplyRecord reply, Millis now) {
  TP_RETURN_IF_ERROR(CheckCanned(reply));
  store::DeskflowRepository& repo = store.Get<store::DeskflowRepository>();
  TP_ASSIGN_OR_RETURN(auto existing, repo.FindCanned(reply.name));
  reply.created_at = existing ? existing->created_at : now;
  reply.updated_at = now;
  TP_ASSIGN_OR_RETURN(auto txn, store.Begin());
  TP_RETURN_IF_ERROR(repo.PutCanned(*txn, reply));
  TP_RETURN_IF_ERROR(txn->Commit());
  return reply;
}

}  // namespace touchpoint::service
