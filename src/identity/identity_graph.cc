#include <touchpoint/identity/identity_graph.h>

#include <xxhash.h>

#include <algorithm>

namespace touchpoint::identity {

IdentityGraph::IdentityGraph(GraphOptions options) : options_(options) {
  parent_.push_back(0);  // customer ids start at 1
  created_.push_back(0);
}

std::uint64_t IdentityGraph::HashOf(IdentifierKind kind, std::string_view value) {
  return XXH3_64bits_withSeed(value.data(), value.size(), static_cast<std::uint64_t>(kind) + 1);
}

const size_t* IdentityGraph::FindNode(IdentifierKind kind, std::string_view value) const {
  if (index_.empty()) return nullptr;
  const std::uint64_t h = HashOf(kind, value);
  const size_t mask = index_.size() - 1;
  for (size_t i = static_cast<size_t>(h) & mask;; i = (i + 1) & mask) {
    const IndexSlot& s = index_[i];
    if (s.idx == kEmptySlot) return nullptr;
    if (s.hash == h && ids_[s.idx].kind == kind && ids_[s.idx].value == value) return &s.idx;
  }
}

void IdentityGraph::Prefetch(const std::vector<Identifier>& ids) const {
  if (index_.empty()) return;
  const IndexSlot* slots = index_.data();
  const size_t mask = index_.size() - 1;
  for (const Identifier& id : ids) {
    __builtin_prefetch(slots + (static_cast<size_t>(HashOf(id.kind, id.value)) & mask), 0, 3);
  }
}

void IdentityGraph::IndexInsert(size_t idx) {
  if ((index_size_ + 1) * 2 > index_.size()) {  // load factor ≤ 0.5
    std::vector<IndexSlot> old = std::move(index_);
    index_.assign(old.empty() ? 1024 : old.size() * 2, IndexSlot{});
    index_size_ = 0;
    for (const IndexSlot& s : old) {
      if (s.idx != kEmptySlot) IndexInsert(s.idx);
    }
  }
  const Node& n = ids_[idx];
  const std::uint64_t h = HashOf(n.kind, n.value);
  const size_t mask = index_.size() - 1;
  for (size_t i = static_cast<size_t>(h) & mask;; i = (i + 1) & mask) {
    IndexSlot& s = index_[i];
    if (s.idx == kEmptySlot) {
      s = IndexSlot{h, idx};
      ++index_size_;
      return;
    }
    if (s.hash == h && ids_[s.idx].kind == n.kind && ids_[s.idx].value == n.value) {
      s.idx = idx;  // the same identifier again (a reload): the later row wins
      return;
    }
  }
}

Status IdentityGraph::Load(store::IdentityRepository& store) {
  std::vector<bool> present;
  TP_RETURN_IF_ERROR(store.ScanCustomers([&](const store::CustomerRecord& c) {
    const auto id = static_cast<size_t>(c.id.value());
    if (parent_.size() <= id) {
      parent_.resize(id + 1, 0);
      created_.resize(id + 1, 0);
      present.resize(id + 1, false);
    }
    parent_[id] = c.merged_into.value();
    created_[id] = c.created_at;
    present[id] = true;
  }));
  // Ids without a row were erased (subject rights): never live.
  for (size_t c = 1; c < present.size(); ++c) {
    if (!present[c]) absent_.insert(static_cast<std::int64_t>(c));
  }
  TP_RETURN_IF_ERROR(store.ScanIdentifiers([&](store::IdentifierRecord&& r) {
    auto kind = ParseKind(r.kind);
    if (!kind) return;  // written by a newer binary; ignore rather than guess
    const auto idx = static_cast<size_t>(r.id.value() - 1);
    if (ids_.size() <= idx) ids_.resize(idx + 1);
    ids_[idx] = Node{r.id, *kind, r.value, r.customer, r.blocked, r.joins, r.first_seen,
                     std::move(r.first_message_id)};
    IndexInsert(idx);
  }));
  for (const Node& n : ids_) absent_identifiers_ += n.id.valid() ? 0 : 1;
  TP_RETURN_IF_ERROR(store.ScanMerges([&](store::MergeRecord&& m) {
    const auto idx = static_cast<size_t>(m.id.value() - 1);
    if (merges_.size() <= idx) merges_.resize(idx + 1);
    merges_[idx] = std::move(m);
  }));
  TP_RETURN_IF_ERROR(store.ScanMergeBlocks([&](CustomerId a, CustomerId b) { blocks_.emplace_back(a, b); }));
  RebuildMembers();
  return Status::Ok();
}

void IdentityGraph::RebuildMembers() {
  members_.clear();
  children_.clear();
  for (size_t c = 1; c < parent_.size(); ++c) {
    if (parent_[c] != 0) children_[parent_[c]].push_back(static_cast<std::int64_t>(c));
  }
  live_customers_ = 0;
  for (size_t c = 1; c < parent_.size(); ++c) {
    if (parent_[c] == 0 && (absent_.empty() || !absent_.count(static_cast<std::int64_t>(c)))) ++live_customers_;
  }
  for (size_t i = 0; i < ids_.size(); ++i) {
    if (!ids_[i].id.valid()) continue;
    members_[Find(ids_[i].customer).value()].push_back(i);
  }
}

CustomerId IdentityGraph::Find(CustomerId c) const {
  std::int64_t x = c.value();
  while (x > 0 && static_cast<size_t>(x) < parent_.size() && parent_[static_cast<size_t>(x)] != 0) {
    x = parent_[static_cast<size_t>(x)];
  }
  return CustomerId(x);
}

std::optional<CustomerId> IdentityGraph::Lookup(const Identifier& id) const {
  const size_t* node = FindNode(id.kind, id.value);
  if (node == nullptr) return std::nullopt;
  return Find(ids_[*node].customer);
}

CustomerId IdentityGraph::NewCustomer(Millis at, GraphChanges* changes) {
  const auto id = static_cast<std::int64_t>(parent_.size());
  parent_.push_back(0);
  created_.push_back(at);
  ++live_customers_;
  EmitCustomer(CustomerId(id), changes);
  return CustomerId(id);
}

void IdentityGraph::EmitCustomer(CustomerId c, GraphChanges* changes) const {
  const auto i = static_cast<size_t>(c.value());
  changes->customers.push_back(store::CustomerRecord{c, CustomerId(parent_[i]), created_[i]});
}

void IdentityGraph::EmitNode(size_t node, GraphChanges* changes) const {
  const Node& n = ids_[node];
  changes->identifiers.push_back(store::IdentifierRecord{
      n.id, std::string(KindName(n.kind)), n.value, n.customer, n.blocked, n.joins, n.first_seen,
      n.first_message_id});
}

void IdentityGraph::AddIdentifier(const Identifier& id, CustomerId customer, Millis at,
                                  std::string_view message_id, GraphChanges* changes) {
  const size_t idx = ids_.size();
  ids_.push_back(Node{IdentifierId(static_cast<std::int64_t>(idx + 1)), id.kind, id.value, customer,
                      false, 0, at, std::string(message_id)});
  IndexInsert(idx);
  members_[Find(customer).value()].push_back(idx);
  EmitNode(idx, changes);
}

bool IdentityGraph::Conflicts(CustomerId a, CustomerId b) const {
  // Different values of one person-level kind on both sides mean two different people.
  std::vector<const Node*> left[kIdentifierKindCount];
  auto ita = members_.find(a.value());
  auto itb = members_.find(b.value());
  if (ita == members_.end() || itb == members_.end()) return false;
  for (size_t i : ita->second) {
    const Node& n = ids_[i];
    if (IsPersonLevel(n.kind) && !n.blocked) left[static_cast<int>(n.kind)].push_back(&n);
  }
  for (size_t i : itb->second) {
    const Node& n = ids_[i];
    if (!IsPersonLevel(n.kind) || n.blocked) continue;
    const auto& same_kind = left[static_cast<int>(n.kind)];
    for (const Node* o : same_kind) {
      if (o->value != n.value) return true;
    }
  }
  return false;
}

bool IdentityGraph::ConflictsWithNew(CustomerId root, const std::vector<const Identifier*>& fresh) const {
  auto it = members_.find(root.value());
  if (it == members_.end()) return false;
  for (const Identifier* f : fresh) {
    if (!IsPersonLevel(f->kind)) continue;
    for (size_t i : it->second) {
      const Node& n = ids_[i];
      if (n.kind == f->kind && !n.blocked && n.value != f->value) return true;
    }
  }
  return false;
}

bool IdentityGraph::MergeBlocked(CustomerId a, CustomerId b) const {
  for (const auto& [x, y] : blocks_) {
    const CustomerId rx = Find(x), ry = Find(y);
    if ((rx == a && ry == b) || (rx == b && ry == a)) return true;
  }
  return false;
}

void IdentityGraph::Merge(CustomerId winner, CustomerId loser, size_t bridge, Millis at,
                          std::string_view message_id, std::string reason, GraphChanges* changes) {
  parent_[static_cast<size_t>(loser.value())] = winner.value();
  children_[winner.value()].push_back(loser.value());
  --live_customers_;
  auto& dst = members_[winner.value()];
  auto src = members_.find(loser.value());
  if (src != members_.end()) {
    dst.insert(dst.end(), src->second.begin(), src->second.end());
    members_.erase(src);
  }
  store::MergeRecord m;
  m.id = MergeId(static_cast<std::int64_t>(merges_.size() + 1));
  m.at = at;
  m.winner = winner;
  m.loser = loser;
  m.bridge = ids_[bridge].id;
  m.message_id = std::string(message_id);
  m.reason = std::move(reason);
  merges_.push_back(m);
  changes->merges.push_back(m);
  EmitCustomer(loser, changes);
  changes->profile_merges.emplace_back(winner, loser);
}

void IdentityGraph::UndoMerge(size_t merge_index, Millis at, bool add_block, GraphChanges* changes) {
  store::MergeRecord& m = merges_[merge_index];
  m.undone_at = at;
  changes->merges.push_back(m);
  const CustomerId old_root = Find(m.loser);
  const std::int64_t old_parent = parent_[static_cast<size_t>(m.loser.value())];
  auto& siblings = children_[old_parent];
  siblings.erase(std::remove(siblings.begin(), siblings.end(), m.loser.value()), siblings.end());
  parent_[static_cast<size_t>(m.loser.value())] = 0;
  ++live_customers_;
  EmitCustomer(m.loser, changes);
  if (add_block) {
    blocks_.emplace_back(m.winner, m.loser);
    changes->merge_blocks.emplace_back(m.winner, m.loser);
  }
  // Re-home the members of the old tree between the two new roots.
  auto it = members_.find(old_root.value());
  if (it != members_.end()) {
    std::vector<size_t> all = std::move(it->second);
    members_.erase(it);
    for (size_t i : all) members_[Find(ids_[i].customer).value()].push_back(i);
  }
  changes->rebuild.push_back(old_root);
  changes->rebuild.push_back(m.loser);
}

void IdentityGraph::Block(size_t node, Millis at, GraphChanges* changes) {
  Node& n = ids_[node];
  n.blocked = true;
  changes->blocked.push_back(std::string(KindName(n.kind)) + ":" + n.value);
  // Undo every merge this identifier caused, newest first, so each undo cuts a live edge.
  for (size_t i = merges_.size(); i-- > 0;) {
    if (merges_[i].bridge == n.id && merges_[i].undone_at == 0) UndoMerge(i, at, false, changes);
  }
  // The shared identifier gets a customer of its own ("the kiosk"), so events that carry only
  // it no longer land on one of the people who used it.
  auto& old_members = members_[Find(n.customer).value()];
  old_members.erase(std::remove(old_members.begin(), old_members.end(), node), old_members.end());
  n.customer = NewCustomer(at, changes);
  members_[n.customer.value()].push_back(node);
  EmitNode(node, changes);
}

Resolution IdentityGraph::Resolve(const std::vector<Identifier>& ids, bool explicit_link, Millis at,
                                  std::string_view message_id, GraphChanges* changes) {
  TP_CHECK(!ids.empty(), "Resolve needs at least one identifier");
  std::vector<size_t> known;                 // nodes of identifiers seen before
  std::vector<const Identifier*> fresh;      // identifiers never seen
  for (const Identifier& id : ids) {
    const size_t* node = FindNode(id.kind, id.value);
    if (node == nullptr) {
      if (std::find_if(fresh.begin(), fresh.end(), [&](const Identifier* f) { return *f == id; }) == fresh.end()) {
        fresh.push_back(&id);
      }
    } else if (std::find(known.begin(), known.end(), *node) == known.end()) {
      known.push_back(*node);
    }
  }

  // Live customers reachable through merge keys, with the identifier that reaches each.
  std::vector<std::pair<CustomerId, size_t>> roots;
  for (size_t node : known) {
    if (ids_[node].blocked) continue;
    const CustomerId r = Find(ids_[node].customer);
    if (std::none_of(roots.begin(), roots.end(), [&](const auto& p) { return p.first == r; })) {
      roots.emplace_back(r, node);
    }
  }

  // New identifiers join the existing customer unless they contradict it (a second person's
  // user id or phone arriving through a shared device); then they start a customer of their own
  // and the join below is judged as a merge of two people.
  bool seeded = false;  // the fresh identifiers started a customer of their own
  if (!fresh.empty()) {
    bool conflict = false;
    if (!explicit_link) {
      for (const auto& [r, node] : roots) {
        (void)node;
        if (ConflictsWithNew(r, fresh)) conflict = true;
      }
    }
    if (roots.empty() || conflict) {
      const CustomerId seed = NewCustomer(at, changes);
      for (const Identifier* f : fresh) AddIdentifier(*f, seed, at, message_id, changes);
      roots.insert(roots.begin(), {seed, ids_.size() - fresh.size()});
      seeded = true;
    }
  }

  if (roots.size() > 1) {
    // The oldest customer wins; merge the others into it one at a time.
    std::sort(roots.begin(), roots.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (size_t i = 1; i < roots.size(); ++i) {
      const CustomerId winner = Find(roots[0].first);
      const CustomerId loser = Find(roots[i].first);
      if (winner == loser) continue;
      if (MergeBlocked(winner, loser)) continue;
      // The bridge is the identifier blamed for joining the two: among this event's known
      // identifiers on either side, the weakest kind (anon, device, then e-mail, phone, …):
      // a kiosk device or a family phone rather than a user id.
      size_t bridge = roots[0].second;
      for (size_t node : known) {
        if (ids_[node].blocked) continue;
        const CustomerId r = Find(ids_[node].customer);
        if (r != winner && r != loser) continue;
        if (static_cast<int>(ids_[node].kind) >= static_cast<int>(ids_[bridge].kind) ||
            std::find(known.begin(), known.end(), bridge) == known.end()) {
          bridge = node;
        }
      }
      if (!explicit_link && Conflicts(winner, loser)) {
        Node& b = ids_[bridge];
        if (b.joins + 2 > options_.max_customers_per_identifier) {
          Block(bridge, at, changes);
          continue;
        }
        ++b.joins;
        EmitNode(bridge, changes);
      }
      std::string reason = explicit_link ? "alias" : "shared identifier";
      reason += " ";
      reason += KindName(ids_[bridge].kind);
      Merge(winner, loser, bridge, at, message_id, std::move(reason), changes);
    }
  }
  if (!fresh.empty() && !seeded) {
    // Fresh identifiers that did not start a seed join the (now merged) customer.
    const CustomerId target = Find(roots.front().first);
    for (const Identifier* f : fresh) AddIdentifier(*f, target, at, message_id, changes);
  }

  // The anchor is the first identifier of the event (ids are ordered by strength).
  const size_t anchor = *FindNode(ids[0].kind, ids[0].value);
  const CustomerId original = ids_[anchor].customer;
  return Resolution{Find(original), original};
}

Status IdentityGraph::Split(MergeId merge, Millis at, GraphChanges* changes) {
  if (!merge.valid() || static_cast<size_t>(merge.value()) > merges_.size()) {
    return Status::NotFound("no merge with id " + std::to_string(merge.value()));
  }
  const size_t i = static_cast<size_t>(merge.value() - 1);
  if (!merges_[i].id.valid()) return Status::NotFound("no merge with id " + std::to_string(merge.value()));
  if (merges_[i].undone_at != 0) {
    return Status::FailedPrecondition("merge " + std::to_string(merge.value()) + " was undone already");
  }
  UndoMerge(i, at, true, changes);
  return Status::Ok();
}

std::vector<IdentityGraph::MemberIdentifier> IdentityGraph::IdentifiersOf(CustomerId root) const {
  std::vector<MemberIdentifier> out;
  auto it = members_.find(root.value());
  if (it == members_.end()) return out;
  std::vector<size_t> nodes = it->second;
  std::sort(nodes.begin(), nodes.end());
  for (size_t i : nodes) {
    const Node& n = ids_[i];
    out.push_back(MemberIdentifier{Identifier{n.kind, n.value}, n.blocked, n.id, n.first_seen,
                                   n.first_message_id, n.customer, n.joins});
  }
  return out;
}

void IdentityGraph::Erase(std::span<const CustomerId> customers) {
  std::unordered_set<std::int64_t> gone;
  for (CustomerId c : customers) {
    if (c.valid()) gone.insert(c.value());
  }
  if (gone.empty()) return;
  for (Node& n : ids_) {
    if (n.id.valid() && gone.count(n.customer.value())) {
      n = Node{};
      ++absent_identifiers_;
    }
  }
  // Open addressing cannot simply drop slots: rebuild the index from the nodes left.
  index_.assign(index_.size(), IndexSlot{});
  index_size_ = 0;
  for (size_t i = 0; i < ids_.size(); ++i) {
    if (ids_[i].id.valid()) IndexInsert(i);
  }
  for (store::MergeRecord& m : merges_) {
    if (m.id.valid() && (gone.count(m.winner.value()) || gone.count(m.loser.value()))) m = store::MergeRecord{};
  }
  std::erase_if(blocks_, [&](const auto& p) { return gone.count(p.first.value()) || gone.count(p.second.value()); });
  for (std::int64_t c : gone) {
    if (static_cast<size_t>(c) < parent_.size()) {
      parent_[static_cast<size_t>(c)] = 0;
      created_[static_cast<size_t>(c)] = 0;
    }
    absent_.insert(c);
  }
  // Customers merged into an erased one (only when its merge record was erased too, i.e. none
  // outside `customers`) would point at a gone root: none exist when `customers` is a whole tree.
  RebuildMembers();
}

std::vector<store::MergeRecord> IdentityGraph::MergesOf(const std::vector<CustomerId>& customers) const {
  std::vector<store::MergeRecord> out;
  for (const auto& m : merges_) {
    if (std::find(customers.begin(), customers.end(), m.winner) != customers.end() ||
        std::find(customers.begin(), customers.end(), m.loser) != customers.end()) {
      out.push_back(m);
    }
  }
  return out;
}

std::vector<IdentityGraph::MemberIdentifier> IdentityGraph::SharedIdentifiers() const {
  std::vector<MemberIdentifier> out;
  for (const Node& n : ids_) {
    if (n.blocked) {
      out.push_back(MemberIdentifier{Identifier{n.kind, n.value}, true, n.id, n.first_seen,
                                     n.first_message_id, n.customer, n.joins});
    }
  }
  return out;
}

bool IdentityGraph::HasMerged(CustomerId root) const {
  auto it = children_.find(root.value());
  return it != children_.end() && !it->second.empty();
}

std::vector<CustomerId> IdentityGraph::Members(CustomerId root) const {
  std::vector<CustomerId> out{root};
  for (size_t i = 0; i < out.size(); ++i) {
    auto it = children_.find(out[i].value());
    if (it == children_.end()) continue;
    for (std::int64_t c : it->second) out.emplace_back(c);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace touchpoint::identity
