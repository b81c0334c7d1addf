// store/channel_repository.h — the service desk's channels (service/channels.h,
// docs/service-desk.md "Channels"): what links a ticket message to the world outside.
//
//   channel_messages     a message's channel side, by its key (TicketMessageRecord::message_id):
//                        an agent reply's outbox delivery (its state is the outbox row's) and the
//                        RFC 5322 Message-ID it was sent with; an inbound e-mail's Message-ID and
//                        the ticket it joined. Threading looks Message-IDs up here.
//   csat_surveys         one survey per solve of a ticket: sent, answered (score 1–5, comment).
//   attachments          files by SHA-256 (hex) of their bytes, stored once;
//   message_attachments  which message (key) of which ticket carries which file, under which name.
//
// Writes take the transaction they belong to (the desk's, so a reply and its delivery, a solve
// and its survey commit together); reads see committed data. Safe for one thread at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>
#include <touchpoint/store/transaction.h>

namespace touchpoint::store {

struct ChannelMessageRecord {
  std::string key;            // TicketMessageRecord::message_id of the message
  std::int64_t ticket = 0;    // the ticket it was written to (follow merged_into for today's)
  std::string direction;      // out | in
  std::string channel;        // email, chat, social, wechat, sms, …
  std::int64_t outbox_id = 0; // out: its outbox delivery; 0 for none
  std::string mail_id;        // e-mail: the Message-ID without <>; empty otherwise
  Millis at = 0;
  friend bool operator==(const ChannelMessageRecord&, const ChannelMessageRecord&) = default;
};

struct CsatSurveyRecord {
  std::string id;             // random, unguessable; the answer token signs it
  std::int64_t ticket = 0;
  std::string channel;
  std::int64_t outbox_id = 0; // the survey's delivery; 0 when it could not be sent (no connector)
  Millis sent_at = 0;
  Millis answered_at = 0;     // 0 until answered
  int score = 0;              // 1 … 5 once answered
  std::string comment;        // text (as ticket texts)
  friend bool operator==(const CsatSurveyRecord&, const CsatSurveyRecord&) = default;
};

struct AttachmentRecord {
  std::string hash;           // lower-case hex SHA-256 of data
  std::string content_type;   // from the magic bytes
  std::int64_t size = 0;
  std::string data;           // empty in listings
  Millis created_at = 0;
  friend bool operator==(const AttachmentRecord&, const AttachmentRecord&) = default;
};

struct MessageAttachmentRecord {
  std::int64_t ticket = 0;
  std::string message_key;    // TicketMessageRecord::message_id
  std::string hash;
  std::string filename;
  std::string content_type;
  std::int64_t size = 0;
  friend bool operator==(const MessageAttachmentRecord&, const MessageAttachmentRecord&) = default;
};

class ChannelRepository {
 public:
  virtual ~ChannelRepository() = default;

  // Inserts or replaces the record of `record.key`.
  virtual Status PutMessage(Transaction& txn, const ChannelMessageRecord& record) = 0;
  virtual Result<std::optional<ChannelMessageRecord>> FindMessage(const std::string& key) = 0;
  // The newest record carrying Message-ID `mail_id` (without <>).
  virtual Result<std::optional<ChannelMessageRecord>> FindByMailId(const std::string& mail_id) = 0;

  // kAlreadyExists for a used id.
  virtual Status AddSurvey(Transaction& txn, const CsatSurveyRecord& survey) = 0;
  virtual Result<std::optional<CsatSurveyRecord>> FindSurvey(const std::string& id) = 0;
  // The surveys of `ticket`, oldest first.
  virtual Result<std::vector<CsatSurveyRecord>> Surveys(std::int64_t ticket) = 0;
  // Records the answer of an unanswered survey: kNotFound for an unknown id,
  // kFailedPrecondition when it was answered already (the first answer stays).
  virtual Status AnswerSurvey(Transaction& txn, const std::string& id, int score, const std::string& comment,
                              Millis at) = 0;

  // Stores a file unless its hash is stored already (the first copy stays).
  virtual Status PutAttachment(Transaction& txn, const AttachmentRecord& attachment) = 0;
  // With its data.
  virtual Result<std::optional<AttachmentRecord>> FindAttachment(const std::string& hash) = 0;
  // Links files to a message (a link that exists already is kept).
  virtual Status LinkAttachments(Transaction& txn, std::span<const MessageAttachmentRecord> links) = 0;
  // The files of a message, in link order.
  virtual Result<std::vector<MessageAttachmentRecord>> MessageAttachments(const std::string& message_key) = 0;
};

}  // namespace touchpoint::store
