/*
 * C tests of the hamdb C ABI: every function, and misuse (NULL handles and pointers, wrong
 * code lengths, read-only and closed databases, a locked database, corrupt and foreign files).
 * Every misuse must give its status code and leave outputs untouched; none may crash.
 *
 * Built with -Wall -Wextra -Werror; run under AddressSanitizer + UBSan and under valgrind
 * (make test-ffi). Exit status 0 iff every check passed.
 */
#define _GNU_SOURCE
#include "hamdb.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int failures = 0;
static int checks = 0;

#define CHECK(cond)                                                                   \
  do {                                                                                \
    checks++;                                                                         \
    if (!(cond)) {                                                                    \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);       \
      failures++;                                                                     \
    }                                                                                 \
  } while (0)

#define EXPECT(call, want)                                                            \
  do {                                                                                \
    int rc_ = (call);                                                                 \
    checks++;                                                                         \
    if (rc_ != (want)) {                                                              \
      fprintf(stderr, "%s:%d: %s returned %d (%s: %s), want %d (%s)\n", __FILE__,     \
              __LINE__, #call, rc_, hamdb_status_name(rc_), hamdb_last_error_message(), \
              (want), hamdb_status_name(want));                                       \
      failures++;                                                                     \
    }                                                                                 \
  } while (0)

#define OK(call) EXPECT(call, HAMDB_OK)

/* A pointer value that outputs must keep when a call fails. */
#define SENTINEL ((void *)0x5a5a)

static char dir[256];

static void path_of(char *buf, size_t cap, const char *name) {
  snprintf(buf, cap, "%s/%s", dir, name);
}

/* ---- a deterministic generator and a model of the database ---- */

static uint64_t rng_state = 42;
static uint64_t next_rand(void) {
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

#define MAXN 512
typedef struct {
  int live;
  uint8_t code[4];
  uint32_t label;
  char payload[16];
} model_item;
static model_item model[MAXN];

static int popcount8(uint8_t x) {
  int n = 0;
  while (x) {
    n += x & 1;
    x >>= 1;
  }
  return n;
}

static uint32_t distance(const uint8_t *a, const uint8_t *b) {
  uint32_t d = 0;
  for (int i = 0; i < 4; i++) d += (uint32_t)popcount8((uint8_t)(a[i] ^ b[i]));
  return d;
}

static void random_code(uint8_t *code) {
  uint64_t r = next_rand();
  memcpy(code, &r, 4);
}

/* Brute-force k-NN (or radius when k == 0) over the model, ascending by (distance, id). */
static size_t brute(const uint8_t *q, size_t k, int radius, uint32_t cls, uint64_t *ids,
                    uint32_t *dists) {
  size_t n = 0;
  for (uint32_t d = 0; d <= 32; d++) {
    if (radius >= 0 && (int)d > radius) break;
    for (uint64_t id = 0; id < MAXN; id++) {
      if (!model[id].live || distance(q, model[id].code) != d) continue;
      if (cls != HAMDB_ANY_CLASS && model[id].label != cls) continue;
      if (k && n == k) return n;
      ids[n] = id;
      dists[n] = d;
      n++;
    }
  }
  return n;
}

static void check_results(hamdb_results *res, const uint8_t *q, size_t k, int radius,
                          uint32_t cls) {
  uint64_t ids[MAXN];
  uint32_t dists[MAXN];
  size_t want = brute(q, k, radius, cls, ids, dists);
  size_t n = hamdb_results_len(res);
  CHECK(n == want);
  for (size_t i = 0; i < n && i < want; i++) {
    hamdb_hit hit;
    OK(hamdb_results_get(res, i, &hit));
    CHECK(hit.id == ids[i]);
    CHECK(hit.distance == dists[i]);
    if (hit.id != ids[i])
      fprintf(stderr, "  hit %zu: got id %llu at %u, want id %llu at %u (k %zu, r %d, class %u)\n", i,
              (unsigned long long)hit.id, hit.distance, (unsigned long long)ids[i], dists[i], k,
              radius, cls);
    if (hit.id < MAXN) {
      CHECK(hit.label == model[hit.id].label);
      CHECK(hit.payload_len == strlen(model[hit.id].payload));
      CHECK(hit.payload_len == 0 ||
            memcmp(hit.payload, model[hit.id].payload, hit.payload_len) == 0);
    }
  }
}

/* Class-first reference: brute() of `cls`, then brute() of the others (label != cls), each group
   ascending by (distance, id), the k nearest overall (k == 0: every item within radius). */
static void check_class_first(hamdb_results *res, const uint8_t *q, size_t k, int radius,
                              uint32_t cls) {
  uint64_t ids[MAXN], all[MAXN];
  uint32_t dists[MAXN], all_d[MAXN];
  size_t want = brute(q, k, radius, cls, ids, dists);
  size_t n_all = brute(q, 0, radius, HAMDB_ANY_CLASS, all, all_d);
  for (size_t i = 0; i < n_all && !(k && want == k); i++) {
    if (model[all[i]].label == cls) continue;
    ids[want] = all[i];
    dists[want] = all_d[i];
    want++;
  }
  size_t n = hamdb_results_len(res);
  CHECK(n == want);
  for (size_t i = 0; i < n && i < want; i++) {
    hamdb_hit hit;
    OK(hamdb_results_get(res, i, &hit));
    CHECK(hit.id == ids[i] && hit.distance == dists[i]);
    if (hit.id != ids[i])
      fprintf(stderr, "  class-first hit %zu: got id %llu at %u, want id %llu at %u (k %zu, r %d, class %u)\n",
              i, (unsigned long long)hit.id, hit.distance, (unsigned long long)ids[i], dists[i], k,
              radius, cls);
    if (hit.id < MAXN) CHECK(hit.label == model[hit.id].label);
  }
}

/* ---- tests ---- */

static void test_version_and_status(void) {
  char want[32];
  snprintf(want, sizeof want, "%d.%d.%d", HAMDB_VERSION_MAJOR, HAMDB_VERSION_MINOR,
           HAMDB_VERSION_PATCH);
  CHECK(strcmp(hamdb_version(), want) == 0);
  CHECK(hamdb_abi_version() == HAMDB_ABI_VERSION);
  const int codes[] = {HAMDB_OK, HAMDB_UNSUPPORTED_CODE_LENGTH, HAMDB_CODE_LENGTH_MISMATCH,
                       HAMDB_RAGGED_CODE_BUFFER, HAMDB_INVALID_HEX, HAMDB_INVALID_PARAMETER,
                       HAMDB_TOO_MANY_CODES, HAMDB_IO, HAMDB_NOT_A_DATABASE,
                       HAMDB_UNSUPPORTED_FORMAT_VERSION, HAMDB_CORRUPT, HAMDB_LOCKED,
                       HAMDB_READ_ONLY, HAMDB_POISONED, HAMDB_DUPLICATE_ID,
                       HAMDB_ENCODER_MISMATCH, HAMDB_NULL_ARGUMENT, HAMDB_BUFFER_TOO_SMALL,
                       HAMDB_PANIC, HAMDB_CLOSED, HAMDB_NOT_FOUND, HAMDB_OTHER};
  for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
    CHECK(hamdb_status_string(codes[i]) != NULL);
    CHECK(strcmp(hamdb_status_string(codes[i]), "unknown status code") != 0);
    CHECK(strncmp(hamdb_status_name(codes[i]), "HAMDB_", 6) == 0);
  }
  CHECK(strcmp(hamdb_status_name(HAMDB_LOCKED), "HAMDB_LOCKED") == 0);
  CHECK(HAMDB_OK == 0 && HAMDB_LOCKED == 11 && HAMDB_NULL_ARGUMENT == 100);
  CHECK(strcmp(hamdb_status_string(-1), "unknown status code") == 0);
  CHECK(strcmp(hamdb_status_name(9999), "HAMDB_UNKNOWN") == 0);
  CHECK(hamdb_last_error_message() != NULL);
}

static void test_create_misuse(void) {
  char p[300];
  hamdb_db *db = SENTINEL;
  path_of(p, sizeof p, "misuse.hamdb");
  EXPECT(hamdb_db_create(NULL, 32, NULL, 0, 0, &db), HAMDB_NULL_ARGUMENT);
  CHECK(strstr(hamdb_last_error_message(), "path") != NULL);
  EXPECT(hamdb_db_create(p, 32, NULL, 0, 0, NULL), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_db_create("", 32, NULL, 0, 0, &db), HAMDB_INVALID_PARAMETER);
  EXPECT(hamdb_db_create(p, 12, NULL, 0, 0, &db), HAMDB_UNSUPPORTED_CODE_LENGTH);
  EXPECT(hamdb_db_create(p, 0, NULL, 0, 0, &db), HAMDB_UNSUPPORTED_CODE_LENGTH);
  EXPECT(hamdb_db_create(p, 2048, NULL, 0, 0, &db), HAMDB_UNSUPPORTED_CODE_LENGTH);
  EXPECT(hamdb_db_create(p, 32, NULL, 5, 0, &db), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_db_create(p, 32, NULL, 0, HAMDB_OPEN_READ_ONLY, &db), HAMDB_INVALID_PARAMETER);
  EXPECT(hamdb_db_create(p, 32, NULL, 0, 0x80, &db), HAMDB_INVALID_PARAMETER);
  uint8_t long_fp[65] = {0};
  EXPECT(hamdb_db_create(p, 32, long_fp, sizeof long_fp, 0, &db), HAMDB_INVALID_PARAMETER);
  CHECK(db == SENTINEL);
  CHECK(access(p, F_OK) != 0); /* nothing was left behind */
  char missing[300];
  path_of(missing, sizeof missing, "no/such/dir/x.hamdb");
  EXPECT(hamdb_db_create(missing, 32, NULL, 0, 0, &db), HAMDB_IO);
  EXPECT(hamdb_db_open(missing, 0, &db), HAMDB_IO);
  EXPECT(hamdb_db_open(NULL, 0, &db), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_db_open(p, 0, NULL), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_db_open(p, 0x100, &db), HAMDB_INVALID_PARAMETER);
  CHECK(db == SENTINEL);
}

/* Every function on a NULL handle: a status (or the documented neutral value), no crash. */
static void test_null_handles(void) {
  uint8_t code[4] = {0};
  size_t n = 7;
  uint64_t u = 7;
  bool changed = false;
  hamdb_stats st;
  hamdb_commit_info info;
  hamdb_results *res = SENTINEL;
  hamdb_item *item = SENTINEL;
  hamdb_snapshot *snap = SENTINEL;
  hamdb_neighbor nb[4];
  hamdb_hit hit;
  hamdb_search_stats ss;
  hamdb_item_fields f;
  hamdb_verify_report vr;
  const uint64_t *ids = NULL;

  EXPECT(hamdb_db_code_bits(NULL, &n), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_db_stats(NULL, &st), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_db_fingerprint(NULL, NULL, 0, &n), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_db_commit(NULL, NULL, &info), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_db_flush(NULL), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_db_compact(NULL), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_db_refresh(NULL, &changed), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_db_import(NULL, code, 4, NULL, NULL, NULL, NULL, NULL), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_db_snapshot(NULL, &snap), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_db_search(NULL, code, 4, 3, HAMDB_ANY_CLASS, &res), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_db_search_radius(NULL, code, 4, 3, HAMDB_ANY_CLASS, &res), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_db_search_into(NULL, code, 4, 3, HAMDB_ANY_CLASS, nb, 4, &n),
         HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_db_get(NULL, 1, &item), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_verify(NULL, &vr), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_db_close(NULL), HAMDB_OK);
  hamdb_db_free(NULL);

  EXPECT(hamdb_batch_new(NULL), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_batch_insert(NULL, 1, code, 4, 0, NULL, 0), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_batch_insert_auto(NULL, code, 4, 0, NULL, 0), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_batch_upsert(NULL, 1, code, 4, 0, NULL, 0), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_batch_delete(NULL, 1), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_batch_clear(NULL), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_batch_assigned_ids(NULL, &ids, &n), HAMDB_NULL_ARGUMENT);
  CHECK(hamdb_batch_len(NULL) == 0);
  hamdb_batch_free(NULL);

  EXPECT(hamdb_snapshot_txn(NULL, &u), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_snapshot_len(NULL, &u), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_snapshot_search(NULL, code, 4, 3, HAMDB_ANY_CLASS, &res), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_snapshot_search_radius(NULL, code, 4, 3, HAMDB_ANY_CLASS, &res),
         HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_snapshot_search_into(NULL, code, 4, 3, HAMDB_ANY_CLASS, nb, 4, &n),
         HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_snapshot_get(NULL, 1, &item), HAMDB_NULL_ARGUMENT);
  hamdb_snapshot_free(NULL);

  CHECK(hamdb_results_len(NULL) == 0);
  EXPECT(hamdb_results_get(NULL, 0, &hit), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_results_copy(NULL, &hit, 1, &n), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_results_stats(NULL, &ss), HAMDB_NULL_ARGUMENT);
  hamdb_results_free(NULL);
  EXPECT(hamdb_item_view(NULL, &f), HAMDB_NULL_ARGUMENT);
  hamdb_item_free(NULL);

  CHECK(n == 7 && u == 7 && res == SENTINEL && item == SENTINEL && snap == SENTINEL);
}

static hamdb_db *create_db(const char *name, uint32_t flags) {
  char p[300];
  path_of(p, sizeof p, name);
  unlink(p);
  hamdb_db *db = NULL;
  OK(hamdb_db_create(p, 32, (const uint8_t *)"enc-1", 5, flags, &db));
  return db;
}

static void insert_model_items(hamdb_db *db, int from, int to) {
  hamdb_batch *b = NULL;
  OK(hamdb_batch_new(&b));
  for (int id = from; id < to; id++) {
    model_item *m = &model[id];
    random_code(m->code);
    m->label = (id % 5 == 4) ? HAMDB_NO_LABEL : (uint32_t)(id % 5);
    snprintf(m->payload, sizeof m->payload, id % 7 == 0 ? "" : "item-%d", id);
    OK(hamdb_batch_insert(b, (uint64_t)id, m->code, 4, m->label, (const uint8_t *)m->payload,
                          strlen(m->payload)));
  }
  CHECK(hamdb_batch_len(b) == (size_t)(to - from));
  hamdb_commit_info info = {0};
  OK(hamdb_db_commit(db, b, &info));
  CHECK(info.assigned_count == 0 && info.maintenance_status == HAMDB_OK);
  CHECK(hamdb_batch_len(b) == 0);
  for (int id = from; id < to; id++) model[id].live = 1;
  hamdb_batch_free(b);
}

static void check_searches(hamdb_db *db, hamdb_snapshot *snap) {
  for (int q = 0; q < 20; q++) {
    uint8_t code[4];
    random_code(code);
    size_t k = (size_t)(q % 9) + 1;
    uint32_t cls = q % 3 == 0 ? (uint32_t)(q % 4) : HAMDB_ANY_CLASS;
    hamdb_results *res = NULL;
    if (snap)
      OK(hamdb_snapshot_search(snap, code, 4, k, cls, &res));
    else
      OK(hamdb_db_search(db, code, 4, k, cls, &res));
    check_results(res, code, k, -1, cls);
    hamdb_results_free(res);
    int r = q % 10;
    res = NULL;
    if (snap)
      OK(hamdb_snapshot_search_radius(snap, code, 4, (uint32_t)r, cls, &res));
    else
      OK(hamdb_db_search_radius(db, code, 4, (uint32_t)r, cls, &res));
    check_results(res, code, 0, r, cls);
    hamdb_results_free(res);

    /* class first: classes 0..3, and 4, 5 that no item has (plain order); k past n */
    uint32_t first = (uint32_t)(q % 6);
    size_t kf = q == 19 ? SIZE_MAX : (size_t)(q % 13) + 1;
    res = NULL;
    if (snap)
      OK(hamdb_snapshot_search_class_first(snap, code, 4, kf, first, &res));
    else
      OK(hamdb_db_search_class_first(db, code, 4, kf, first, &res));
    check_class_first(res, code, kf == SIZE_MAX ? 0 : kf, -1, first);
    hamdb_results_free(res);
    res = NULL;
    if (snap)
      OK(hamdb_snapshot_search_radius_class_first(snap, code, 4, (uint32_t)r, first, &res));
    else
      OK(hamdb_db_search_radius_class_first(db, code, 4, (uint32_t)r, first, &res));
    check_class_first(res, code, 0, r, first);
    hamdb_results_free(res);
  }

  /* class-first misuse: the output stays untouched */
  uint8_t code[4] = {1, 2, 3, 4};
  hamdb_results *res = SENTINEL;
  if (snap) {
    EXPECT(hamdb_snapshot_search_class_first(NULL, code, 4, 3, 1, &res), HAMDB_NULL_ARGUMENT);
    EXPECT(hamdb_snapshot_search_class_first(snap, code, 4, 3, 1, NULL), HAMDB_NULL_ARGUMENT);
    EXPECT(hamdb_snapshot_search_radius_class_first(snap, NULL, 4, 3, 1, &res),
           HAMDB_NULL_ARGUMENT);
    EXPECT(hamdb_snapshot_search_class_first(snap, code, 3, 3, 1, &res),
           HAMDB_CODE_LENGTH_MISMATCH);
    EXPECT(hamdb_snapshot_search_radius_class_first(snap, code, 4, 3, HAMDB_ANY_CLASS, &res),
           HAMDB_INVALID_PARAMETER);
  } else {
    EXPECT(hamdb_db_search_class_first(NULL, code, 4, 3, 1, &res), HAMDB_NULL_ARGUMENT);
    EXPECT(hamdb_db_search_radius_class_first(db, code, 4, 3, 1, NULL), HAMDB_NULL_ARGUMENT);
    EXPECT(hamdb_db_search_class_first(db, NULL, 4, 3, 1, &res), HAMDB_NULL_ARGUMENT);
    EXPECT(hamdb_db_search_radius_class_first(db, code, 5, 3, 1, &res),
           HAMDB_CODE_LENGTH_MISMATCH);
    EXPECT(hamdb_db_search_class_first(db, code, 4, 3, HAMDB_ANY_CLASS, &res),
           HAMDB_INVALID_PARAMETER);
    CHECK(strstr(hamdb_last_error_message(), "HAMDB_ANY_CLASS") != NULL);
  }
  CHECK(res == SENTINEL);
}

static void test_write_and_search(void) {
  memset(model, 0, sizeof model);
  hamdb_db *db = create_db("main.hamdb", HAMDB_OPEN_NO_AUTO_COMPACT);
  size_t bits = 0;
  OK(hamdb_db_code_bits(db, &bits));
  CHECK(bits == 32);
  EXPECT(hamdb_db_code_bits(db, NULL), HAMDB_NULL_ARGUMENT);

  /* fingerprint: length query, too small (length still reported, buffer untouched), exact */
  size_t fl = 0;
  EXPECT(hamdb_db_fingerprint(db, NULL, 0, &fl), HAMDB_BUFFER_TOO_SMALL);
  CHECK(fl == 5);
  uint8_t fp[8] = {'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x'};
  fl = 0;
  EXPECT(hamdb_db_fingerprint(db, fp, 3, &fl), HAMDB_BUFFER_TOO_SMALL);
  CHECK(fl == 5 && fp[0] == 'x');
  OK(hamdb_db_fingerprint(db, fp, sizeof fp, &fl));
  CHECK(fl == 5 && memcmp(fp, "enc-1", 5) == 0);
  EXPECT(hamdb_db_fingerprint(db, fp, sizeof fp, NULL), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_db_fingerprint(db, NULL, 8, &fl), HAMDB_NULL_ARGUMENT);

  /* empty database */
  uint8_t q[4] = {1, 2, 3, 4};
  hamdb_results *res = NULL;
  OK(hamdb_db_search(db, q, 4, 10, HAMDB_ANY_CLASS, &res));
  CHECK(hamdb_results_len(res) == 0);
  hamdb_search_stats ss;
  OK(hamdb_results_stats(res, &ss));
  CHECK(ss.path == HAMDB_PATH_NONE);
  hamdb_results_free(res);

  insert_model_items(db, 0, 200);
  check_searches(db, NULL);

  /* a second batch in the delta, with upsert, delete, auto ids */
  hamdb_batch *b = NULL;
  OK(hamdb_batch_new(&b));
  random_code(model[3].code);
  model[3].label = 1;
  strcpy(model[3].payload, "upserted");
  OK(hamdb_batch_upsert(b, 3, model[3].code, 4, 1, (const uint8_t *)"upserted", 8));
  OK(hamdb_batch_delete(b, 5));
  OK(hamdb_batch_delete(b, 100000)); /* absent: not an error */
  model[5].live = 0;
  uint8_t ac[4] = {0xff, 0xff, 0xff, 0xff};
  OK(hamdb_batch_insert_auto(b, ac, 4, HAMDB_NO_LABEL, NULL, 0));
  OK(hamdb_batch_insert_auto(b, ac, 4, 2, (const uint8_t *)"a", 1));
  CHECK(hamdb_batch_len(b) == 5);
  hamdb_commit_info info = {0};
  OK(hamdb_db_commit(db, b, &info));
  CHECK(info.assigned_count == 2);
  const uint64_t *ids = NULL;
  size_t nids = 0;
  OK(hamdb_batch_assigned_ids(b, &ids, &nids));
  CHECK(nids == 2 && ids != NULL);
  if (nids == 2) {
    CHECK(ids[0] >= 200 && ids[1] == ids[0] + 1 && ids[0] == info.first_assigned_id);
    for (size_t i = 0; i < 2; i++) {
      model_item *m = &model[ids[i]];
      m->live = 1;
      memcpy(m->code, ac, 4);
      m->label = i == 0 ? HAMDB_NO_LABEL : 2;
      strcpy(m->payload, i == 0 ? "" : "a");
    }
  }
  EXPECT(hamdb_batch_assigned_ids(b, NULL, &nids), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_batch_assigned_ids(b, &ids, NULL), HAMDB_NULL_ARGUMENT);
  OK(hamdb_db_commit(db, b, NULL)); /* an empty batch, info optional */
  check_searches(db, NULL);

  /* misuse of batches: bad code lengths, NULL code, duplicate ids; the batch survives failure */
  OK(hamdb_batch_clear(b));
  EXPECT(hamdb_batch_insert(b, 900, q, 0, 0, NULL, 0), HAMDB_UNSUPPORTED_CODE_LENGTH);
  EXPECT(hamdb_batch_insert(b, 900, NULL, 4, 0, NULL, 0), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_batch_insert(b, 900, q, 4, 0, NULL, 3), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_batch_upsert(b, 900, q, 0, 0, NULL, 0), HAMDB_UNSUPPORTED_CODE_LENGTH);
  EXPECT(hamdb_batch_insert_auto(b, NULL, 4, 0, NULL, 0), HAMDB_NULL_ARGUMENT);
  CHECK(hamdb_batch_len(b) == 0);
  OK(hamdb_batch_insert(b, 901, q, 3, 0, NULL, 0)); /* 24 bits: valid code, wrong length */
  EXPECT(hamdb_db_commit(db, b, &info), HAMDB_CODE_LENGTH_MISMATCH);
  CHECK(hamdb_batch_len(b) == 1);
  OK(hamdb_batch_clear(b));
  OK(hamdb_batch_insert(b, 7, q, 4, 0, NULL, 0)); /* id 7 exists */
  EXPECT(hamdb_db_commit(db, b, &info), HAMDB_DUPLICATE_ID);
  CHECK(strstr(hamdb_last_error_message(), "7") != NULL);
  OK(hamdb_batch_clear(b));
  EXPECT(hamdb_db_commit(db, NULL, &info), HAMDB_NULL_ARGUMENT);

  /* search misuse: wrong lengths, NULL code, NULL out; outputs untouched */
  res = SENTINEL;
  EXPECT(hamdb_db_search(db, q, 3, 5, HAMDB_ANY_CLASS, &res), HAMDB_CODE_LENGTH_MISMATCH);
  CHECK(strstr(hamdb_last_error_message(), "32-bit") != NULL);
  EXPECT(hamdb_db_search(db, q, 5, 5, HAMDB_ANY_CLASS, &res), HAMDB_CODE_LENGTH_MISMATCH);
  EXPECT(hamdb_db_search(db, NULL, 4, 5, HAMDB_ANY_CLASS, &res), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_db_search(db, q, 4, 5, HAMDB_ANY_CLASS, NULL), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_db_search_radius(db, q, 8, 5, HAMDB_ANY_CLASS, &res),
         HAMDB_CODE_LENGTH_MISMATCH);
  CHECK(res == SENTINEL);
  OK(hamdb_db_search(db, q, 4, 0, HAMDB_ANY_CLASS, &res)); /* k = 0: no hits */
  CHECK(hamdb_results_len(res) == 0);
  hamdb_results_free(res);

  /* results accessors: get past the end, copy with too small a buffer, stats */
  OK(hamdb_db_search(db, q, 4, 6, HAMDB_ANY_CLASS, &res));
  CHECK(hamdb_results_len(res) == 6);
  hamdb_hit hits[8], hit;
  memset(hits, 0, sizeof hits);
  size_t n = 99;
  EXPECT(hamdb_results_copy(res, hits, 2, &n), HAMDB_BUFFER_TOO_SMALL);
  CHECK(n == 6 && hits[0].id == 0 && hits[0].distance == 0);
  EXPECT(hamdb_results_copy(res, NULL, 8, &n), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_results_copy(res, hits, 8, NULL), HAMDB_NULL_ARGUMENT);
  OK(hamdb_results_copy(res, hits, 8, &n));
  CHECK(n == 6);
  for (size_t i = 0; i < 6; i++) {
    OK(hamdb_results_get(res, i, &hit));
    CHECK(hit.id == hits[i].id && hit.distance == hits[i].distance);
    if (i) CHECK(hits[i - 1].distance < hits[i].distance ||
                 (hits[i - 1].distance == hits[i].distance && hits[i - 1].id < hits[i].id));
  }
  EXPECT(hamdb_results_get(res, 6, &hit), HAMDB_NOT_FOUND);
  EXPECT(hamdb_results_get(res, SIZE_MAX, &hit), HAMDB_NOT_FOUND);
  EXPECT(hamdb_results_get(res, 0, NULL), HAMDB_NULL_ARGUMENT);
  OK(hamdb_results_stats(res, &ss));
  CHECK(ss.path == HAMDB_PATH_MIH || ss.path == HAMDB_PATH_LINEAR_SCAN ||
        ss.path == HAMDB_PATH_MIH_THEN_SCAN);
  CHECK(ss.candidates_checked >= 6);
  EXPECT(hamdb_results_stats(res, NULL), HAMDB_NULL_ARGUMENT);

  /* caller-allocated k-NN equals the library-owned one */
  hamdb_neighbor nb[8];
  memset(nb, 0, sizeof nb);
  EXPECT(hamdb_db_search_into(db, q, 4, 6, HAMDB_ANY_CLASS, nb, 5, &n),
         HAMDB_BUFFER_TOO_SMALL);
  EXPECT(hamdb_db_search_into(db, q, 4, 6, HAMDB_ANY_CLASS, NULL, 8, &n), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_db_search_into(db, q, 4, 6, HAMDB_ANY_CLASS, nb, 8, NULL), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_db_search_into(db, q, 2, 6, HAMDB_ANY_CLASS, nb, 8, &n),
         HAMDB_CODE_LENGTH_MISMATCH);
  CHECK(nb[0].id == 0 && nb[0].distance == 0);
  OK(hamdb_db_search_into(db, q, 4, 6, HAMDB_ANY_CLASS, nb, 8, &n));
  CHECK(n == 6);
  for (size_t i = 0; i < 6; i++)
    CHECK(nb[i].id == hits[i].id && nb[i].distance == hits[i].distance &&
          nb[i].label == hits[i].label);
  hamdb_results_free(res);

  /* get */
  hamdb_item *item = SENTINEL;
  EXPECT(hamdb_db_get(db, 5, &item), HAMDB_NOT_FOUND); /* deleted */
  EXPECT(hamdb_db_get(db, 77777, &item), HAMDB_NOT_FOUND);
  CHECK(item == SENTINEL);
  EXPECT(hamdb_db_get(db, 3, NULL), HAMDB_NULL_ARGUMENT);
  OK(hamdb_db_get(db, 3, &item));
  hamdb_item_fields f;
  OK(hamdb_item_view(item, &f));
  CHECK(f.id == 3 && f.label == 1 && f.code_len == 4 && memcmp(f.code, model[3].code, 4) == 0);
  CHECK(f.payload_len == 8 && memcmp(f.payload, "upserted", 8) == 0);
  EXPECT(hamdb_item_view(item, NULL), HAMDB_NULL_ARGUMENT);
  hamdb_item_free(item);
  OK(hamdb_db_get(db, 0, &item)); /* id 0: empty payload */
  OK(hamdb_item_view(item, &f));
  CHECK(f.payload == NULL && f.payload_len == 0);
  hamdb_item_free(item);

  /* a snapshot keeps its commit while the database moves on */
  hamdb_snapshot *snap = NULL;
  OK(hamdb_db_snapshot(db, &snap));
  EXPECT(hamdb_db_snapshot(db, NULL), HAMDB_NULL_ARGUMENT);
  uint64_t txn0 = 0, len0 = 0;
  OK(hamdb_snapshot_txn(snap, &txn0));
  OK(hamdb_snapshot_len(snap, &len0));
  EXPECT(hamdb_snapshot_txn(snap, NULL), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_snapshot_len(snap, NULL), HAMDB_NULL_ARGUMENT);
  hamdb_stats st;
  OK(hamdb_db_stats(db, &st));
  CHECK(st.txn == txn0 && st.items == len0 && len0 == 201);
  EXPECT(hamdb_db_stats(db, NULL), HAMDB_NULL_ARGUMENT);
  check_searches(NULL, snap);
  model_item saved[MAXN];
  memcpy(saved, model, sizeof model);
  insert_model_items(db, 300, 320);
  uint64_t t = 0;
  OK(hamdb_snapshot_txn(snap, &t));
  CHECK(t == txn0);
  OK(hamdb_snapshot_len(snap, &t));
  CHECK(t == 201);
  OK(hamdb_snapshot_get(snap, 3, &item));
  hamdb_item_free(item);
  EXPECT(hamdb_snapshot_get(snap, 310, &item), HAMDB_NOT_FOUND);
  EXPECT(hamdb_snapshot_get(snap, 3, NULL), HAMDB_NULL_ARGUMENT);
  OK(hamdb_snapshot_search_into(snap, q, 4, 3, HAMDB_ANY_CLASS, nb, 3, &n));
  CHECK(n == 3);
  EXPECT(hamdb_snapshot_search(snap, q, 2, 3, HAMDB_ANY_CLASS, &res), HAMDB_CODE_LENGTH_MISMATCH);
  {
    model_item now[MAXN];
    memcpy(now, model, sizeof model);
    memcpy(model, saved, sizeof model);
    check_searches(NULL, snap);
    memcpy(model, now, sizeof model);
  }

  /* flush and compact: the same answers from segments */
  OK(hamdb_db_flush(db));
  OK(hamdb_db_stats(db, &st));
  CHECK(st.delta_items == 0 && st.segments >= 1 && st.items == 221);
  check_searches(db, NULL);
  OK(hamdb_batch_delete(b, 10));
  OK(hamdb_batch_delete(b, 11));
  OK(hamdb_db_commit(db, b, NULL));
  model[10].live = model[11].live = 0;
  OK(hamdb_db_stats(db, &st));
  CHECK(st.deleted_in_segments == 2);
  OK(hamdb_db_compact(db));
  OK(hamdb_db_stats(db, &st));
  CHECK(st.deleted_in_segments == 0 && st.segments == 1 && st.items == 219);
  check_searches(db, NULL);
  { /* the old snapshot still answers for its own commit after flush and compaction */
    model_item now[MAXN];
    memcpy(now, model, sizeof model);
    memcpy(model, saved, sizeof model);
    check_searches(NULL, snap);
    memcpy(model, now, sizeof model);
  }
  hamdb_snapshot_free(snap);

  /* bulk import: auto ids, ragged buffers, reserved labels, payload columns */
  uint8_t codes[10 * 4];
  for (int i = 0; i < 40; i++) codes[i] = (uint8_t)next_rand();
  EXPECT(hamdb_db_import(db, codes, 39, NULL, NULL, NULL, NULL, &info), HAMDB_RAGGED_CODE_BUFFER);
  EXPECT(hamdb_db_import(db, NULL, 40, NULL, NULL, NULL, NULL, &info), HAMDB_NULL_ARGUMENT);
  uint32_t labels[10];
  for (int i = 0; i < 10; i++) labels[i] = (uint32_t)i % 3;
  labels[4] = HAMDB_NO_LABEL;
  EXPECT(hamdb_db_import(db, codes, 40, NULL, labels, NULL, NULL, &info),
         HAMDB_INVALID_PARAMETER);
  labels[4] = 1;
  uint64_t iids[10];
  for (int i = 0; i < 10; i++) iids[i] = (uint64_t)(400 + i);
  iids[9] = 3; /* exists */
  EXPECT(hamdb_db_import(db, codes, 40, iids, labels, NULL, NULL, &info), HAMDB_DUPLICATE_ID);
  iids[9] = 409;
  const uint8_t *pls[10];
  size_t pl_lens[10];
  for (int i = 0; i < 10; i++) {
    pls[i] = (const uint8_t *)"imported";
    pl_lens[i] = (size_t)(i % 9);
  }
  EXPECT(hamdb_db_import(db, codes, 40, iids, labels, pls, NULL, &info), HAMDB_NULL_ARGUMENT);
  OK(hamdb_db_import(db, codes, 40, iids, labels, pls, pl_lens, &info));
  CHECK(info.assigned_count == 0);
  for (int i = 0; i < 10; i++) {
    model_item *m = &model[400 + i];
    m->live = 1;
    memcpy(m->code, codes + 4 * i, 4);
    m->label = labels[i];
    memcpy(m->payload, "imported", (size_t)(i % 9));
    m->payload[i % 9] = 0;
  }
  check_searches(db, NULL);
  OK(hamdb_db_import(db, codes, 8, NULL, NULL, NULL, NULL, &info));
  CHECK(info.assigned_count == 2 && info.first_assigned_id >= 410);
  for (uint64_t i = 0; i < 2; i++) {
    model_item *m = &model[info.first_assigned_id + i];
    m->live = 1;
    memcpy(m->code, codes + 4 * i, 4);
    m->label = HAMDB_NO_LABEL;
    m->payload[0] = 0;
  }
  OK(hamdb_db_import(db, NULL, 0, NULL, NULL, NULL, NULL, NULL)); /* nothing to import */
  check_searches(db, NULL);

  hamdb_batch_free(b);
  /* verify the file while it is open */
  char p[300];
  path_of(p, sizeof p, "main.hamdb");
  hamdb_verify_report vr;
  OK(hamdb_verify(p, &vr));
  OK(hamdb_db_stats(db, &st));
  CHECK(vr.items == st.items && vr.txn == st.txn);
  EXPECT(hamdb_verify(p, NULL), HAMDB_NULL_ARGUMENT);
  hamdb_db_free(db); /* free without close closes */
}

static void test_read_only_locked_refresh(void) {
  char p[300];
  path_of(p, sizeof p, "main.hamdb");
  hamdb_db *w = NULL, *w2 = SENTINEL, *r = NULL;
  OK(hamdb_db_open(p, 0, &w));
  EXPECT(hamdb_db_open(p, 0, &w2), HAMDB_LOCKED);
  CHECK(w2 == SENTINEL);
  OK(hamdb_db_open(p, HAMDB_OPEN_READ_ONLY, &r));
  hamdb_stats st, st2;
  OK(hamdb_db_stats(r, &st));
  check_searches(r, NULL);

  /* writes on the read-only handle */
  hamdb_batch *b = NULL;
  OK(hamdb_batch_new(&b));
  uint8_t c[4] = {9, 9, 9, 9};
  OK(hamdb_batch_insert(b, 450, c, 4, 0, NULL, 0));
  EXPECT(hamdb_db_commit(r, b, NULL), HAMDB_READ_ONLY);
  CHECK(hamdb_batch_len(b) == 1);
  EXPECT(hamdb_db_flush(r), HAMDB_READ_ONLY);
  EXPECT(hamdb_db_compact(r), HAMDB_READ_ONLY);
  EXPECT(hamdb_db_import(r, c, 4, NULL, NULL, NULL, NULL, NULL), HAMDB_READ_ONLY);

  /* the writer commits; the reader sees it after refresh */
  OK(hamdb_db_commit(w, b, NULL));
  model[450].live = 1;
  memcpy(model[450].code, c, 4);
  model[450].label = 0;
  model[450].payload[0] = 0;
  OK(hamdb_db_stats(r, &st2));
  CHECK(st2.items == st.items);
  bool changed = false;
  OK(hamdb_db_refresh(r, &changed));
  CHECK(changed);
  OK(hamdb_db_refresh(r, &changed));
  CHECK(!changed);
  OK(hamdb_db_refresh(r, NULL));
  OK(hamdb_db_stats(r, &st2));
  CHECK(st2.items == st.items + 1);
  check_searches(r, NULL);

  /* close: later calls say HAMDB_CLOSED; closing again is fine; the lock is released */
  hamdb_snapshot *snap = NULL;
  OK(hamdb_db_snapshot(w, &snap));
  OK(hamdb_db_close(w));
  OK(hamdb_db_close(w));
  size_t n = 0;
  uint8_t q[4] = {0};
  hamdb_results *res = SENTINEL;
  hamdb_neighbor nb[2];
  hamdb_item *item = SENTINEL;
  EXPECT(hamdb_db_code_bits(w, &n), HAMDB_CLOSED);
  EXPECT(hamdb_db_stats(w, &st), HAMDB_CLOSED);
  EXPECT(hamdb_db_fingerprint(w, NULL, 0, &n), HAMDB_CLOSED);
  EXPECT(hamdb_db_commit(w, b, NULL), HAMDB_CLOSED);
  EXPECT(hamdb_db_flush(w), HAMDB_CLOSED);
  EXPECT(hamdb_db_compact(w), HAMDB_CLOSED);
  EXPECT(hamdb_db_refresh(w, NULL), HAMDB_CLOSED);
  EXPECT(hamdb_db_import(w, q, 4, NULL, NULL, NULL, NULL, NULL), HAMDB_CLOSED);
  EXPECT(hamdb_db_snapshot(w, &snap), HAMDB_CLOSED);
  EXPECT(hamdb_db_search(w, q, 4, 1, HAMDB_ANY_CLASS, &res), HAMDB_CLOSED);
  EXPECT(hamdb_db_search_radius(w, q, 4, 1, HAMDB_ANY_CLASS, &res), HAMDB_CLOSED);
  EXPECT(hamdb_db_search_class_first(w, q, 4, 1, 0, &res), HAMDB_CLOSED);
  EXPECT(hamdb_db_search_radius_class_first(w, q, 4, 1, 0, &res), HAMDB_CLOSED);
  EXPECT(hamdb_db_search_into(w, q, 4, 1, HAMDB_ANY_CLASS, nb, 2, &n), HAMDB_CLOSED);
  EXPECT(hamdb_db_get(w, 1, &item), HAMDB_CLOSED);
  CHECK(res == SENTINEL && item == SENTINEL);
  hamdb_db_free(w);
  /* the snapshot outlives its database handle */
  OK(hamdb_snapshot_search(snap, q, 4, 3, HAMDB_ANY_CLASS, &res));
  CHECK(hamdb_results_len(res) == 3);
  hamdb_results_free(res);
  /* the write lock goes with the handle, not with its snapshots: reopening for writing
     works while the old snapshot is still alive, and the snapshot still answers */
  w2 = NULL;
  OK(hamdb_db_open(p, 0, &w2));
  OK(hamdb_snapshot_search(snap, q, 4, 3, HAMDB_ANY_CLASS, &res));
  CHECK(hamdb_results_len(res) == 3);
  hamdb_results_free(res);
  hamdb_snapshot_free(snap);
  hamdb_db_free(w2);
  hamdb_batch_free(b);
  hamdb_db_free(r);
}

/* k = SIZE_MAX ("all") on a one-item database: k-NN into a caller's array needs room for
 * min(k, live items) neighbours only, and the library-owned searches size nothing by k.
 * Ids that do not exist are reported as HAMDB_NO_ID, never as 0 (a real id). */
static void test_huge_k_and_no_id(void) {
  CHECK(HAMDB_NO_ID == UINT64_MAX);
  hamdb_db *db = create_db("huge.hamdb", 0);
  uint8_t q[4] = {0x0f, 0x00, 0x00, 0x01};
  uint8_t code[4] = {0x0f, 0x00, 0x00, 0x03}; /* distance 1 from q */
  hamdb_neighbor nb[2];
  memset(nb, 0, sizeof nb);
  size_t n = 99;
  /* empty: no room needed at all */
  OK(hamdb_db_search_into(db, q, 4, SIZE_MAX, HAMDB_ANY_CLASS, NULL, 0, &n));
  CHECK(n == 0);
  hamdb_batch *b = NULL;
  OK(hamdb_batch_new(&b));
  OK(hamdb_batch_insert(b, 0, code, 4, 2, (const uint8_t *)"zero", 4));
  hamdb_commit_info info = {0};
  OK(hamdb_db_commit(db, b, &info));
  CHECK(info.assigned_count == 0 && info.first_assigned_id == HAMDB_NO_ID); /* not id 0 */
  n = 99;
  OK(hamdb_db_search_into(db, q, 4, SIZE_MAX, HAMDB_ANY_CLASS, nb, 1, &n));
  CHECK(n == 1 && nb[0].id == 0 && nb[0].distance == 1 && nb[0].label == 2);
  n = 99;
  OK(hamdb_db_search_into(db, q, 4, SIZE_MAX, 2, nb, 2, &n));
  CHECK(n == 1 && nb[0].id == 0);
  n = 99;
  OK(hamdb_db_search_into(db, q, 4, SIZE_MAX, 7, nb, 1, &n)); /* no item of class 7 */
  CHECK(n == 0);
  n = 99;
  nb[0].id = 12345;
  EXPECT(hamdb_db_search_into(db, q, 4, SIZE_MAX, HAMDB_ANY_CLASS, nb, 0, &n),
         HAMDB_BUFFER_TOO_SMALL); /* min(k, 1 item) = 1 > 0: still checked */
  CHECK(n == 99 && nb[0].id == 12345);
  hamdb_results *res = NULL;
  OK(hamdb_db_search(db, q, 4, SIZE_MAX, HAMDB_ANY_CLASS, &res));
  CHECK(hamdb_results_len(res) == 1);
  hamdb_hit hit;
  OK(hamdb_results_get(res, 0, &hit));
  CHECK(hit.id == 0 && hit.distance == 1 && hit.payload_len == 4);
  hamdb_results_free(res);
  hamdb_snapshot *snap = NULL;
  OK(hamdb_db_snapshot(db, &snap));
  /* a later commit does not change what the snapshot needs: its own item count */
  OK(hamdb_batch_insert(b, 1, q, 4, HAMDB_NO_LABEL, NULL, 0));
  OK(hamdb_db_commit(db, b, &info));
  n = 99;
  OK(hamdb_snapshot_search_into(snap, q, 4, SIZE_MAX, HAMDB_ANY_CLASS, nb, 1, &n));
  CHECK(n == 1 && nb[0].id == 0 && nb[0].distance == 1);
  OK(hamdb_snapshot_search(snap, q, 4, SIZE_MAX, HAMDB_ANY_CLASS, &res));
  CHECK(hamdb_results_len(res) == 1);
  hamdb_results_free(res);
  OK(hamdb_snapshot_search_radius(snap, q, 4, 32, HAMDB_ANY_CLASS, &res));
  CHECK(hamdb_results_len(res) == 1);
  hamdb_results_free(res);
  hamdb_snapshot_free(snap);
  n = 99;
  OK(hamdb_db_search_into(db, q, 4, SIZE_MAX, HAMDB_ANY_CLASS, nb, 2, &n));
  CHECK(n == 2 && nb[0].id == 1 && nb[0].distance == 0 && nb[1].id == 0);
  /* an import with ids assigns none: HAMDB_NO_ID, not 0 */
  uint64_t iid = 5;
  info.first_assigned_id = 0;
  OK(hamdb_db_import(db, q, 4, &iid, NULL, NULL, NULL, &info));
  CHECK(info.assigned_count == 0 && info.first_assigned_id == HAMDB_NO_ID);
  /* auto ids: first_assigned_id is the real first id */
  OK(hamdb_batch_insert_auto(b, q, 4, HAMDB_NO_LABEL, NULL, 0));
  OK(hamdb_db_commit(db, b, &info));
  const uint64_t *aids = NULL;
  size_t naids = 0;
  OK(hamdb_batch_assigned_ids(b, &aids, &naids));
  CHECK(info.assigned_count == 1 && naids == 1 && info.first_assigned_id == aids[0] &&
        aids[0] != HAMDB_NO_ID);
  hamdb_batch_free(b);
  hamdb_db_free(db);
}

static int copy_file(const char *from, const char *to) {
  FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
  if (!a || !b) {
    if (a) fclose(a);
    if (b) fclose(b);
    return -1;
  }
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, a)) > 0) fwrite(buf, 1, n, b);
  fclose(a);
  fclose(b);
  return 0;
}

static long file_size(const char *p) {
  FILE *f = fopen(p, "rb");
  if (!f) return -1;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fclose(f);
  return n;
}

static void overwrite(const char *p, long off, const void *bytes, size_t n) {
  FILE *f = fopen(p, "r+b");
  if (!f) return;
  fseek(f, off, SEEK_SET);
  fwrite(bytes, 1, n, f);
  fclose(f);
}

static int is_damage_status(int rc) {
  return rc == HAMDB_CORRUPT || rc == HAMDB_NOT_A_DATABASE ||
         rc == HAMDB_UNSUPPORTED_FORMAT_VERSION || rc == HAMDB_UNSUPPORTED_CODE_LENGTH ||
         rc == HAMDB_IO;
}

static void test_corrupt_files(void) {
  char good[300], bad[300];
  path_of(good, sizeof good, "main.hamdb");
  path_of(bad, sizeof bad, "bad.hamdb");
  long size = file_size(good);
  CHECK(size > 4096 * 3);
  hamdb_db *db = SENTINEL;
  hamdb_verify_report vr;

  /* garbage over the header */
  CHECK(copy_file(good, bad) == 0);
  overwrite(bad, 0, "garbage!garbage!", 16);
  EXPECT(hamdb_db_open(bad, 0, &db), HAMDB_NOT_A_DATABASE);
  EXPECT(hamdb_db_open(bad, HAMDB_OPEN_READ_ONLY, &db), HAMDB_NOT_A_DATABASE);
  EXPECT(hamdb_verify(bad, &vr), HAMDB_NOT_A_DATABASE);

  /* garbage over data blocks: open or verify reports damage, or (unused bytes) succeeds */
  uint8_t junk[512];
  for (size_t i = 0; i < sizeof junk; i++) junk[i] = (uint8_t)next_rand();
  for (long off = 3 * 4096; off < size; off += 1531) {
    CHECK(copy_file(good, bad) == 0);
    overwrite(bad, off, junk, sizeof junk);
    int rc = hamdb_verify(bad, &vr);
    CHECK(rc == HAMDB_OK || is_damage_status(rc));
    hamdb_db *d = NULL;
    rc = hamdb_db_open(bad, HAMDB_OPEN_READ_ONLY, &d);
    CHECK(rc == HAMDB_OK || is_damage_status(rc));
    if (rc == HAMDB_OK) {
      uint8_t q[4] = {0};
      hamdb_results *res = NULL;
      rc = hamdb_db_search(d, q, 4, 5, HAMDB_ANY_CLASS, &res);
      CHECK(rc == HAMDB_OK || is_damage_status(rc));
      hamdb_results_free(res);
      hamdb_db_free(d);
    }
  }

  /* truncated, empty, and a file of random bytes */
  CHECK(copy_file(good, bad) == 0);
  CHECK(truncate(bad, 5000) == 0);
  int rc = hamdb_db_open(bad, 0, &db);
  CHECK(is_damage_status(rc));
  CHECK(truncate(bad, 0) == 0);
  EXPECT(hamdb_db_open(bad, 0, &db), HAMDB_NOT_A_DATABASE);
  FILE *f = fopen(bad, "wb");
  for (int i = 0; i < 20000; i++) fputc((int)(next_rand() & 0xff), f);
  fclose(f);
  EXPECT(hamdb_db_open(bad, 0, &db), HAMDB_NOT_A_DATABASE);
  CHECK(db == SENTINEL);
  unlink(bad);
}

/* ---- threads: concurrent searches while a writer commits; thread-local error messages ---- */

static hamdb_db *shared_db;

static void *searcher(void *arg) {
  (void)arg;
  uint8_t q[4] = {1, 2, 3, 4};
  for (int i = 0; i < 200; i++) {
    hamdb_results *res = NULL;
    if (hamdb_db_search(shared_db, q, 4, 5, HAMDB_ANY_CLASS, &res) != HAMDB_OK) return (void *)1;
    if (hamdb_results_len(res) != 5) return (void *)2;
    hamdb_results_free(res);
  }
  /* a failure on this thread must not change the main thread's message */
  if (hamdb_db_search(shared_db, q, 3, 5, HAMDB_ANY_CLASS, &(hamdb_results *){NULL}) !=
      HAMDB_CODE_LENGTH_MISMATCH)
    return (void *)3;
  return NULL;
}

static void test_threads(void) {
  shared_db = create_db("threads.hamdb", 0);
  hamdb_batch *b = NULL;
  OK(hamdb_batch_new(&b));
  uint8_t c[4];
  for (int i = 0; i < 50; i++) {
    random_code(c);
    OK(hamdb_batch_insert_auto(b, c, 4, HAMDB_NO_LABEL, NULL, 0));
  }
  OK(hamdb_db_commit(shared_db, b, NULL));
  hamdb_db *other = NULL;
  char p[300];
  path_of(p, sizeof p, "nope.hamdb");
  EXPECT(hamdb_db_open(p, 0, &other), HAMDB_IO);
  char before[512];
  snprintf(before, sizeof before, "%s", hamdb_last_error_message());
  pthread_t t[4];
  for (int i = 0; i < 4; i++) CHECK(pthread_create(&t[i], NULL, searcher, NULL) == 0);
  for (int i = 0; i < 20; i++) {
    random_code(c);
    OK(hamdb_batch_insert_auto(b, c, 4, 1, NULL, 0));
    OK(hamdb_db_commit(shared_db, b, NULL));
  }
  for (int i = 0; i < 4; i++) {
    void *ret = (void *)9;
    CHECK(pthread_join(t[i], &ret) == 0);
    CHECK(ret == NULL);
  }
  CHECK(strcmp(before, hamdb_last_error_message()) == 0);
  hamdb_batch_free(b);
  hamdb_db_free(shared_db);
}

/* One query's batched neighbours equal the one-query search's hits. */
static void check_many_query(const hamdb_many_results_fields *f, size_t i, hamdb_results *one) {
  size_t n = hamdb_results_len(one);
  CHECK(f->lims[i + 1] - f->lims[i] == n);
  if (f->lims[i + 1] - f->lims[i] != n) return;
  for (size_t j = 0; j < n; j++) {
    hamdb_hit hit;
    OK(hamdb_results_get(one, j, &hit));
    const hamdb_neighbor *nb = &f->neighbors[f->lims[i] + j];
    CHECK(nb->id == hit.id && nb->distance == hit.distance && nb->label == hit.label);
  }
}

static void test_search_many(void) {
  memset(model, 0, sizeof model);
  hamdb_db *db = create_db("many.hamdb", HAMDB_OPEN_NO_AUTO_COMPACT);
  enum { NQ = 37 };
  uint8_t codes[NQ * 4];
  for (size_t i = 0; i < NQ; i++) random_code(codes + 4 * i);
  hamdb_many_results *m = NULL;
  hamdb_many_results_fields f;

  /* empty database: every query has no neighbours */
  OK(hamdb_db_search_many(db, codes, sizeof codes, NQ, 5, HAMDB_ANY_CLASS, 0, &m));
  CHECK(hamdb_many_results_len(m) == NQ);
  OK(hamdb_many_results_view(m, &f));
  CHECK(f.n_queries == NQ && f.n_neighbors == 0 && f.neighbors == NULL && f.lims[NQ] == 0);
  hamdb_many_results_free(m);

  insert_model_items(db, 0, 300);
  hamdb_snapshot *snap = NULL;
  OK(hamdb_db_snapshot(db, &snap));
  /* a delta on top of the segment, seen by the db searches only */
  insert_model_items(db, 300, 340);
  for (int variant = 0; variant < 12; variant++) {
    int use_snap = variant % 2, radius = variant % 4 >= 2;
    size_t threads = (size_t)(variant / 4) * 2 + (variant % 3 == 0); /* 0..5 */
    uint32_t cls = variant % 3 == 1 ? 2 : HAMDB_ANY_CLASS;
    size_t k = (size_t)variant + 1;
    uint32_t r = (uint32_t)(variant % 7) + 2;
    m = NULL;
    if (use_snap && radius)
      OK(hamdb_snapshot_search_radius_many(snap, codes, sizeof codes, NQ, r, cls, threads, &m));
    else if (use_snap)
      OK(hamdb_snapshot_search_many(snap, codes, sizeof codes, NQ, k, cls, threads, &m));
    else if (radius)
      OK(hamdb_db_search_radius_many(db, codes, sizeof codes, NQ, r, cls, threads, &m));
    else
      OK(hamdb_db_search_many(db, codes, sizeof codes, NQ, k, cls, threads, &m));
    OK(hamdb_many_results_view(m, &f));
    CHECK(f.n_queries == NQ && f.lims[0] == 0 && f.lims[NQ] == f.n_neighbors);
    for (size_t i = 0; i < NQ; i++) {
      hamdb_results *one = NULL;
      const uint8_t *q = codes + 4 * i;
      if (use_snap && radius)
        OK(hamdb_snapshot_search_radius(snap, q, 4, r, cls, &one));
      else if (use_snap)
        OK(hamdb_snapshot_search(snap, q, 4, k, cls, &one));
      else if (radius)
        OK(hamdb_db_search_radius(db, q, 4, r, cls, &one));
      else
        OK(hamdb_db_search(db, q, 4, k, cls, &one));
      check_many_query(&f, i, one);
      if (!use_snap) check_results(one, q, radius ? 0 : k, radius ? (int)r : -1, cls);
      hamdb_results_free(one);
    }
    hamdb_many_results_free(m);
  }
  /* k = SIZE_MAX: every live item for each query; no queries at all */
  OK(hamdb_db_search_many(db, codes, 8, 2, SIZE_MAX, HAMDB_ANY_CLASS, 1, &m));
  OK(hamdb_many_results_view(m, &f));
  CHECK(f.n_queries == 2 && f.lims[1] == 340 && f.n_neighbors == 680);
  hamdb_many_results_free(m);
  OK(hamdb_snapshot_search_many(snap, NULL, 0, 0, 3, HAMDB_ANY_CLASS, 0, &m));
  CHECK(hamdb_many_results_len(m) == 0);
  OK(hamdb_many_results_view(m, &f));
  CHECK(f.n_queries == 0 && f.lims[0] == 0 && f.n_neighbors == 0);
  hamdb_many_results_free(m);

  /* misuse: NULL arguments, wrong lengths, too many threads; the output stays untouched */
  m = SENTINEL;
  EXPECT(hamdb_db_search_many(NULL, codes, 8, 2, 3, HAMDB_ANY_CLASS, 0, &m), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_snapshot_search_many(NULL, codes, 8, 2, 3, HAMDB_ANY_CLASS, 0, &m),
         HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_db_search_radius_many(db, NULL, 8, 2, 3, HAMDB_ANY_CLASS, 0, &m),
         HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_snapshot_search_radius_many(snap, codes, 8, 2, 3, HAMDB_ANY_CLASS, 0, NULL),
         HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_db_search_many(db, codes, 7, 2, 3, HAMDB_ANY_CLASS, 0, &m),
         HAMDB_CODE_LENGTH_MISMATCH);
  CHECK(strstr(hamdb_last_error_message(), "32-bit") != NULL);
  EXPECT(hamdb_db_search_many(db, codes, 8, 3, 3, HAMDB_ANY_CLASS, 0, &m),
         HAMDB_CODE_LENGTH_MISMATCH);
  EXPECT(hamdb_snapshot_search_radius_many(snap, codes, 12, 2, 3, HAMDB_ANY_CLASS, 0, &m),
         HAMDB_CODE_LENGTH_MISMATCH);
  EXPECT(hamdb_db_search_many(db, codes, 8, SIZE_MAX / 2, 3, HAMDB_ANY_CLASS, 0, &m),
         HAMDB_CODE_LENGTH_MISMATCH);
  EXPECT(hamdb_db_search_many(db, codes, 8, 2, 3, HAMDB_ANY_CLASS, HAMDB_MAX_THREADS + 1, &m),
         HAMDB_INVALID_PARAMETER);
  CHECK(strstr(hamdb_last_error_message(), "threads") != NULL);
  EXPECT(hamdb_snapshot_search_radius_many(snap, codes, 8, 2, 3, HAMDB_ANY_CLASS, SIZE_MAX, &m),
         HAMDB_INVALID_PARAMETER);
  CHECK(m == SENTINEL);
  OK(hamdb_db_search_many(db, codes, 8, 2, 3, HAMDB_ANY_CLASS, HAMDB_MAX_THREADS, &m));
  CHECK(hamdb_many_results_len(m) == 2);
  hamdb_many_results_free(m);
  CHECK(hamdb_many_results_len(NULL) == 0);
  EXPECT(hamdb_many_results_view(NULL, &f), HAMDB_NULL_ARGUMENT);
  hamdb_many_results_free(NULL);
  OK(hamdb_db_close(db));
  EXPECT(hamdb_db_search_many(db, codes, 8, 2, 3, HAMDB_ANY_CLASS, 0, &m), HAMDB_CLOSED);
  /* the snapshot outlives the closed handle */
  OK(hamdb_snapshot_search_many(snap, codes, 8, 2, 3, HAMDB_ANY_CLASS, 0, &m));
  CHECK(hamdb_many_results_len(m) == 2);
  hamdb_many_results_free(m);
  hamdb_snapshot_free(snap);
  hamdb_db_free(db);
}

/* ---- items of several codes, queries of several codes ---- */

#define MULTI_N 120
#define MULTI_MAXC 6
typedef struct {
  int live;
  size_t n;
  uint8_t codes[MULTI_MAXC * 4];
  uint32_t label;
} multi_item;
static multi_item multi[MULTI_N];

/* An item's distance to a query set: the least over every (query code, item code) pair. */
static uint32_t set_distance(const multi_item *m, const uint8_t *q, size_t nq) {
  uint32_t best = 33;
  for (size_t i = 0; i < nq; i++)
    for (size_t j = 0; j < m->n; j++) {
      uint32_t d = distance(q + 4 * i, m->codes + 4 * j);
      if (d < best) best = d;
    }
  return best;
}

static void check_set_results(hamdb_results *res, const uint8_t *q, size_t nq, size_t k,
                              int radius, uint32_t cls) {
  uint64_t ids[MULTI_N];
  uint32_t dists[MULTI_N];
  size_t want = 0;
  for (uint32_t d = 0; d <= 32; d++) {
    if (radius >= 0 && (int)d > radius) break;
    for (uint64_t id = 0; id < MULTI_N && !(k && want == k); id++) {
      const multi_item *m = &multi[id];
      if (!m->live || set_distance(m, q, nq) != d) continue;
      if (cls != HAMDB_ANY_CLASS && m->label != cls) continue;
      ids[want] = id;
      dists[want] = d;
      want++;
    }
  }
  size_t n = hamdb_results_len(res);
  CHECK(n == want);
  for (size_t i = 0; i < n && i < want; i++) {
    hamdb_hit hit;
    OK(hamdb_results_get(res, i, &hit));
    CHECK(hit.id == ids[i] && hit.distance == dists[i]);
    if (hit.id < MULTI_N) CHECK(hit.label == multi[hit.id].label);
  }
}

static void check_item_codes(hamdb_item *it, const multi_item *m) {
  CHECK(hamdb_item_code_count(it) == m->n);
  hamdb_item_fields f;
  OK(hamdb_item_view(it, &f));
  CHECK(f.code_len == 4 && memcmp(f.code, m->codes, 4) == 0 && f.label == m->label);
  const uint8_t *all = NULL;
  size_t n = 0;
  OK(hamdb_item_codes(it, &all, &n));
  CHECK(n == m->n && all == f.code && memcmp(all, m->codes, 4 * n) == 0);
  for (size_t i = 0; i < m->n; i++) {
    const uint8_t *c = NULL;
    size_t len = 0;
    OK(hamdb_item_code(it, i, &c, &len));
    CHECK(len == 4 && memcmp(c, m->codes + 4 * i, 4) == 0);
  }
  const uint8_t *c = SENTINEL;
  size_t len = 7;
  EXPECT(hamdb_item_code(it, m->n, &c, &len), HAMDB_NOT_FOUND);
  CHECK(c == SENTINEL && len == 7);
}

static void test_multi_codes(void) {
  memset(multi, 0, sizeof multi);
  hamdb_db *db = create_db("multi.hamdb", HAMDB_OPEN_NO_AUTO_COMPACT);
  CHECK(HAMDB_MAX_CODES_PER_ITEM == 64);
  hamdb_batch *b = NULL;
  OK(hamdb_batch_new(&b));
  /* ids 0..79 chosen by the caller; then 40 auto ids, which the commit assigns past them */
  for (uint64_t id = 0; id < 80; id++) {
    multi_item *m = &multi[id];
    m->n = 1 + (size_t)(next_rand() % MULTI_MAXC);
    for (size_t j = 0; j < m->n; j++) random_code(m->codes + 4 * j);
    m->label = (uint32_t)(id % 3);
    m->live = 1;
    OK(hamdb_batch_insert_codes(b, id, m->codes, 4 * m->n, m->n, m->label,
                                (const uint8_t *)"p", 1));
  }
  hamdb_commit_info info = {0};
  OK(hamdb_db_commit(db, b, &info));
  CHECK(info.assigned_count == 0);
  /* auto ids: the commit assigns them in order after the largest id */
  uint8_t auto_codes[40][MULTI_MAXC * 4];
  size_t auto_n[40];
  for (size_t i = 0; i < 40; i++) {
    auto_n[i] = 1 + (size_t)(next_rand() % MULTI_MAXC);
    for (size_t j = 0; j < auto_n[i]; j++) random_code(auto_codes[i] + 4 * j);
    OK(hamdb_batch_insert_auto_codes(b, auto_codes[i], 4 * auto_n[i], auto_n[i], 1, NULL, 0));
  }
  OK(hamdb_db_commit(db, b, &info));
  CHECK(info.assigned_count == 40);
  const uint64_t *assigned = NULL;
  size_t n_assigned = 0;
  OK(hamdb_batch_assigned_ids(b, &assigned, &n_assigned));
  CHECK(n_assigned == 40);
  for (size_t i = 0; i < n_assigned && i < 40; i++) {
    CHECK(assigned[i] < MULTI_N && !multi[assigned[i]].live);
    if (assigned[i] >= MULTI_N) continue;
    multi_item *m = &multi[assigned[i]];
    m->n = auto_n[i];
    memcpy(m->codes, auto_codes[i], 4 * auto_n[i]);
    m->label = 1;
    m->live = 1;
  }
  /* upserts: a multi-code item becomes one code, a one-code item several, one deleted */
  multi[3].n = 1;
  random_code(multi[3].codes);
  OK(hamdb_batch_upsert_codes(b, 3, multi[3].codes, 4, 1, multi[3].label, NULL, 0));
  multi[4].n = MULTI_MAXC;
  for (size_t j = 0; j < MULTI_MAXC; j++) random_code(multi[4].codes + 4 * j);
  OK(hamdb_batch_upsert_codes(b, 4, multi[4].codes, 4 * MULTI_MAXC, MULTI_MAXC, multi[4].label,
                              NULL, 0));
  OK(hamdb_batch_delete(b, 5));
  multi[5].live = 0;
  OK(hamdb_db_commit(db, b, &info));

  /* searches by sets of 1..4 codes, db (delta) and snapshot, k-NN and radius, classes */
  hamdb_snapshot *snap = NULL;
  OK(hamdb_db_snapshot(db, &snap));
  OK(hamdb_db_compact(db)); /* segments now; the snapshot keeps the delta view */
  for (int variant = 0; variant < 16; variant++) {
    uint8_t q[4 * 4];
    size_t nq = 1 + (size_t)variant % 4;
    for (size_t i = 0; i < nq; i++) random_code(q + 4 * i);
    int use_snap = variant % 2, radius = variant % 4 >= 2;
    uint32_t cls = variant % 3 == 1 ? 1 : HAMDB_ANY_CLASS;
    size_t k = (size_t)variant + 1;
    uint32_t r = (uint32_t)(variant % 5) + 6;
    hamdb_results *res = NULL;
    if (use_snap && radius)
      OK(hamdb_snapshot_search_radius_set(snap, q, 4 * nq, nq, r, cls, &res));
    else if (use_snap)
      OK(hamdb_snapshot_search_set(snap, q, 4 * nq, nq, k, cls, &res));
    else if (radius)
      OK(hamdb_db_search_radius_set(db, q, 4 * nq, nq, r, cls, &res));
    else
      OK(hamdb_db_search_set(db, q, 4 * nq, nq, k, cls, &res));
    check_set_results(res, q, nq, radius ? 0 : k, radius ? (int)r : -1, cls);
    hamdb_results_free(res);
  }
  /* an item's own code finds it at distance 0; k = SIZE_MAX returns each item once */
  hamdb_results *res = NULL;
  const uint8_t *last = multi[4].codes + 4 * (MULTI_MAXC - 1);
  OK(hamdb_db_search_set(db, last, 4, 1, 1, HAMDB_ANY_CLASS, &res));
  hamdb_hit hit;
  OK(hamdb_results_get(res, 0, &hit));
  CHECK(hit.distance == 0 && (hit.id == 4 || set_distance(&multi[hit.id], last, 1) == 0));
  hamdb_results_free(res);
  OK(hamdb_snapshot_search_set(snap, multi[0].codes, 4, 1, SIZE_MAX, HAMDB_ANY_CLASS, &res));
  CHECK(hamdb_results_len(res) == MULTI_N - 1);
  hamdb_results_free(res);

  /* get: every code of every item, from the db and the snapshot */
  for (uint64_t id = 0; id < MULTI_N; id++) {
    hamdb_item *it = NULL;
    if (!multi[id].live) {
      EXPECT(hamdb_db_get(db, id, &it), HAMDB_NOT_FOUND);
      continue;
    }
    OK(hamdb_db_get(db, id, &it));
    check_item_codes(it, &multi[id]);
    hamdb_item_free(it);
    OK(hamdb_snapshot_get(snap, id, &it));
    check_item_codes(it, &multi[id]);
    hamdb_item_free(it);
  }
  hamdb_item *it = NULL;
  OK(hamdb_db_get(db, 0, &it));
  const uint8_t *cp = SENTINEL;
  size_t len = 7;
  EXPECT(hamdb_item_code(NULL, 0, &cp, &len), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_item_code(it, 0, NULL, &len), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_item_code(it, 0, &cp, NULL), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_item_codes(NULL, &cp, &len), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_item_codes(it, NULL, &len), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_item_codes(it, &cp, NULL), HAMDB_NULL_ARGUMENT);
  CHECK(cp == SENTINEL && len == 7);
  EXPECT(hamdb_item_code(it, SIZE_MAX, &cp, &len), HAMDB_NOT_FOUND);
  CHECK(hamdb_item_code_count(NULL) == 0);
  hamdb_item_free(it);

  /* misuse of the batch calls: refused at once, the batch unchanged */
  uint8_t many[(HAMDB_MAX_CODES_PER_ITEM + 1) * 4];
  for (size_t i = 0; i < sizeof many; i++) many[i] = (uint8_t)next_rand();
  EXPECT(hamdb_batch_insert_codes(NULL, 1, many, 8, 2, 0, NULL, 0), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_batch_insert_auto_codes(NULL, many, 8, 2, 0, NULL, 0), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_batch_upsert_codes(NULL, 1, many, 8, 2, 0, NULL, 0), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_batch_insert_codes(b, 1, NULL, 8, 2, 0, NULL, 0), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_batch_insert_codes(b, 1, many, 8, 2, 0, NULL, 3), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_batch_insert_codes(b, 1, NULL, 0, 0, 0, NULL, 0), HAMDB_INVALID_PARAMETER);
  CHECK(strstr(hamdb_last_error_message(), "n_codes") != NULL);
  EXPECT(hamdb_batch_upsert_codes(b, 1, many, sizeof many, HAMDB_MAX_CODES_PER_ITEM + 1, 0, NULL,
                                  0),
         HAMDB_INVALID_PARAMETER);
  EXPECT(hamdb_batch_insert_auto_codes(b, many, 8, SIZE_MAX, 0, NULL, 0), HAMDB_INVALID_PARAMETER);
  EXPECT(hamdb_batch_insert_codes(b, 1, many, 9, 2, 0, NULL, 0), HAMDB_RAGGED_CODE_BUFFER);
  EXPECT(hamdb_batch_insert_codes(b, 1, many, SIZE_MAX, 2, 0, NULL, 0), HAMDB_INVALID_PARAMETER);
  EXPECT(hamdb_batch_insert_codes(b, 1, NULL, 0, 2, 0, NULL, 0), HAMDB_UNSUPPORTED_CODE_LENGTH);
  EXPECT(hamdb_batch_insert_auto_codes(b, many, 2 * 129, 2, 0, NULL, 0),
         HAMDB_UNSUPPORTED_CODE_LENGTH);
  CHECK(hamdb_batch_len(b) == 0);
  /* the most codes an item holds is accepted; a code length the database does not have fails
   * at commit */
  OK(hamdb_batch_insert_codes(b, 1000, many, 4 * HAMDB_MAX_CODES_PER_ITEM,
                              HAMDB_MAX_CODES_PER_ITEM, HAMDB_NO_LABEL, NULL, 0));
  OK(hamdb_db_commit(db, b, &info));
  it = NULL;
  OK(hamdb_db_get(db, 1000, &it));
  CHECK(hamdb_item_code_count(it) == HAMDB_MAX_CODES_PER_ITEM);
  hamdb_item_free(it);
  OK(hamdb_batch_insert_codes(b, 1001, many, 6, 2, 0, NULL, 0)); /* 24-bit codes */
  EXPECT(hamdb_db_commit(db, b, &info), HAMDB_CODE_LENGTH_MISMATCH);
  OK(hamdb_batch_clear(b));
  OK(hamdb_batch_insert_codes(b, 0, many, 8, 2, 0, NULL, 0));
  EXPECT(hamdb_db_commit(db, b, &info), HAMDB_DUPLICATE_ID);
  OK(hamdb_batch_clear(b));

  /* misuse of the set searches: the output stays untouched */
  uint8_t q[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  res = SENTINEL;
  EXPECT(hamdb_db_search_set(NULL, q, 8, 2, 3, HAMDB_ANY_CLASS, &res), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_snapshot_search_set(NULL, q, 8, 2, 3, HAMDB_ANY_CLASS, &res), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_db_search_radius_set(db, NULL, 8, 2, 3, HAMDB_ANY_CLASS, &res),
         HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_snapshot_search_radius_set(snap, q, 8, 2, 3, HAMDB_ANY_CLASS, NULL),
         HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_db_search_set(db, NULL, 0, 0, 3, HAMDB_ANY_CLASS, &res), HAMDB_INVALID_PARAMETER);
  EXPECT(hamdb_snapshot_search_radius_set(snap, q, 0, 0, 3, HAMDB_ANY_CLASS, &res),
         HAMDB_INVALID_PARAMETER);
  EXPECT(hamdb_db_search_set(db, q, 7, 2, 3, HAMDB_ANY_CLASS, &res), HAMDB_CODE_LENGTH_MISMATCH);
  CHECK(strstr(hamdb_last_error_message(), "32 bits") != NULL);
  EXPECT(hamdb_snapshot_search_set(snap, q, 8, 3, 3, HAMDB_ANY_CLASS, &res),
         HAMDB_CODE_LENGTH_MISMATCH);
  EXPECT(hamdb_db_search_radius_set(db, q, 8, SIZE_MAX / 2, 3, HAMDB_ANY_CLASS, &res),
         HAMDB_CODE_LENGTH_MISMATCH);
  CHECK(res == SENTINEL);
  OK(hamdb_db_close(db));
  EXPECT(hamdb_db_search_set(db, q, 8, 2, 3, HAMDB_ANY_CLASS, &res), HAMDB_CLOSED);
  EXPECT(hamdb_db_search_radius_set(db, q, 8, 2, 3, HAMDB_ANY_CLASS, &res), HAMDB_CLOSED);
  CHECK(res == SENTINEL);
  /* the snapshot outlives the closed handle */
  OK(hamdb_snapshot_search_radius_set(snap, q, 8, 2, 32, HAMDB_ANY_CLASS, &res));
  CHECK(hamdb_results_len(res) == MULTI_N - 1);
  hamdb_results_free(res);
  hamdb_snapshot_free(snap);
  hamdb_batch_free(b);
  hamdb_db_free(db);
}

static void test_create_with_options(void) {
  char p[300];
  path_of(p, sizeof p, "radius.hamdb");
  unlink(p);
  hamdb_create_options o = {0};
  o.expected_radius = 33; /* more than the code's 32 bits */
  o.has_expected_radius = true;
  hamdb_db *db = SENTINEL;
  EXPECT(hamdb_db_create_with_options(p, 32, NULL, 0, &o, 0, &db), HAMDB_INVALID_PARAMETER);
  CHECK(db == SENTINEL);
  o.expected_radius = 3;
  OK(hamdb_db_create_with_options(p, 32, NULL, 0, &o, 0, &db));
  uint32_t r = 0;
  OK(hamdb_db_expected_radius(db, &r));
  CHECK(r == 3);
  EXPECT(hamdb_db_expected_radius(db, NULL), HAMDB_NULL_ARGUMENT);
  hamdb_db_free(db);
  db = NULL;
  OK(hamdb_db_open(p, HAMDB_OPEN_READ_ONLY, &db));
  r = 0;
  OK(hamdb_db_expected_radius(db, &r));
  CHECK(r == 3);
  hamdb_db_free(db);
  unlink(p);
  o.has_expected_radius = false; /* zeroed or unset: the default, none recorded */
  OK(hamdb_db_create_with_options(p, 32, NULL, 0, &o, 0, &db));
  EXPECT(hamdb_db_expected_radius(db, &r), HAMDB_NOT_FOUND);
  hamdb_db_free(db);
  unlink(p);
  OK(hamdb_db_create_with_options(p, 32, NULL, 0, NULL, 0, &db));
  EXPECT(hamdb_db_expected_radius(db, &r), HAMDB_NOT_FOUND);
  hamdb_db_free(db);
  unlink(p);
  EXPECT(hamdb_db_expected_radius(NULL, &r), HAMDB_NULL_ARGUMENT);
}

/* The holder of the write lock closes it 300 ms after starting; a waiting open gets it. */
static void *close_later(void *arg) {
  struct timespec ts = {0, 300 * 1000 * 1000};
  nanosleep(&ts, NULL);
  return (void *)(intptr_t)hamdb_db_close((hamdb_db *)arg);
}

static double seconds_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_open_lock_wait(void) {
  char p[300];
  path_of(p, sizeof p, "lockwait.hamdb");
  unlink(p);
  hamdb_db *w = NULL, *w2 = SENTINEL, *r = NULL;
  OK(hamdb_db_create(p, 32, NULL, 0, 0, &w));
  hamdb_open_options o = {0};
  o.has_lock_wait = true; /* lock_wait_ms 0: fail at once */
  EXPECT(hamdb_db_open_with_options(p, &o, 0, &w2), HAMDB_LOCKED);
  CHECK(w2 == SENTINEL);
  /* a read-only open takes no lock, so the wait does not apply */
  OK(hamdb_db_open_with_options(p, &o, HAMDB_OPEN_READ_ONLY, &r));
  hamdb_db_free(r);
  EXPECT(hamdb_db_open_with_options(p, NULL, 0, &w2), HAMDB_LOCKED); /* NULL: the 200 ms default */
  EXPECT(hamdb_db_open_with_options(NULL, &o, 0, &w2), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_db_open_with_options(p, &o, 0, NULL), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_db_open_with_options(p, &o, 0x80, &w2), HAMDB_INVALID_PARAMETER);
  CHECK(w2 == SENTINEL);
  /* a generous wait outlasts the writer, which closes after 300 ms (the default 200 ms
     would not: it fails while the other handle is still open) */
  o.lock_wait_ms = 60 * 1000;
  pthread_t t;
  double start = seconds_now();
  CHECK(pthread_create(&t, NULL, close_later, w) == 0);
  w2 = NULL;
  OK(hamdb_db_open_with_options(p, &o, 0, &w2));
  double waited = seconds_now() - start;
  void *ret = NULL;
  CHECK(pthread_join(t, &ret) == 0);
  CHECK((intptr_t)ret == HAMDB_OK);
  CHECK(w2 != NULL);
  /* it waited for the close, not for the whole minute */
  CHECK(waited >= 0.25 && waited < 50.0);
  hamdb_db_free(w2);
  hamdb_db_free(w);
  unlink(p);
}

int main(void) {
  const char *tmp = getenv("TMPDIR");
  snprintf(dir, sizeof dir, "%s/hamdb-c-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 2;
  }
  test_version_and_status();
  test_create_misuse();
  test_null_handles();
  test_write_and_search();
  test_read_only_locked_refresh();
  test_corrupt_files();
  test_threads();
  test_huge_k_and_no_id();
  test_search_many();
  test_multi_codes();
  test_create_with_options();
  test_open_lock_wait();

  const char *names[] = {"main.hamdb", "threads.hamdb", "bad.hamdb", "misuse.hamdb",
                         "huge.hamdb", "many.hamdb", "multi.hamdb"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    char p[300];
    path_of(p, sizeof p, names[i]);
    unlink(p);
  }
  rmdir(dir);
  if (failures) {
    fprintf(stderr, "test_capi: %d of %d checks FAILED\n", failures, checks);
    return 1;
  }
  printf("test_capi: all %d checks passed\n", checks);
  return 0;
}
