// hamdb.hpp: a header-only C++17 RAII wrapper over the hamdb C ABI (hamdb.h).
//
// Handles are move-only and free their C object in the destructor. Every failing call throws
// hamdb::Error, which carries the status code (HAMDB_*) and the library's message. Results are
// std::vector or span-like views (ByteView) that borrow from the object that owns the bytes.
//
// Thread rules are the C ABI's (docs/CAPI.md): a Database and a Snapshot may be used from many
// threads at once; a Batch by one thread at a time; Results and Item are immutable.
#ifndef HAMDB_HPP
#define HAMDB_HPP

#include "hamdb.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hamdb {

/// A failed call: the status code and the message of the call that failed.
class Error : public std::runtime_error {
 public:
  Error(int status, const std::string& message)
      : std::runtime_error(std::string(hamdb_status_name(status)) + ": " + message),
        status_(status),
        message_(message) {}
  /// The HAMDB_* status code.
  int status() const noexcept { return status_; }
  /// The library's message, without the status name.
  const std::string& message() const noexcept { return message_; }

 private:
  int status_;
  std::string message_;
};

/// The reserved id meaning "no id" (2^64-1, HAMDB_NO_ID): never assigned, cannot be inserted,
/// and the id of an IngestItem that was not inserted.
inline constexpr uint64_t no_id = HAMDB_NO_ID;

/// The most codes one item may hold (HAMDB_MAX_CODES_PER_ITEM; Batch::insert_codes).
inline constexpr size_t max_codes_per_item = HAMDB_MAX_CODES_PER_ITEM;

/// How a search by image ranks its results (HAMDB_RANK_*): by (distance, id), or the items of
/// the query's predicted class first, then the others, each group by (distance, id).
enum class Rank : uint32_t {
  distance = HAMDB_RANK_DISTANCE,
  class_first = HAMDB_RANK_CLASS_FIRST,
};

namespace detail {
// The message is thread-local in the library and read right after the failing call, on the
// same thread.
inline void check(int status) {
  if (status != HAMDB_OK) throw Error(status, hamdb_last_error_message());
}
// A string for the C ABI as a NUL-terminated C string. An embedded NUL byte would cut it
// short there (another file), so it throws Error(HAMDB_INVALID_PARAMETER) instead.
inline const char* c_str(const std::string& s, const char* what) {
  size_t at = s.find('\0');
  if (at != std::string::npos)
    throw Error(HAMDB_INVALID_PARAMETER, std::string(what) + " has a NUL byte at offset " +
                                             std::to_string(at) + " (C strings cannot hold one)");
  return s.c_str();
}
// Room for a k-NN's hits without sizing by k: a k up to this is allocated as is (one call);
// a larger one is bounded by a snapshot's live items.
inline constexpr size_t knn_direct_max = 1024;
// Per-query neighbour lists from a batched search's results (freed here, even on a throw).
inline std::vector<std::vector<hamdb_neighbor>> many_to_vectors(int status,
                                                                hamdb_many_results* m) {
  std::unique_ptr<hamdb_many_results, void (*)(hamdb_many_results*)> own(m,
                                                                         hamdb_many_results_free);
  check(status);
  hamdb_many_results_fields f{};
  check(hamdb_many_results_view(m, &f));
  std::vector<std::vector<hamdb_neighbor>> out(f.n_queries);
  for (size_t i = 0; i < f.n_queries; i++)
    out[i].assign(f.neighbors + f.lims[i], f.neighbors + f.lims[i + 1]);
  return out;
}
inline uint32_t label_arg(std::optional<uint32_t> label) { return label.value_or(HAMDB_NO_LABEL); }
inline std::optional<uint32_t> label_of(uint32_t label) {
  return label == HAMDB_NO_LABEL ? std::nullopt : std::optional<uint32_t>(label);
}
}  // namespace detail

/// A non-owning view of bytes (C++17 has no std::span): codes and payloads.
struct ByteView {
  const uint8_t* data = nullptr;
  size_t size = 0;

  ByteView() = default;
  ByteView(const uint8_t* d, size_t n) : data(d), size(n) {}
  ByteView(const std::vector<uint8_t>& v) : data(v.data()), size(v.size()) {}  // NOLINT
  template <size_t N>
  ByteView(const std::array<uint8_t, N>& a) : data(a.data()), size(N) {}  // NOLINT
  ByteView(std::string_view s)  // NOLINT
      : data(reinterpret_cast<const uint8_t*>(s.data())), size(s.size()) {}
  ByteView(const std::string& s) : ByteView(std::string_view(s)) {}  // NOLINT
  ByteView(const char* s) : ByteView(std::string_view(s)) {}  // NOLINT

  const uint8_t* begin() const { return data; }
  const uint8_t* end() const { return data + size; }
  bool empty() const { return size == 0; }
  std::vector<uint8_t> to_vector() const { return std::vector<uint8_t>(begin(), end()); }
  std::string to_string() const { return std::string(reinterpret_cast<const char*>(data), size); }
};

/// One search hit; `payload` borrows from the Results it came from.
struct HitView {
  uint64_t id;
  uint32_t distance;
  std::optional<uint32_t> label;
  ByteView payload;
};

/// One search hit, owning its payload.
struct Hit {
  uint64_t id;
  uint32_t distance;
  std::optional<uint32_t> label;
  std::vector<uint8_t> payload;
  bool operator==(const Hit& o) const {
    return id == o.id && distance == o.distance && label == o.label && payload == o.payload;
  }
};

using Neighbor = hamdb_neighbor;
using Stats = hamdb_stats;
using CommitInfo = hamdb_commit_info;
using VerifyReport = hamdb_verify_report;
using SearchStats = hamdb_search_stats;
using Prediction = hamdb_prediction;
using IngestOptions = hamdb_ingest_options;
using CreateOptions = hamdb_create_options;
using OpenOptions = hamdb_open_options;

/// Search results, ascending by (distance, id). Move-only; immutable.
class Results {
 public:
  explicit Results(hamdb_results* r) noexcept : r_(r) {}
  Results(Results&& o) noexcept : r_(std::exchange(o.r_, nullptr)) {}
  Results& operator=(Results&& o) noexcept {
    if (this != &o) {
      hamdb_results_free(r_);
      r_ = std::exchange(o.r_, nullptr);
    }
    return *this;
  }
  Results(const Results&) = delete;
  Results& operator=(const Results&) = delete;
  ~Results() { hamdb_results_free(r_); }

  size_t size() const noexcept { return hamdb_results_len(r_); }
  bool empty() const noexcept { return size() == 0; }
  /// Hit i; throws Error(HAMDB_NOT_FOUND) past the end.
  HitView operator[](size_t i) const {
    hamdb_hit h;
    detail::check(hamdb_results_get(r_, i, &h));
    return HitView{h.id, h.distance, detail::label_of(h.label), ByteView(h.payload, h.payload_len)};
  }
  HitView at(size_t i) const { return (*this)[i]; }
  /// Every hit, copied out (payloads included).
  std::vector<Hit> to_vector() const {
    std::vector<hamdb_hit> raw(size());
    size_t n = 0;
    detail::check(hamdb_results_copy(r_, raw.data(), raw.size(), &n));
    std::vector<Hit> out;
    out.reserve(n);
    for (size_t i = 0; i < n; i++) {
      const hamdb_hit& h = raw[i];
      out.push_back(Hit{h.id, h.distance, detail::label_of(h.label),
                        ByteView(h.payload, h.payload_len).to_vector()});
    }
    return out;
  }
  SearchStats stats() const {
    SearchStats s;
    detail::check(hamdb_results_stats(r_, &s));
    return s;
  }
  /// The query image's predicted class (image searches), or nullopt (searches by code).
  std::optional<hamdb_prediction> prediction() const {
    hamdb_prediction p{};
    int rc = hamdb_results_prediction(r_, &p);
    if (rc == HAMDB_NOT_FOUND) return std::nullopt;
    detail::check(rc);
    return p;
  }
  const hamdb_results* get() const noexcept { return r_; }

 private:
  hamdb_results* r_;
};

/// One stored item. Move-only; views borrow from it.
class Item {
 public:
  explicit Item(hamdb_item* it) : it_(it) { detail::check(hamdb_item_view(it_, &f_)); }
  Item(Item&& o) noexcept : it_(std::exchange(o.it_, nullptr)), f_(o.f_) {}
  Item& operator=(Item&& o) noexcept {
    if (this != &o) {
      hamdb_item_free(it_);
      it_ = std::exchange(o.it_, nullptr);
      f_ = o.f_;
    }
    return *this;
  }
  Item(const Item&) = delete;
  Item& operator=(const Item&) = delete;
  ~Item() { hamdb_item_free(it_); }

  uint64_t id() const noexcept { return f_.id; }
  std::optional<uint32_t> label() const noexcept { return detail::label_of(f_.label); }
  /// The item's (first) code.
  ByteView code() const noexcept { return ByteView(f_.code, f_.code_len); }
  ByteView payload() const noexcept { return ByteView(f_.payload, f_.payload_len); }
  /// The number of codes (1 for an item of one code).
  size_t code_count() const noexcept { return hamdb_item_code_count(it_); }
  /// Code `i` (0-based, in insert order; code(0) is code()); Error(HAMDB_NOT_FOUND) past the
  /// last.
  ByteView code(size_t i) const {
    const uint8_t* c = nullptr;
    size_t n = 0;
    detail::check(hamdb_item_code(it_, i, &c, &n));
    return ByteView(c, n);
  }
  /// Every code, the first one first (views borrow from the item).
  std::vector<ByteView> codes() const {
    const uint8_t* all = nullptr;
    size_t n = 0;
    detail::check(hamdb_item_codes(it_, &all, &n));
    std::vector<ByteView> out;
    out.reserve(n);
    for (size_t i = 0; i < n; i++) out.push_back(ByteView(all + i * f_.code_len, f_.code_len));
    return out;
  }

 private:
  hamdb_item* it_;
  hamdb_item_fields f_{};
};

/// Writes committed together by Database::commit. Move-only; one thread at a time.
class Batch {
 public:
  Batch() { detail::check(hamdb_batch_new(&b_)); }
  Batch(Batch&& o) noexcept : b_(std::exchange(o.b_, nullptr)) {}
  Batch& operator=(Batch&& o) noexcept {
    if (this != &o) {
      hamdb_batch_free(b_);
      b_ = std::exchange(o.b_, nullptr);
    }
    return *this;
  }
  Batch(const Batch&) = delete;
  Batch& operator=(const Batch&) = delete;
  ~Batch() { hamdb_batch_free(b_); }

  Batch& insert(uint64_t id, ByteView code, std::optional<uint32_t> label = std::nullopt,
                ByteView payload = {}) {
    detail::check(hamdb_batch_insert(b_, id, code.data, code.size, detail::label_arg(label),
                                     payload.data, payload.size));
    return *this;
  }
  Batch& insert_auto(ByteView code, std::optional<uint32_t> label = std::nullopt,
                     ByteView payload = {}) {
    detail::check(hamdb_batch_insert_auto(b_, code.data, code.size, detail::label_arg(label),
                                          payload.data, payload.size));
    return *this;
  }
  Batch& upsert(uint64_t id, ByteView code, std::optional<uint32_t> label = std::nullopt,
                ByteView payload = {}) {
    detail::check(hamdb_batch_upsert(b_, id, code.data, code.size, detail::label_arg(label),
                                     payload.data, payload.size));
    return *this;
  }
  /// Insert an item of several codes: `n_codes` (1 to max_codes_per_item) codes of one length
  /// packed one after another in `codes`. Searches return it once, at its least distance.
  Batch& insert_codes(uint64_t id, ByteView codes, size_t n_codes,
                      std::optional<uint32_t> label = std::nullopt, ByteView payload = {}) {
    detail::check(hamdb_batch_insert_codes(b_, id, codes.data, codes.size, n_codes,
                                           detail::label_arg(label), payload.data, payload.size));
    return *this;
  }
  /// insert_codes with an id assigned at commit (assigned_ids).
  Batch& insert_auto_codes(ByteView codes, size_t n_codes,
                           std::optional<uint32_t> label = std::nullopt, ByteView payload = {}) {
    detail::check(hamdb_batch_insert_auto_codes(b_, codes.data, codes.size, n_codes,
                                                detail::label_arg(label), payload.data,
                                                payload.size));
    return *this;
  }
  /// Insert, or replace the item with this id by, an item of several codes.
  Batch& upsert_codes(uint64_t id, ByteView codes, size_t n_codes,
                      std::optional<uint32_t> label = std::nullopt, ByteView payload = {}) {
    detail::check(hamdb_batch_upsert_codes(b_, id, codes.data, codes.size, n_codes,
                                           detail::label_arg(label), payload.data, payload.size));
    return *this;
  }
  Batch& erase(uint64_t id) {
    detail::check(hamdb_batch_delete(b_, id));
    return *this;
  }
  size_t size() const noexcept { return hamdb_batch_len(b_); }
  bool empty() const noexcept { return size() == 0; }
  void clear() { detail::check(hamdb_batch_clear(b_)); }
  /// Ids the last successful commit assigned to auto-id inserts, in order.
  std::vector<uint64_t> assigned_ids() const {
    const uint64_t* ids = nullptr;
    size_t n = 0;
    detail::check(hamdb_batch_assigned_ids(b_, &ids, &n));
    return n ? std::vector<uint64_t>(ids, ids + n) : std::vector<uint64_t>();
  }
  hamdb_batch* get() noexcept { return b_; }

 private:
  hamdb_batch* b_ = nullptr;
};

/// A consistent view of one commit. Move-only; any number of threads may search it.
class Snapshot {
 public:
  explicit Snapshot(hamdb_snapshot* s) noexcept : s_(s) {}
  Snapshot(Snapshot&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  Snapshot& operator=(Snapshot&& o) noexcept {
    if (this != &o) {
      hamdb_snapshot_free(s_);
      s_ = std::exchange(o.s_, nullptr);
    }
    return *this;
  }
  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;
  ~Snapshot() { hamdb_snapshot_free(s_); }

  uint64_t txn() const {
    uint64_t t = 0;
    detail::check(hamdb_snapshot_txn(s_, &t));
    return t;
  }
  uint64_t size() const {
    uint64_t n = 0;
    detail::check(hamdb_snapshot_len(s_, &n));
    return n;
  }
  Results search(ByteView code, size_t k, std::optional<uint32_t> cls = std::nullopt) const {
    hamdb_results* r = nullptr;
    detail::check(hamdb_snapshot_search(s_, code.data, code.size, k, cls.value_or(HAMDB_ANY_CLASS), &r));
    return Results(r);
  }
  Results search_radius(ByteView code, uint32_t radius,
                        std::optional<uint32_t> cls = std::nullopt) const {
    hamdb_results* r = nullptr;
    detail::check(hamdb_snapshot_search_radius(s_, code.data, code.size, radius,
                                               cls.value_or(HAMDB_ANY_CLASS), &r));
    return Results(r);
  }
  /// k-NN without payloads into a vector with room for min(k, size()) hits: any k works.
  std::vector<Neighbor> search_neighbors(ByteView code, size_t k,
                                         std::optional<uint32_t> cls = std::nullopt) const {
    uint64_t items = size();
    std::vector<Neighbor> out(items < k ? size_t(items) : k);
    size_t n = 0;
    detail::check(hamdb_snapshot_search_into(s_, code.data, code.size, k,
                                             cls.value_or(HAMDB_ANY_CLASS), out.data(),
                                             out.size(), &n));
    out.resize(n);
    return out;
  }
  /// k-NN by a query of several codes (`n_codes` packed one after another in `codes`): an
  /// item's distance is the least over every (query code, item code) pair; each item once.
  Results search_set(ByteView codes, size_t n_codes, size_t k,
                     std::optional<uint32_t> cls = std::nullopt) const {
    hamdb_results* r = nullptr;
    detail::check(hamdb_snapshot_search_set(s_, codes.data, codes.size, n_codes, k,
                                            cls.value_or(HAMDB_ANY_CLASS), &r));
    return Results(r);
  }
  /// Radius search by a query of several codes; as search_set.
  Results search_radius_set(ByteView codes, size_t n_codes, uint32_t radius,
                            std::optional<uint32_t> cls = std::nullopt) const {
    hamdb_results* r = nullptr;
    detail::check(hamdb_snapshot_search_radius_set(s_, codes.data, codes.size, n_codes, radius,
                                                   cls.value_or(HAMDB_ANY_CLASS), &r));
    return Results(r);
  }
  /// Class-aware k-NN: the k nearest items whose label is `cls` first, then the nearest
  /// others, each group by (distance, id), exact within each group.
  Results search_class_first(ByteView code, size_t k, uint32_t cls) const {
    hamdb_results* r = nullptr;
    detail::check(hamdb_snapshot_search_class_first(s_, code.data, code.size, k, cls, &r));
    return Results(r);
  }
  /// Every item within `radius`, those whose label is `cls` first, each group by (distance, id).
  Results search_radius_class_first(ByteView code, uint32_t radius, uint32_t cls) const {
    hamdb_results* r = nullptr;
    detail::check(
        hamdb_snapshot_search_radius_class_first(s_, code.data, code.size, radius, cls, &r));
    return Results(r);
  }
  /// Batched k-NN: `n_queries` codes packed one after another in `codes`; result i is
  /// search_neighbors(query i, k, cls). `threads`: 0 = automatic, n = exactly n (at most
  /// HAMDB_MAX_THREADS).
  std::vector<std::vector<Neighbor>> search_many(ByteView codes, size_t n_queries, size_t k,
                                                 std::optional<uint32_t> cls = std::nullopt,
                                                 size_t threads = 0) const {
    hamdb_many_results* m = nullptr;
    int rc = hamdb_snapshot_search_many(s_, codes.data, codes.size, n_queries, k,
                                        cls.value_or(HAMDB_ANY_CLASS), threads, &m);
    return detail::many_to_vectors(rc, m);
  }
  /// Batched radius search; as search_many.
  std::vector<std::vector<Neighbor>> search_radius_many(ByteView codes, size_t n_queries,
                                                        uint32_t radius,
                                                        std::optional<uint32_t> cls = std::nullopt,
                                                        size_t threads = 0) const {
    hamdb_many_results* m = nullptr;
    int rc = hamdb_snapshot_search_radius_many(s_, codes.data, codes.size, n_queries, radius,
                                               cls.value_or(HAMDB_ANY_CLASS), threads, &m);
    return detail::many_to_vectors(rc, m);
  }
  /// The item with this id, or nullopt.
  std::optional<Item> get(uint64_t id) const {
    hamdb_item* it = nullptr;
    int rc = hamdb_snapshot_get(s_, id, &it);
    if (rc == HAMDB_NOT_FOUND) return std::nullopt;
    detail::check(rc);
    return Item(it);
  }

 private:
  hamdb_snapshot* s_;
};

/// A loaded ONNX image encoder (needs ONNX Runtime: `runtime_path`, or ORT_DYLIB_PATH, or the
/// onnxruntime Python package). Move-only; any number of threads may use it at once.
class Encoder {
 public:
  static Encoder load(const std::string& model_path, const std::string& runtime_path = "",
                      size_t intra_threads = 0) {
    hamdb_encoder_options o{};
    o.runtime_path = runtime_path.empty() ? nullptr : detail::c_str(runtime_path, "runtime path");
    o.intra_threads = intra_threads;
    hamdb_encoder* e = nullptr;
    detail::check(hamdb_encoder_load(detail::c_str(model_path, "model path"), &o, &e));
    return Encoder(e);
  }
  Encoder(Encoder&& o) noexcept : e_(std::exchange(o.e_, nullptr)) {}
  Encoder& operator=(Encoder&& o) noexcept {
    if (this != &o) {
      hamdb_encoder_free(e_);
      e_ = std::exchange(o.e_, nullptr);
    }
    return *this;
  }
  Encoder(const Encoder&) = delete;
  Encoder& operator=(const Encoder&) = delete;
  ~Encoder() { hamdb_encoder_free(e_); }

  /// Bits of the codes it produces (K rounded up to a byte).
  size_t code_bits() const {
    size_t b = 0;
    detail::check(hamdb_encoder_code_bits(e_, &b));
    return b;
  }
  size_t num_classes() const {
    size_t n = 0;
    detail::check(hamdb_encoder_num_classes(e_, &n));
    return n;
  }
  std::string class_name(uint32_t class_id) const {
    const char* name = nullptr;
    detail::check(hamdb_encoder_class_name(e_, class_id, &name));
    return name;
  }
  /// Encode one image file's bytes: its packed code and predicted class.
  std::pair<std::vector<uint8_t>, Prediction> classify(ByteView image) const {
    std::vector<uint8_t> code(code_bits() / 8);
    Prediction p{};
    detail::check(hamdb_encoder_classify(e_, image.data, image.size, code.data(), code.size(), &p));
    return {code, p};
  }
  const hamdb_encoder* get() const noexcept { return e_; }

 private:
  explicit Encoder(hamdb_encoder* e) noexcept : e_(e) {}
  hamdb_encoder* e_;
};

/// One input image's outcome.
struct IngestItem {
  int status;           // HAMDB_OK or why it failed
  uint64_t id;          // the new id when status == HAMDB_OK, else no_id
  std::string message;  // why it failed
};

/// The outcome of an image insert, one item per input in input order.
struct IngestReport {
  std::vector<IngestItem> items;
  uint64_t inserted = 0;
  uint64_t failed = 0;
  uint64_t txn = 0;
};

namespace detail {
inline IngestReport take_report(hamdb_ingest_report* r) {
  struct Free {
    hamdb_ingest_report* r;
    ~Free() { hamdb_ingest_report_free(r); }
  } guard{r};
  hamdb_ingest_summary s{};
  check(hamdb_ingest_report_summary(r, &s));
  IngestReport out;
  out.inserted = s.inserted;
  out.failed = s.failed;
  out.txn = s.txn;
  for (size_t i = 0; i < s.count; i++) {
    hamdb_ingest_item it{};
    check(hamdb_ingest_report_item(r, i, &it));
    out.items.push_back(IngestItem{it.status, it.status == HAMDB_OK ? it.id : no_id,
                                   it.message ? it.message : ""});
  }
  return out;
}
}  // namespace detail

/// Open flags.
enum OpenFlags : uint32_t {
  kReadWrite = 0,
  kReadOnly = HAMDB_OPEN_READ_ONLY,
  kNoAutoCompact = HAMDB_OPEN_NO_AUTO_COMPACT,
};

/// An open database. Move-only; every method may be called from several threads at once.
class Database {
 public:
  static Database create(const std::string& path, size_t code_bits, ByteView fingerprint = {},
                         uint32_t flags = 0) {
    hamdb_db* db = nullptr;
    detail::check(hamdb_db_create(detail::c_str(path, "path"), code_bits, fingerprint.data,
                                  fingerprint.size, flags, &db));
    return Database(db);
  }
  /// As create, with options (CreateOptions{} is create's defaults): e.g. `o.expected_radius =
  /// 4; o.has_expected_radius = true;` cuts the multi-index tables for radius-4 searches.
  static Database create_with_options(const std::string& path, size_t code_bits,
                                      const CreateOptions& options, ByteView fingerprint = {},
                                      uint32_t flags = 0) {
    hamdb_db* db = nullptr;
    detail::check(hamdb_db_create_with_options(detail::c_str(path, "path"), code_bits,
                                               fingerprint.data, fingerprint.size, &options,
                                               flags, &db));
    return Database(db);
  }
  /// A new database for the codes of `enc`'s model (image inserts and searches need it).
  static Database create_for_model(const std::string& path, const Encoder& enc,
                                   uint32_t flags = 0) {
    hamdb_db* db = nullptr;
    detail::check(hamdb_db_create_for_model(detail::c_str(path, "path"), enc.get(), flags, &db));
    return Database(db);
  }
  static Database open(const std::string& path, uint32_t flags = 0) {
    hamdb_db* db = nullptr;
    detail::check(hamdb_db_open(detail::c_str(path, "path"), flags, &db));
    return Database(db);
  }
  /// As open, with options (OpenOptions{} is open's defaults): e.g. `o.lock_wait_ms = 5000;
  /// o.has_lock_wait = true;` waits up to 5 s for another writer's lock (0: fail at once).
  static Database open_with_options(const std::string& path, const OpenOptions& options,
                                    uint32_t flags = 0) {
    hamdb_db* db = nullptr;
    detail::check(
        hamdb_db_open_with_options(detail::c_str(path, "path"), &options, flags, &db));
    return Database(db);
  }
  /// Check every checksum and invariant of the file at `path`.
  static VerifyReport verify(const std::string& path) {
    VerifyReport r{};
    detail::check(hamdb_verify(detail::c_str(path, "path"), &r));
    return r;
  }

  Database(Database&& o) noexcept : db_(std::exchange(o.db_, nullptr)) {}
  Database& operator=(Database&& o) noexcept {
    if (this != &o) {
      hamdb_db_free(db_);
      db_ = std::exchange(o.db_, nullptr);
    }
    return *this;
  }
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database() { hamdb_db_free(db_); }

  /// Close now (later calls throw Error(HAMDB_CLOSED)); the destructor frees the handle.
  void close() { detail::check(hamdb_db_close(db_)); }

  size_t code_bits() const {
    size_t b = 0;
    detail::check(hamdb_db_code_bits(db_, &b));
    return b;
  }
  size_t code_bytes() const { return code_bits() / 8; }
  /// The expected radius recorded at creation, or nullopt.
  std::optional<uint32_t> expected_radius() const {
    uint32_t r = 0;
    int rc = hamdb_db_expected_radius(db_, &r);
    if (rc == HAMDB_NOT_FOUND) return std::nullopt;
    detail::check(rc);
    return r;
  }
  /// k-NN of the latest commit by a query of several codes; as Snapshot::search_set.
  Results search_set(ByteView codes, size_t n_codes, size_t k,
                     std::optional<uint32_t> cls = std::nullopt) const {
    hamdb_results* r = nullptr;
    detail::check(hamdb_db_search_set(db_, codes.data, codes.size, n_codes, k,
                                      cls.value_or(HAMDB_ANY_CLASS), &r));
    return Results(r);
  }
  /// Radius search of the latest commit by a query of several codes; as Snapshot::search_set.
  Results search_radius_set(ByteView codes, size_t n_codes, uint32_t radius,
                            std::optional<uint32_t> cls = std::nullopt) const {
    hamdb_results* r = nullptr;
    detail::check(hamdb_db_search_radius_set(db_, codes.data, codes.size, n_codes, radius,
                                             cls.value_or(HAMDB_ANY_CLASS), &r));
    return Results(r);
  }
  /// Class-aware k-NN of the latest commit; as Snapshot::search_class_first.
  Results search_class_first(ByteView code, size_t k, uint32_t cls) const {
    hamdb_results* r = nullptr;
    detail::check(hamdb_db_search_class_first(db_, code.data, code.size, k, cls, &r));
    return Results(r);
  }
  /// Class-aware radius search of the latest commit; as Snapshot::search_radius_class_first.
  Results search_radius_class_first(ByteView code, uint32_t radius, uint32_t cls) const {
    hamdb_results* r = nullptr;
    detail::check(hamdb_db_search_radius_class_first(db_, code.data, code.size, radius, cls, &r));
    return Results(r);
  }
  /// Batched k-NN of the latest commit; as Snapshot::search_many.
  std::vector<std::vector<Neighbor>> search_many(ByteView codes, size_t n_queries, size_t k,
                                                 std::optional<uint32_t> cls = std::nullopt,
                                                 size_t threads = 0) const {
    hamdb_many_results* m = nullptr;
    int rc = hamdb_db_search_many(db_, codes.data, codes.size, n_queries, k,
                                  cls.value_or(HAMDB_ANY_CLASS), threads, &m);
    return detail::many_to_vectors(rc, m);
  }
  /// Batched radius search of the latest commit; as Snapshot::search_many.
  std::vector<std::vector<Neighbor>> search_radius_many(ByteView codes, size_t n_queries,
                                                        uint32_t radius,
                                                        std::optional<uint32_t> cls = std::nullopt,
                                                        size_t threads = 0) const {
    hamdb_many_results* m = nullptr;
    int rc = hamdb_db_search_radius_many(db_, codes.data, codes.size, n_queries, radius,
                                         cls.value_or(HAMDB_ANY_CLASS), threads, &m);
    return detail::many_to_vectors(rc, m);
  }
  Stats stats() const {
    Stats s{};
    detail::check(hamdb_db_stats(db_, &s));
    return s;
  }
  std::vector<uint8_t> fingerprint() const {
    size_t n = 0;
    int rc = hamdb_db_fingerprint(db_, nullptr, 0, &n);
    if (rc != HAMDB_BUFFER_TOO_SMALL) detail::check(rc);
    std::vector<uint8_t> fp(n);
    detail::check(hamdb_db_fingerprint(db_, fp.data(), fp.size(), &n));
    return fp;
  }
  /// Commit atomically and durably; on success the batch is emptied.
  CommitInfo commit(Batch& batch) {
    CommitInfo info{};
    detail::check(hamdb_db_commit(db_, batch.get(), &info));
    return info;
  }
  /// One insert, committed.
  uint64_t insert(ByteView code, std::optional<uint32_t> label = std::nullopt,
                  ByteView payload = {}) {
    Batch b;
    b.insert_auto(code, label, payload);
    commit(b);
    return b.assigned_ids().at(0);
  }
  /// Deletes, committed together.
  void erase(const std::vector<uint64_t>& ids) {
    Batch b;
    for (uint64_t id : ids) b.erase(id);
    commit(b);
  }
  /// Bulk import of packed codes (one segment, one commit); optional ids and labels with one
  /// entry per code.
  CommitInfo import(ByteView codes, const std::vector<uint64_t>* ids = nullptr,
                    const std::vector<uint32_t>* labels = nullptr) {
    CommitInfo info{};
    detail::check(hamdb_db_import(db_, codes.data, codes.size, ids ? ids->data() : nullptr,
                                  labels ? labels->data() : nullptr, nullptr, nullptr, &info));
    return info;
  }
  void flush() { detail::check(hamdb_db_flush(db_)); }
  void compact() { detail::check(hamdb_db_compact(db_)); }
  /// Pick up other writers' commits; whether anything changed.
  bool refresh() {
    bool changed = false;
    detail::check(hamdb_db_refresh(db_, &changed));
    return changed;
  }
  Snapshot snapshot() const {
    hamdb_snapshot* s = nullptr;
    detail::check(hamdb_db_snapshot(db_, &s));
    return Snapshot(s);
  }
  Results search(ByteView code, size_t k, std::optional<uint32_t> cls = std::nullopt) const {
    hamdb_results* r = nullptr;
    detail::check(hamdb_db_search(db_, code.data, code.size, k, cls.value_or(HAMDB_ANY_CLASS), &r));
    return Results(r);
  }
  Results search_radius(ByteView code, uint32_t radius,
                        std::optional<uint32_t> cls = std::nullopt) const {
    hamdb_results* r = nullptr;
    detail::check(hamdb_db_search_radius(db_, code.data, code.size, radius,
                                         cls.value_or(HAMDB_ANY_CLASS), &r));
    return Results(r);
  }
  /// k-NN without payloads into a vector (one call, no library-owned object, for k up to
  /// 1024; a larger k searches a snapshot, with room for its live items: any k works).
  std::vector<Neighbor> search_neighbors(ByteView code, size_t k,
                                         std::optional<uint32_t> cls = std::nullopt) const {
    if (k > detail::knn_direct_max) return snapshot().search_neighbors(code, k, cls);
    std::vector<Neighbor> out(k);
    size_t n = 0;
    detail::check(hamdb_db_search_into(db_, code.data, code.size, k,
                                       cls.value_or(HAMDB_ANY_CLASS), out.data(), k, &n));
    out.resize(n);
    return out;
  }
  std::optional<Item> get(uint64_t id) const {
    hamdb_item* it = nullptr;
    int rc = hamdb_db_get(db_, id, &it);
    if (rc == HAMDB_NOT_FOUND) return std::nullopt;
    detail::check(rc);
    return Item(it);
  }
  /// Encode and insert image files (each path becomes the payload, the predicted class the
  /// label); an unreadable image fails alone (see the report). A path with a NUL byte throws
  /// Error(HAMDB_INVALID_PARAMETER) before anything is inserted.
  IngestReport insert_image_files(const Encoder& enc, const std::vector<std::string>& paths,
                                  const IngestOptions* options = nullptr) {
    std::vector<const char*> ptrs;
    for (const auto& p : paths) ptrs.push_back(detail::c_str(p, "image path"));
    hamdb_ingest_report* r = nullptr;
    detail::check(hamdb_db_insert_image_files(db_, enc.get(), ptrs.data(), ptrs.size(), options, &r));
    return detail::take_report(r);
  }
  /// Encode and insert images held in memory, with optional payloads (one per image).
  IngestReport insert_images(const Encoder& enc, const std::vector<std::vector<uint8_t>>& images,
                             const std::vector<std::string>& payloads = {},
                             const IngestOptions* options = nullptr) {
    if (!payloads.empty() && payloads.size() != images.size())
      throw Error(HAMDB_INVALID_PARAMETER, "payloads: one per image");
    std::vector<const uint8_t*> ip, pp;
    std::vector<size_t> il, pl;
    for (const auto& i : images) {
      ip.push_back(i.data());
      il.push_back(i.size());
    }
    for (const auto& p : payloads) {
      pp.push_back(reinterpret_cast<const uint8_t*>(p.data()));
      pl.push_back(p.size());
    }
    hamdb_ingest_report* r = nullptr;
    detail::check(hamdb_db_insert_images(db_, enc.get(), ip.data(), il.data(),
                                         payloads.empty() ? nullptr : pp.data(),
                                         payloads.empty() ? nullptr : pl.data(), images.size(),
                                         options, &r));
    return detail::take_report(r);
  }
  /// k-NN by image; `Results::prediction()` is the query's class. `rank` Rank::class_first
  /// puts the items of the predicted class first (with `cls` given, the filter decides).
  Results search_image(const Encoder& enc, ByteView image, size_t k,
                       std::optional<uint32_t> cls = std::nullopt,
                       Rank rank = Rank::distance) const {
    hamdb_results* r = nullptr;
    detail::check(hamdb_db_search_image_ranked(db_, enc.get(), image.data, image.size, k,
                                               cls.value_or(HAMDB_ANY_CLASS),
                                               static_cast<uint32_t>(rank), &r));
    return Results(r);
  }
  Results search_image_radius(const Encoder& enc, ByteView image, uint32_t radius,
                              std::optional<uint32_t> cls = std::nullopt,
                              Rank rank = Rank::distance) const {
    hamdb_results* r = nullptr;
    detail::check(hamdb_db_search_image_radius_ranked(db_, enc.get(), image.data, image.size,
                                                      radius, cls.value_or(HAMDB_ANY_CLASS),
                                                      static_cast<uint32_t>(rank), &r));
    return Results(r);
  }
  hamdb_db* handle() const noexcept { return db_; }

 private:
  explicit Database(hamdb_db* db) noexcept : db_(db) {}
  hamdb_db* db_;
};

/// The library's version string, e.g. "0.2.0".
inline std::string version() { return hamdb_version(); }

/// Whether the loaded library speaks the ABI this header was written for.
inline bool abi_compatible() noexcept { return hamdb_abi_version() == HAMDB_ABI_VERSION; }

}  // namespace hamdb

#endif  // HAMDB_HPP
