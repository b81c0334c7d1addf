// store/team_repository.h — teams of staff and their supervisors. A user's team is a field of
// the user (store/user_repository.h: at most one team each); a team may have several
// supervisors, and a supervisor may supervise several teams. The service desk's queues and the
// route table's scoping read them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>

namespace touchpoint::store {

struct TeamRecord {
  std::int64_t id = 0;
  std::string name;  // unique
  Millis created_at = 0;
  std::vector<std::int64_t> supervisors;  // user ids, ascending
  friend bool operator==(const TeamRecord&, const TeamRecord&) = default;
};

// Each method is its own small transaction. Safe for one thread at a time.
class TeamRepository {
 public:
  virtual ~TeamRepository() = default;

  // kAlreadyExists when a team has this name.
  virtual Result<TeamRecord> Create(const std::string& name, Millis now) = 0;
  virtual Result<std::optional<TeamRecord>> Find(std::int64_t id) = 0;
  virtual Result<std::optional<TeamRecord>> FindByName(const std::string& name) = 0;
  // In id order.
  virtual Result<std::vector<TeamRecord>> List() = 0;
  // Adding a supervisor twice is fine. kNotFound when the team does not exist.
  virtual Status AddSupervisor(std::int64_t team_id, std::int64_t user_id) = 0;
  // kNotFound when the user does not supervise the team.
  virtual Status RemoveSupervisor(std::int64_t team_id, std::int64_t user_id) = 0;
};

}  // namespace touchpoint::store
