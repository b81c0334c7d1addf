// `touchpoint users …` and `touchpoint teams …`: the people who log in (staff) and their teams.
// The work is privacy::UserAdmin's (privacy/users.h); this file parses arguments, reads passwords
// (from a private file or typed without echo) and prints JSON.
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include <touchpoint/core/secret_file.h>
#include <touchpoint/core/time.h>
#include <touchpoint/privacy/passwords.h>
#include <touchpoint/privacy/roles.h>
#include <touchpoint/privacy/users.h>
#include <touchpoint/store/team_repository.h>
#include <touchpoint/store/user_repository.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/data_access.h"

namespace touchpoint::cli {
namespace {

using Json = nlohmann::ordered_json;

// Where user and team changes are reported (privacy/auth_events.h): the audit log, once it is
// connected here; until then nothing.
privacy::AuthEventSink CliAuthEventSink() { return {}; }

// One line from the terminal without echo (stdin not a terminal: one line from it, for scripts).
Result<std::string> ReadLineNoEcho(const char* prompt) {
  const bool tty = isatty(STDIN_FILENO) != 0;
  termios old{};
  if (tty) {
    std::fprintf(stderr, "%s", prompt);
    std::fflush(stderr);
    tcgetattr(STDIN_FILENO, &old);
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::string line;
  const bool got = static_cast<bool>(std::getline(std::cin, line));
  if (tty) {
    tcsetattr(STDIN_FILENO, TCSANOW, &old);
    std::fprintf(stderr, "\n");
  }
  if (!got) return Status::InvalidArgument("no password given (type it, or use --password-file)");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

// The new password: from --password-file (a private file, chmod 600), else typed twice.
Result<std::string> NewPassword(const std::string& password_file) {
  if (!password_file.empty()) return ReadSecretFile(password_file);
  TP_ASSIGN_OR_RETURN(std::string first, ReadLineNoEcho("New password (12 characters or more): "));
  TP_RETURN_IF_ERROR(privacy::CheckNewPassword(first));
  if (isatty(STDIN_FILENO) != 0) {
    TP_ASSIGN_OR_RETURN(std::string again, ReadLineNoEcho("Repeat it: "));
    if (again != first) return Status::InvalidArgument("the two passwords differ");
  }
  return first;
}

// The user administration of one command: its store, hasher and UserAdmin.
struct Admin {
  std::unique_ptr<store::Store> store;
  std::unique_ptr<privacy::PasswordHasher> hasher;
  std::unique_ptr<privacy::UserAdmin> users;
};

Result<Admin> OpenAdmin(const std::string& data_dir) {
  Admin a;
  auto store = OpenForKeys(data_dir);
  if (!store.ok()) return Status::Unavailable(store.status().message());
  a.store = std::move(*store);
  a.hasher = std::make_unique<privacy::PasswordHasher>();
  a.users = std::make_unique<privacy::UserAdmin>(*a.store, *a.hasher, SystemClock::Instance(), CliAuthEventSink());
  return a;
}

Json Timestamp(Millis t) { return t == 0 ? Json(nullptr) : Json(FormatTimestamp(t)); }

// Runs `fn(admin)` over the data directory's store; its Status becomes the exit code.
template <class Fn>
void WithAdmin(const std::string& data_dir, int* exit_code, Fn&& fn) {
  auto admin = OpenAdmin(data_dir);
  if (!admin.ok()) {
    *exit_code = Fail(admin.status());
    return;
  }
  Status s = fn(*admin);
  if (!s.ok()) *exit_code = Fail(s);
}

}  // namespace

void RegisterUserCommands(CLI::App& app, int* exit_code) {
  auto data = std::make_shared<std::string>(DefaultDataDir());
  auto email = std::make_shared<std::string>();
  auto role = std::make_shared<std::string>();
  auto team = std::make_shared<std::string>();
  auto password_file = std::make_shared<std::string>();
  auto issuer = std::make_shared<std::string>("Touchpoint");

  CLI::App* users = app.add_subcommand(
      "users", "People who log in (admin, supervisor, agent, analyst): create, list, disable, passwords, roles, TOTP");
  users->require_subcommand(1);

  CLI::App* create = users->add_subcommand(
      "create", "Create a user; the password is typed (no echo) or read from --password-file (chmod 600)");
  create->add_option("--email", *email, "The user's e-mail (their login name)")->required();
  create->add_option("--role", *role, "admin | supervisor | agent | analyst")->required();
  create->add_option("--team", *team, "The user's team (see `teams create`)");
  create->add_option("--password-file", *password_file, "A private file holding the password");
  create->add_option("--data", *data, "Data directory");
  create->callback([=] {
    WithAdmin(*data, exit_code, [&](Admin& a) -> Status {
      TP_ASSIGN_OR_RETURN(privacy::Role r, privacy::ParseRole(*role));
      TP_RETURN_IF_ERROR(privacy::CheckStaffRole(r));
      TP_ASSIGN_OR_RETURN(std::string password, NewPassword(*password_file));
      TP_ASSIGN_OR_RETURN(store::UserRecord u, a.users->CreateUser(*email, r, *team, password));
      std::printf("%s\n", Json({{"created", u.email}, {"id", u.id}, {"role", u.role}}).dump().c_str());
      if (r == privacy::Role::kAdmin) {
        std::fprintf(stderr, "an admin must enrol TOTP before logging in: touchpoint users totp-enroll %s\n",
                     u.email.c_str());
      }
      return Status::Ok();
    });
  });

  CLI::App* list = users->add_subcommand("list", "List users (no passwords or secrets)");
  list->add_option("--data", *data, "Data directory");
  list->callback([=] {
    WithAdmin(*data, exit_code, [&](Admin& a) -> Status {
      TP_ASSIGN_OR_RETURN(auto all, a.users->ListUsers());
      TP_ASSIGN_OR_RETURN(auto teams, a.users->ListTeams());
      Json out = Json::array();
      for (const store::UserRecord& u : all) {
        Json team_name = nullptr;
        for (const auto& t : teams) {
          if (t.id == u.team_id) team_name = t.name;
        }
        out.push_back({{"id", u.id},
                       {"email", u.email},
                       {"role", u.role},
                       {"team", team_name},
                       {"totp_enrolled", !u.totp_secret.empty()},
                       {"created_at", Timestamp(u.created_at)},
                       {"disabled_at", Timestamp(u.disabled_at)},
                       {"password_changed_at", Timestamp(u.password_changed_at)},
                       {"failed_logins", u.failed_logins},
                       {"locked_until", Timestamp(u.locked_until)}});
      }
      std::printf("%s\n", out.dump(2).c_str());
      return Status::Ok();
    });
  });

  // disable | enable EMAIL
  for (const char* name : {"disable", "enable"}) {
    const bool disable = std::string_view(name) == "disable";
    CLI::App* cmd = users->add_subcommand(
        name, disable ? "Disable a user: they cannot log in and their sessions end at once" : "Enable a disabled user");
    cmd->add_option("email", *email, "The user's e-mail")->required();
    cmd->add_option("--data", *data, "Data directory");
    cmd->callback([=] {
      WithAdmin(*data, exit_code, [&](Admin& a) -> Status {
        TP_RETURN_IF_ERROR(disable ? a.users->Disable(*email) : a.users->Enable(*email));
        std::printf("%s\n", Json({{disable ? "disabled" : "enabled", *email}}).dump().c_str());
        return Status::Ok();
      });
    });
  }

  CLI::App* reset = users->add_subcommand(
      "reset-password", "Set a new password (typed, or --password-file); ends the user's sessions and clears a lock");
  reset->add_option("email", *email, "The user's e-mail")->required();
  reset->add_option("--password-file", *password_file, "A private file holding the new password");
  reset->add_option("--data", *data, "Data directory");
  reset->callback([=] {
    WithAdmin(*data, exit_code, [&](Admin& a) -> Status {
      TP_RETURN_IF_ERROR(a.users->FindUser(*email).status());  // before asking for a password
      TP_ASSIGN_OR_RETURN(std::string password, NewPassword(*password_file));
      TP_RETURN_IF_ERROR(a.users->ResetPassword(*email, password));
      std::printf("%s\n", Json({{"password_reset", *email}}).dump().c_str());
      return Status::Ok();
    });
  });

  CLI::App* set_role = users->add_subcommand("set-role", "Change a user's role; ends their sessions");
  set_role->add_option("email", *email, "The user's e-mail")->required();
  set_role->add_option("--role", *role, "admin | supervisor | agent | analyst")->required();
  set_role->add_option("--data", *data, "Data directory");
  set_role->callback([=] {
    WithAdmin(*data, exit_code, [&](Admin& a) -> Status {
      TP_ASSIGN_OR_RETURN(privacy::Role r, privacy::ParseRole(*role));
      TP_RETURN_IF_ERROR(a.users->SetRole(*email, r));
      std::printf("%s\n", Json({{"user", *email}, {"role", *role}}).dump().c_str());
      return Status::Ok();
    });
  });

  CLI::App* totp = users->add_subcommand(
      "totp-enroll",
      "Give the user a new TOTP secret (replacing any earlier one) and print its otpauth:// URI once: "
      "scan it (as a QR code) or paste it into an authenticator app");
  totp->add_option("email", *email, "The user's e-mail")->required();
  totp->add_option("--issuer", *issuer, "The name the app shows for this installation");
  totp->add_option("--data", *data, "Data directory");
  totp->callback([=] {
    WithAdmin(*data, exit_code, [&](Admin& a) -> Status {
      TP_ASSIGN_OR_RETURN(privacy::TotpEnrollment e, a.users->EnrollTotp(*email, *issuer));
      std::fprintf(stderr, "TOTP enrolled for %s; give the user this URI now (it is not shown again):\n",
                   email->c_str());
      std::printf("%s\n", e.uri.c_str());
      return Status::Ok();
    });
  });

  // teams create | list | add-supervisor | add-member
  auto team_name = std::make_shared<std::string>();
  CLI::App* teams = app.add_subcommand("teams", "Teams of staff and their supervisors");
  teams->require_subcommand(1);
  CLI::App* tcreate = teams->add_subcommand("create", "Create a team (letters, digits, '-', '_', '.')");
  tcreate->add_option("name", *team_name, "The team's name")->required();
  tcreate->add_option("--data", *data, "Data directory");
  tcreate->callback([=] {
    WithAdmin(*data, exit_code, [&](Admin& a) -> Status {
      TP_ASSIGN_OR_RETURN(store::TeamRecord t, a.users->CreateTeam(*team_name));
      std::printf("%s\n", Json({{"created", t.name}, {"id", t.id}}).dump().c_str());
      return Status::Ok();
    });
  });
  CLI::App* tlist = teams->add_subcommand("list", "List teams with their supervisors and members");
  tlist->add_option("--data", *data, "Data directory");
  tlist->callback([=] {
    WithAdmin(*data, exit_code, [&](Admin& a) -> Status {
      TP_ASSIGN_OR_RETURN(auto all, a.users->ListTeams());
      TP_ASSIGN_OR_RETURN(auto users_list, a.users->ListUsers());
      const auto email_of = [&](std::int64_t id) {
        for (const auto& u : users_list) {
          if (u.id == id) return u.email;
        }
        return "user:" + std::to_string(id);
      };
      Json out = Json::array();
      for (const store::TeamRecord& t : all) {
        Json supervisors = Json::array();
        for (std::int64_t id : t.supervisors) supervisors.push_back(email_of(id));
        Json members = Json::array();
        for (const auto& u : users_list) {
          if (u.team_id == t.id) members.push_back(u.email);
        }
        out.push_back({{"id", t.id},
                       {"name", t.name},
                       {"created_at", Timestamp(t.created_at)},
                       {"supervisors", supervisors},
                       {"members", members}});
      }
      std::printf("%s\n", out.dump(2).c_str());
      return Status::Ok();
    });
  });
  for (const char* name : {"add-supervisor", "add-member"}) {
    const bool supervisor = std::string_view(name) == "add-supervisor";
    CLI::App* cmd = teams->add_subcommand(
        name, supervisor ? "Make a supervisor (or admin) supervise the team"
                         : "Make the team the user's team (a user is in at most one team: this moves them)");
    cmd->add_option("team", *team_name, "The team's name")->required();
    cmd->add_option("email", *email, "The user's e-mail")->required();
    cmd->add_option("--data", *data, "Data directory");
    cmd->callback([=] {
      WithAdmin(*data, exit_code, [&](Admin& a) -> Status {
        TP_RETURN_IF_ERROR(supervisor ? a.users->AddSupervisor(*team_name, *email)
                                      : a.users->AddMember(*team_name, *email));
        std::printf("%s\n", Json({{"team", *team_name}, {supervisor ? "supervisor" : "member", *email}}).dump().c_str());
        return Status::Ok();
      });
    });
  }
}

}  // namespace touchpoint::cli
