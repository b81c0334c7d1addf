// Segmenter comparison: word-level F1 against data/text/zh_seg_gold.txt (printed once) and
// throughput, for our jieba-style Segmenter and friso (complex mode, data/text/friso.ini).
#include <cstdio>
#include <fstream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <benchmark/benchmark.h>

extern "C" {
#include <friso.h>
}

#include <touchpoint/text/normalize.h>
#include <touchpoint/text/segmenter.h>

namespace {

using Tokens = std::vector<std::string>;

std::vector<Tokens> Gold() {
  std::vector<Tokens> out;
  std::ifstream in(std::string(TP_SOURCE_DIR) + "/data/text/zh_seg_gold.txt");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    Tokens t;
    size_t s = 0;
    while (s < line.size()) {
      size_t e = line.find(' ', s);
      if (e == std::string::npos) e = line.size();
      if (e > s) t.push_back(line.substr(s, e - s));
      s = e + 1;
    }
    out.push_back(t);
  }
  return out;
}

std::string Join(const Tokens& t) {
  std::string s;
  for (const auto& w : t) s += w;
  return s;
}

// Spans (start, end) in the concatenation of the tokens.
std::set<std::pair<size_t, size_t>> Spans(const Tokens& t) {
  std::set<std::pair<size_t, size_t>> s;
  size_t pos = 0;
  for (const auto& w : t) {
    s.insert({pos, pos + w.size()});
    pos += w.size();
  }
  return s;
}

bool IsPunct(const std::string& w) {
  return w == "," || w == "，" || w == "。" || w == "!" || w == "？" || w == "?" || w == "！" ||
         w == ".";
}

struct Friso {
  friso_t friso = nullptr;
  friso_config_t config = nullptr;
  bool ok = false;
  Friso() {
    friso = friso_new();
    config = friso_new_config();
    std::string ini = std::string(TP_SOURCE_DIR) + "/data/text/friso.ini";
    ok = friso_init_from_ifile(friso, config, ini.data()) == 1;
  }
  ~Friso() {
    friso_free_config(config);
    friso_free(friso);
  }
  Tokens Segment(const std::string& text) const {
    Tokens out;
    friso_task_t task = friso_new_task();
    std::string copy = text;
    friso_set_text(task, copy.data());
    while (config->next_token(friso, config, task) != nullptr) {
      std::string w = task->token->word;
      if (!IsPunct(w)) out.push_back(w);
    }
    friso_free_task(task);
    return out;
  }
};

const Friso& GetFriso() {
  static Friso f;
  return f;
}

template <typename SegmentFn>
double F1(const std::vector<Tokens>& gold, SegmentFn seg, size_t* mismatched_text) {
  double tp = 0, n_gold = 0, n_pred = 0;
  *mismatched_text = 0;
  for (const auto& g : gold) {
    Tokens p = seg(Join(g));
    if (Join(p) != Join(g)) ++*mismatched_text;
    auto gs = Spans(g), ps = Spans(p);
    for (const auto& s : ps) tp += static_cast<double>(gs.count(s));
    n_gold += static_cast<double>(gs.size());
    n_pred += static_cast<double>(ps.size());
  }
  const double prec = tp / n_pred, rec = tp / n_gold;
  return 2 * prec * rec / (prec + rec);
}

void PrintQualityOnce() {
  static bool done = false;
  if (done) return;
  done = true;
  auto gold = Gold();
  auto seg = touchpoint::text::Segmenter::Create({});
  size_t bad_ours = 0, bad_friso = 0;
  double ours = 0, friso = 0;
  if (seg.ok()) {
    ours = F1(gold, [&](const std::string& t) { return (*seg)->Segment(t); }, &bad_ours);
  }
  if (GetFriso().ok) {
    friso = F1(gold, [&](const std::string& t) { return GetFriso().Segment(t); }, &bad_friso);
  }
  std::fprintf(stderr,
               "segmentation word F1 on %zu gold sentences: jieba-style %.3f, friso complex %.3f "
               "(sentences whose tokens do not rebuild the text: %zu / %zu)\n",
               gold.size(), ours, friso, bad_ours, bad_friso);
}

std::string Doc() {
  std::string doc;
  for (const auto& g : Gold()) doc += Join(g) + "，";
  while (doc.size() < 4096) doc += doc;
  return doc;
}

void BM_SegmentCompare_Jieba(benchmark::State& state) {
  PrintQualityOnce();
  auto seg = touchpoint::text::Segmenter::Create({});
  if (!seg.ok()) {
    state.SkipWithError("jieba dictionary absent");
    return;
  }
  const std::string doc = Doc();
  for (auto _ : state) {
    auto t = (*seg)->Segment(doc);
    benchmark::DoNotOptimize(t);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(doc.size()));
}
BENCHMARK(BM_SegmentCompare_Jieba);

void BM_SegmentCompare_Friso(benchmark::State& state) {
  PrintQualityOnce();
  if (!GetFriso().ok) {
    state.SkipWithError("friso dictionary absent");
    return;
  }
  const std::string doc = Doc();
  for (auto _ : state) {
    auto t = GetFriso().Segment(doc);
    benchmark::DoNotOptimize(t);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(doc.size()));
}
BENCHMARK(BM_SegmentCompare_Friso);

}  // namespace
