// `touchpoint text …`: segment, sentiment, intent, mask, train, eval, rules.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include <touchpoint/core/csv.h>
#include <touchpoint/text/classifier.h>
#include <touchpoint/text/escalation.h>
#include <touchpoint/text/intent.h>
#include <touchpoint/text/normalize.h>
#include <touchpoint/text/pii.h>
#include <touchpoint/text/segmenter.h>
#include <touchpoint/text/sentiment.h>

#include "cli/cli_util.h"
#include "cli/commands.h"

namespace touchpoint::cli {

namespace {

using touchpoint::text::LabelledText;
using Json = nlohmann::ordered_json;

struct InputOptions {
  std::string input = "-";
  std::string format = "lines";
  std::string text_column = "text";
};

void AddInputOptions(CLI::App* cmd, InputOptions* in) {
  cmd->add_option("--input", in->input, "input file (default: standard input)");
  cmd->add_option("--format", in->format, "lines | csv | tsv")
      ->check(CLI::IsMember({"lines", "csv", "tsv"}));
  cmd->add_option("--text-column", in->text_column, "column holding the text (csv/tsv)");
}


std::string Dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

// Calls fn(text) for each input record in order. Returns a non-OK Status when the input
// cannot be opened or the header lacks the column; malformed CSV records are reported on
// stderr and counted in *rejected.
// Loads the trained model at `path`, or without a path creates the built-in one (lexicon or
// rules); exactly one of the two is set when OK.
template <typename Builtin>
Status LoadModelOrBuiltin(const std::string& path, std::unique_ptr<text::TextClassifier>* model,
                          std::unique_ptr<Builtin>* builtin) {
  if (!path.empty()) {
    TP_ASSIGN_OR_RETURN(*model, text::TextClassifier::Load(path));
  } else {
    TP_ASSIGN_OR_RETURN(*builtin, Builtin::Create());
  }
  return Status::Ok();
}

Status ForEachRecord(const InputOptions& in, const std::function<void(const std::string&)>& fn,
                     int* rejected) {
  if (in.format == "lines") {
    std::ifstream file;
    std::istream* stream = &std::cin;
    if (in.input != "-") {
      file.open(in.input, std::ios::binary);
      if (!file) return Status::NotFound("input file " + in.input + " not found");
      stream = &file;
    }
    std::string line;
    while (std::getline(*stream, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      fn(line);
    }
    return Status::Ok();
  }
  CsvOptions options;
  options.delimiter = in.format == "tsv" ? '\t' : ',';
  TP_ASSIGN_OR_RETURN(auto reader, CsvReader::Open(in.input, options));
  std::vector<std::string> fields;
  TP_ASSIGN_OR_RETURN(bool has_header, reader->Next(&fields));
  if (!has_header) return Status::Ok();
  CsvHeader header(fields);
  TP_ASSIGN_OR_RETURN(size_t col, header.Require(in.text_column, reader->name()));
  while (true) {
    auto next = reader->Next(&fields);
    if (!next.ok()) {
      std::fprintf(stderr, "touchpoint: %s\n", next.status().message().c_str());
      ++*rejected;
      continue;
    }
    if (!*next) break;
    fn(col < fields.size() ? fields[col] : std::string());
  }
  return Status::Ok();
}

Result<std::vector<LabelledText>> ReadLabelled(const std::string& path, const std::string& format,
                                               const std::string& text_column,
                                               const std::string& label_column) {
  CsvOptions options;
  options.delimiter = format == "tsv" ? '\t' : ',';
  TP_ASSIGN_OR_RETURN(auto reader, CsvReader::Open(path, options));
  std::vector<std::string> fields;
  TP_ASSIGN_OR_RETURN(bool has_header, reader->Next(&fields));
  if (!has_header) return Status::InvalidArgument(path + ": empty file");
  CsvHeader header(fields);
  TP_ASSIGN_OR_RETURN(size_t tc, header.Require(text_column, path));
  TP_ASSIGN_OR_RETURN(size_t lc, header.Require(label_column, path));
  std::vector<LabelledText> out;
  while (true) {
    TP_ASSIGN_OR_RETURN(bool more, reader->Next(&fields));
    if (!more) break;
    if (tc >= fields.size() || lc >= fields.size() || fields[lc].empty()) {
      return Status::InvalidArgument(path + ":" + std::to_string(reader->record_line()) +
                                     ": missing text or label");
    }
    if (fields[lc].find_first_of(" \t\n") != std::string::npos) {
      return Status::InvalidArgument(path + ":" + std::to_string(reader->record_line()) +
                                     ": labels may not contain spaces");
    }
    out.push_back({fields[tc], fields[lc]});
  }
  return out;
}

}  // namespace

void RegisterTextCommands(CLI::App& app, int* exit_code) {
  CLI::App* text_cmd = app.add_subcommand("text", "text intelligence: segment, sentiment, intent, "
                                                  "mask, train, eval, rules");
  text_cmd->require_subcommand(1);

  // segment
  {
    auto in = std::make_shared<InputOptions>();
    auto dict = std::make_shared<std::string>(std::string(text::kJiebaDictPath));
    CLI::App* cmd = text_cmd->add_subcommand("segment", "print the tokens of each input line");
    AddInputOptions(cmd, in.get());
    cmd->add_option("--dict", *dict, "jieba-format dictionary");
    cmd->callback([in, dict, exit_code] {
      text::Segmenter::Options options;
      options.dict_path = *dict;
      auto seg = text::Segmenter::Create(options);
      if (!seg.ok()) {
        *exit_code = FailFile(seg.status());
        return;
      }
      int rejected = 0;
      std::string out;
      Status s = ForEachRecord(*in, [&](const std::string& t) {
        out.clear();
        for (const auto& tok : (*seg)->Segment(t)) {
          if (!out.empty()) out.push_back(' ');
          out += tok;
        }
        out.push_back('\n');
        std::fwrite(out.data(), 1, out.size(), stdout);
      }, &rejected);
      *exit_code = !s.ok() ? FailFile(s) : (rejected ? 3 : 0);
    });
  }

  // sentiment
  {
    auto in = std::make_shared<InputOptions>();
    auto model_path = std::make_shared<std::string>();
    CLI::App* cmd = text_cmd->add_subcommand(
        "sentiment", "one NDJSON {\"label\",\"score\"} per input record");
    AddInputOptions(cmd, in.get());
    cmd->add_option("--model", *model_path, "trained sentiment model (default: built-in lexicon)");
    cmd->callback([in, model_path, exit_code] {
      auto norm = text::Normalizer::Default();
      if (!norm.ok()) {
        *exit_code = FailFile(norm.status());
        return;
      }
      std::unique_ptr<text::TextClassifier> model;
      std::unique_ptr<text::LexiconSentiment> lexicon;
      if (Status loaded = LoadModelOrBuiltin(*model_path, &model, &lexicon); !loaded.ok()) {
        *exit_code = FailFile(loaded);
        return;
      }
      int rejected = 0;
      std::string normalized;
      Status s = ForEachRecord(*in, [&](const std::string& t) {
        (*norm)->Normalize(t, &normalized);
        text::SentimentResult r = model ? text::SentimentFromModel(*model, normalized)
                                        : lexicon->ScoreNormalized(normalized);
        char buf[96];
        std::snprintf(buf, sizeof buf, "{\"label\":\"%s\",\"score\":%.4f}\n",
                      std::string(text::SentimentLabelName(r.label)).c_str(), r.score);
        std::fputs(buf, stdout);
      }, &rejected);
      *exit_code = !s.ok() ? FailFile(s) : (rejected ? 3 : 0);
    });
  }

  // intent
  {
    auto in = std::make_shared<InputOptions>();
    auto model_path = std::make_shared<std::string>();
    auto top = std::make_shared<int>(1);
    CLI::App* cmd = text_cmd->add_subcommand(
        "intent", "one NDJSON {\"intent\",\"confidence\"} per input record");
    AddInputOptions(cmd, in.get());
    cmd->add_option("--model", *model_path, "trained intent model (default: built-in rules)");
    cmd->add_option("--top", *top, "also list the next K-1 intents as alternatives")
        ->check(CLI::Range(1, 100));
    cmd->callback([in, model_path, top, exit_code] {
      std::unique_ptr<text::TextClassifier> model;
      std::unique_ptr<text::RuleIntentClassifier> rules;
      if (Status loaded = LoadModelOrBuiltin(*model_path, &model, &rules); !loaded.ok()) {
        *exit_code = FailFile(loaded);
        return;
      }
      int rejected = 0;
      Status s = ForEachRecord(*in, [&](const std::string& t) {
        Json j;
        std::vector<std::pair<std::string, double>> alternatives;
        if (model) {
          text::Prediction p = model->Predict(t, *top);
          j["intent"] = p.label;
          j["confidence"] = std::round(p.confidence * 1e4) / 1e4;
          alternatives = std::move(p.alternatives);
        } else {
          text::IntentResult r = rules->Classify(t, *top);
          j["intent"] = r.intent;
          j["confidence"] = std::round(r.confidence * 1e4) / 1e4;
          alternatives = std::move(r.alternatives);
        }
        if (*top > 1) {
          j["alternatives"] = Json::array();
          for (const auto& [intent, conf] : alternatives) {
            j["alternatives"].push_back(
                {{"intent", intent}, {"confidence", std::round(conf * 1e4) / 1e4}});
          }
        }
        std::puts(Dump(j).c_str());
      }, &rejected);
      *exit_code = !s.ok() ? FailFile(s) : (rejected ? 3 : 0);
    });
  }

  // mask
  {
    auto in = std::make_shared<InputOptions>();
    CLI::App* cmd = text_cmd->add_subcommand("mask", "print each input record with PII masked");
    AddInputOptions(cmd, in.get());
    cmd->callback([in, exit_code] {
      int rejected = 0;
      Status s = ForEachRecord(*in, [&](const std::string& t) {
        std::string masked = text::IsValidUtf8(t) ? text::MaskPii(t)
                                                  : text::MaskPii(text::SanitizeUtf8(t));
        masked.push_back('\n');
        std::fwrite(masked.data(), 1, masked.size(), stdout);
      }, &rejected);
      *exit_code = !s.ok() ? FailFile(s) : (rejected ? 3 : 0);
    });
  }

  // train
  {
    struct TrainArgs {
      std::string task = "intent", data, format = "csv", text_column = "text",
                  label_column = "label", out;
      double c = 1.0;
      int min_count = 1;
    };
    auto a = std::make_shared<TrainArgs>();
    CLI::App* cmd = text_cmd->add_subcommand("train", "train a text classifier on labelled text");
    cmd->add_option("--task", a->task, "sentiment | intent")
        ->check(CLI::IsMember({"sentiment", "intent"}));
    cmd->add_option("--data", a->data, "labelled CSV/TSV file")->required();
    cmd->add_option("--format", a->format, "csv | tsv")->check(CLI::IsMember({"csv", "tsv"}));
    cmd->add_option("--text-column", a->text_column, "text column (default text)");
    cmd->add_option("--label-column", a->label_column, "label column (default label)");
    cmd->add_option("--out", a->out, "model file to write")->required();
    cmd->add_option("--c", a->c, "SVM cost (default 1)")->check(CLI::PositiveNumber);
    cmd->add_option("--min-count", a->min_count, "drop n-grams seen in fewer texts (default 1)");
    cmd->callback([a, exit_code] {
      auto data = ReadLabelled(a->data, a->format, a->text_column, a->label_column);
      if (!data.ok()) {
        *exit_code = FailFile(data.status());
        return;
      }
      const auto start = std::chrono::steady_clock::now();
      text::ClassifierSettings settings;
      settings.task = a->task;
      settings.c = a->c;
      settings.min_count = a->min_count;
      auto model = text::TextClassifier::Train(*data, settings);
      if (!model.ok()) {
        *exit_code = FailFile(model.status());
        return;
      }
      const double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      Status s = (*model)->Save(a->out);
      if (!s.ok()) {
        *exit_code = FailFile(s);
        return;
      }
      Json j{{"model", a->out},
             {"task", a->task},
             {"examples", data->size()},
             {"labels", (*model)->labels().size()},
             {"features", (*model)->feature_count()},
             {"seconds", std::round(secs * 1000) / 1000}};
      std::puts(Dump(j).c_str());
      *exit_code = 0;
    });
  }

  // eval
  {
    struct EvalArgs {
      std::string model, data, format = "csv", text_column = "text", label_column = "label";
    };
    auto a = std::make_shared<EvalArgs>();
    CLI::App* cmd = text_cmd->add_subcommand("eval", "evaluate a model on labelled text");
    cmd->add_option("--model", a->model, "model file")->required();
    cmd->add_option("--data", a->data, "labelled CSV/TSV file")->required();
    cmd->add_option("--format", a->format, "csv | tsv")->check(CLI::IsMember({"csv", "tsv"}));
    cmd->add_option("--text-column", a->text_column, "text column (default text)");
    cmd->add_option("--label-column", a->label_column, "label column (default label)");
    cmd->callback([a, exit_code] {
      auto model = text::TextClassifier::Load(a->model);
      if (!model.ok()) {
        *exit_code = FailFile(model.status());
        return;
      }
      auto data = ReadLabelled(a->data, a->format, a->text_column, a->label_column);
      if (!data.ok()) {
        *exit_code = FailFile(data.status());
        return;
      }
      std::puts((*model)->Evaluate(*data).ToJson().c_str());
      *exit_code = 0;
    });
  }

  // rules
  {
    auto conversation = std::make_shared<std::string>();
    auto rules_path = std::make_shared<std::string>();
    CLI::App* cmd = text_cmd->add_subcommand(
        "rules", "run escalation rules and banned-phrase checks over a conversation");
    cmd->add_option("--conversation", *conversation,
                    "NDJSON: {\"conversation_id\",\"author\":\"customer|agent|bot\",\"text\","
                    "\"high_value\"} per line")
        ->required();
    cmd->add_option("--rules", *rules_path, "rules TOML (default: built-in)");
    cmd->callback([conversation, rules_path, exit_code] {
      auto engine = rules_path->empty() ? text::EscalationEngine::Default()
                                        : text::EscalationEngine::FromFile(*rules_path);
      if (!engine.ok()) {
        *exit_code = FailFile(engine.status());
        return;
      }
      std::ifstream file;
      std::istream* stream = &std::cin;
      if (*conversation != "-") {
        file.open(*conversation, std::ios::binary);
        if (!file) {
          *exit_code = FailFile(Status::NotFound("conversation file " + *conversation + " not found"));
          return;
        }
        stream = &file;
      }
      std::string line;
      int line_no = 0, rejected = 0;
      while (std::getline(*stream, line)) {
        ++line_no;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        Json out{{"line", line_no}};
        try {
          Json in = Json::parse(line);
          text::ConversationMessage m;
          m.conversation_id = in.value("conversation_id", std::string());
          auto author = text::ParseAuthor(in.value("author", std::string("customer")));
          if (!author.ok()) throw std::invalid_argument(author.status().message());
          m.author = *author;
          m.text = in.value("text", std::string());
          m.high_value_customer = in.value("high_value", false);
          if (in.contains("sentiment") && in["sentiment"].is_number()) {
            m.sentiment_score = in["sentiment"].get<double>();
          }
          out["conversation_id"] = m.conversation_id;
          out["firings"] = Json::array();
          for (const auto& f : (*engine)->Process(m)) {
            Json jf{{"rule", f.rule}, {"action", f.action}, {"reason", f.reason}};
            if (!f.history.empty()) jf["history"] = f.history;
            out["firings"].push_back(jf);
          }
        } catch (const std::exception& e) {
          out["error"] = std::string("bad message: ") + e.what();
          ++rejected;
        }
        std::puts(Dump(out).c_str());
      }
      *exit_code = rejected ? 3 : 0;
    });
  }
}

}  // namespace touchpoint::cli
