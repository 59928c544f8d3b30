/*
 * The C side of the differential test and per-call benchmark (see ffi/capi/examples/ffi_ops.rs, whose
 * operation sequence this repeats call for call through the C ABI).
 *   ops ops SEED STEPS PATH     canonical dump of the seeded sequence
 *   ops images MODEL SAMPLES N PATH   the image calls (insert files, classify, search by image)
 *   ops dump PATH               the canonical state of any database file (as `ffi_ops dump`)
 *   ops bench PATH              time per call: search (k = 10) on 1,000 codes, and stats
 */
#define _POSIX_C_SOURCE 200809L
#include "hamdb.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t state;
static uint64_t next_rand(void) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static void be32(uint32_t v, uint8_t *out) {
  out[0] = (uint8_t)(v >> 24);
  out[1] = (uint8_t)(v >> 16);
  out[2] = (uint8_t)(v >> 8);
  out[3] = (uint8_t)v;
}

static void dump_hits(int rc, hamdb_results *res) {
  if (rc != HAMDB_OK) {
    printf(" err %d\n", rc);
    return;
  }
  printf(" ok");
  size_t n = hamdb_results_len(res);
  for (size_t i = 0; i < n; i++) {
    hamdb_hit h;
    if (hamdb_results_get(res, i, &h) != HAMDB_OK) abort();
    printf(" %" PRIu64 ":%u:", h.id, h.distance);
    if (h.label == HAMDB_NO_LABEL)
      printf("-");
    else
      printf("%u", h.label);
    printf(":%.*s", (int)h.payload_len, h.payload ? (const char *)h.payload : "");
  }
  printf("\n");
  hamdb_results_free(res);
}

static void print_hex(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) printf("%02x", p[i]);
}

/* dump_hits with payloads in hex (a file written elsewhere may hold any bytes). */
static void dump_hits_hex(int rc, hamdb_results *res) {
  if (rc != HAMDB_OK) {
    printf(" err %d\n", rc);
    return;
  }
  printf(" ok");
  size_t n = hamdb_results_len(res);
  for (size_t i = 0; i < n; i++) {
    hamdb_hit h;
    if (hamdb_results_get(res, i, &h) != HAMDB_OK) abort();
    printf(" %" PRIu64 ":%u:", h.id, h.distance);
    if (h.label == HAMDB_NO_LABEL)
      printf("-");
    else
      printf("%u", h.label);
    printf(":");
    print_hex(h.payload, h.payload_len);
  }
  printf("\n");
  hamdb_results_free(res);
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* The canonical state of an open database (see `state` in ffi_ops.rs): stats, every live item
 * by id (found by a radius search reaching every code, read with get), seeded searches. */
static int state_dump(hamdb_db *db) {
  hamdb_stats s;
  if (hamdb_db_stats(db, &s) != HAMDB_OK) return 1;
  uint32_t bits = s.code_bits;
  size_t nbytes = bits / 8;
  printf("state bits=%u txn=%" PRIu64 " items=%" PRIu64 " segments=%" PRIu64
         " segment_items=%" PRIu64 " delta=%" PRIu64 " deleted=%" PRIu64 " file_bytes=%" PRIu64
         "\n",
         bits, s.txn, s.items, s.segments, s.segment_items, s.delta_items, s.deleted_in_segments,
         s.file_bytes);
  hamdb_snapshot *snap = NULL;
  if (hamdb_db_snapshot(db, &snap) != HAMDB_OK) return 1;
  uint8_t q[136];
  memset(q, 0, sizeof q);
  hamdb_results *res = NULL;
  if (hamdb_snapshot_search_radius(snap, q, nbytes, bits, HAMDB_ANY_CLASS, &res) != HAMDB_OK)
    return 1;
  size_t n = hamdb_results_len(res);
  uint64_t *ids = malloc((n ? n : 1) * sizeof *ids);
  for (size_t i = 0; i < n; i++) {
    hamdb_hit h;
    if (hamdb_results_get(res, i, &h) != HAMDB_OK) abort();
    ids[i] = h.id;
  }
  hamdb_results_free(res);
  qsort(ids, n, sizeof *ids, cmp_u64);
  printf("live %zu\n", n);
  for (size_t i = 0; i < n; i++) {
    hamdb_item *it = NULL;
    hamdb_item_fields f;
    if (hamdb_snapshot_get(snap, ids[i], &it) != HAMDB_OK || hamdb_item_view(it, &f) != HAMDB_OK)
      return 1;
    printf("item %" PRIu64 " ", f.id);
    if (f.label == HAMDB_NO_LABEL)
      printf("-");
    else
      printf("%u", f.label);
    printf(" ");
    print_hex(f.code, f.code_len);
    printf(" ");
    print_hex(f.payload, f.payload_len);
    printf("\n");
    hamdb_item_free(it);
  }
  free(ids);
  state = 0xd0d0;
  for (int k = 0; k < 32; k++) {
    for (size_t b = 0; b < nbytes; b += 8) {
      uint64_t v = next_rand();
      for (size_t j = 0; j < 8 && b + j < nbytes; j++) q[b + j] = (uint8_t)(v >> (56 - 8 * j));
    }
    uint64_t p = next_rand();
    uint32_t cls = HAMDB_ANY_CLASS;
    if (next_rand() % 3 == 0) cls = (uint32_t)(next_rand() % 4);
    char cbuf[16] = "*";
    if (cls != HAMDB_ANY_CLASS) snprintf(cbuf, sizeof cbuf, "%u", cls);
    if (k % 2 == 0) {
      size_t kk = (size_t)(p % 12);
      printf("knn ");
      print_hex(q, nbytes);
      printf(" %zu %s", kk, cbuf);
      int rc = hamdb_snapshot_search(snap, q, nbytes, kk, cls, &res);
      dump_hits_hex(rc, res);
    } else {
      uint32_t radius = (uint32_t)(p % (bits / 4 + 1));
      printf("radius ");
      print_hex(q, nbytes);
      printf(" %u %s", radius, cbuf);
      int rc = hamdb_snapshot_search_radius(snap, q, nbytes, radius, cls, &res);
      dump_hits_hex(rc, res);
    }
  }
  hamdb_snapshot_free(snap);
  return 0;
}

/* verify's report, then the state of the file opened read-only. */
static int dump(const char *path) {
  hamdb_verify_report v;
  hamdb_db *db = NULL;
  if (hamdb_verify(path, &v) != HAMDB_OK ||
      hamdb_db_open(path, HAMDB_OPEN_READ_ONLY, &db) != HAMDB_OK) {
    fprintf(stderr, "%s: %s\n", path, hamdb_last_error_message());
    return 1;
  }
  printf("verify txn=%" PRIu64 " segments=%" PRIu64 " items=%" PRIu64 " delta_batches=%" PRIu64
         "\n",
         v.txn, v.segments, v.items, v.delta_batches);
  int rc = state_dump(db);
  hamdb_db_free(db);
  return rc;
}

static int ops(uint64_t seed, uint64_t steps, const char *path) {
  unlink(path);
  hamdb_db *db = NULL;
  if (hamdb_db_create(path, 32, (const uint8_t *)"diff", 4, 0, &db) != HAMDB_OK) {
    fprintf(stderr, "create: %s\n", hamdb_last_error_message());
    return 1;
  }
  hamdb_batch *batch = NULL;
  hamdb_batch_new(&batch);
  state = seed;
  uint8_t code[4];
  char payload[32];
  for (uint64_t step = 0; step < steps; step++) {
    uint64_t r = next_rand() % 100;
    if (r < 50) {
      uint64_t id = next_rand() % 1000;
      uint32_t c = (uint32_t)next_rand();
      uint32_t l = (uint32_t)(next_rand() % 4);
      uint32_t label = l == 3 ? HAMDB_NO_LABEL : l;
      int n = snprintf(payload, sizeof payload, "i%" PRIu64, step);
      be32(c, code);
      if (r < 30)
        hamdb_batch_insert(batch, id, code, 4, label, (const uint8_t *)payload, (size_t)n);
      else if (r < 40)
        hamdb_batch_insert_auto(batch, code, 4, label, (const uint8_t *)payload, (size_t)n);
      else
        hamdb_batch_upsert(batch, id, code, 4, label, (const uint8_t *)payload, (size_t)n);
    } else if (r < 60) {
      hamdb_batch_delete(batch, next_rand() % 1000);
    } else if (r < 75) {
      hamdb_commit_info info;
      int rc = hamdb_db_commit(db, batch, &info);
      printf("commit %d", rc);
      if (rc == HAMDB_OK) {
        printf(" txn=%" PRIu64 " maint=%d", info.txn, info.maintenance_status);
        const uint64_t *ids = NULL;
        size_t nids = 0;
        hamdb_batch_assigned_ids(batch, &ids, &nids);
        for (size_t i = 0; i < nids; i++) printf(" %" PRIu64, ids[i]);
      }
      printf("\n");
      hamdb_batch_clear(batch); /* the Rust API consumes a batch even when its commit fails */
    } else if (r < 78) {
      printf("flush %d\n", hamdb_db_flush(db));
    } else if (r < 80) {
      printf("compact %d\n", hamdb_db_compact(db));
    } else {
      uint32_t q = (uint32_t)next_rand();
      uint64_t p = next_rand();
      uint32_t cls = HAMDB_ANY_CLASS;
      if (next_rand() % 3 == 0) cls = (uint32_t)(next_rand() % 4);
      hamdb_snapshot *snap = NULL;
      hamdb_db_snapshot(db, &snap);
      hamdb_results *res = NULL;
      be32(q, code);
      char cbuf[16] = "*";
      if (cls != HAMDB_ANY_CLASS) snprintf(cbuf, sizeof cbuf, "%u", cls);
      if (r < 92) {
        size_t k = (size_t)(p % 10);
        printf("knn %08x %zu %s", q, k, cbuf);
        int rc = hamdb_snapshot_search(snap, code, 4, k, cls, &res);
        dump_hits(rc, res);
      } else {
        uint32_t radius = (uint32_t)(p % 8);
        printf("radius %08x %u %s", q, radius, cbuf);
        int rc = hamdb_snapshot_search_radius(snap, code, 4, radius, cls, &res);
        dump_hits(rc, res);
      }
      hamdb_snapshot_free(snap);
    }
  }
  printf("final commit %d\n", hamdb_db_commit(db, batch, NULL));
  hamdb_stats s;
  hamdb_db_stats(db, &s);
  printf("stats items=%" PRIu64 " segments=%" PRIu64 " delta=%" PRIu64 " deleted=%" PRIu64
         " txn=%" PRIu64 "\n",
         s.items, s.segments, s.delta_items, s.deleted_in_segments, s.txn);
  printf("all");
  hamdb_results *res = NULL;
  memset(code, 0, 4);
  int rc = hamdb_db_search_radius(db, code, 4, 32, HAMDB_ANY_CLASS, &res);
  dump_hits(rc, res);
  rc = state_dump(db);
  hamdb_batch_free(batch);
  hamdb_db_free(db);
  return rc;
}

static uint8_t *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
  *len = fread(buf, 1, (size_t)n, f);
  fclose(f);
  return buf;
}

static int images(const char *model, const char *samples, int n, const char *path) {
  unlink(path);
  hamdb_encoder *enc = NULL;
  hamdb_db *db = NULL;
  if (hamdb_encoder_load(model, NULL, &enc) != HAMDB_OK ||
      hamdb_db_create_for_model(path, enc, 0, &db) != HAMDB_OK) {
    fprintf(stderr, "%s\n", hamdb_last_error_message());
    return 1;
  }
  char **paths = calloc((size_t)n + 1, sizeof *paths);
  for (int i = 0; i <= n; i++) {
    paths[i] = malloc(strlen(samples) + 32);
    if (i < n)
      sprintf(paths[i], "%s/images/%05d.png", samples, i);
    else
      sprintf(paths[i], "%s/images/missing.png", samples);
  }
  hamdb_ingest_report *rep = NULL;
  if (hamdb_db_insert_image_files(db, enc, (const char *const *)paths, (size_t)n + 1, NULL,
                                  &rep) != HAMDB_OK) {
    fprintf(stderr, "%s\n", hamdb_last_error_message());
    return 1;
  }
  hamdb_ingest_summary sum;
  hamdb_ingest_report_summary(rep, &sum);
  printf("inserted %" PRIu64 " txn %" PRIu64 "\n", sum.inserted, sum.txn);
  for (size_t i = 0; i < sum.count; i++) {
    hamdb_ingest_item it;
    hamdb_ingest_report_item(rep, i, &it);
    if (it.status == HAMDB_OK)
      printf("item %zu ok %" PRIu64 "\n", i, it.id);
    else
      printf("item %zu err %d\n", i, it.status);
  }
  hamdb_ingest_report_free(rep);
  size_t bits = 0;
  hamdb_encoder_code_bits(enc, &bits);
  uint8_t code[128];
  for (int q = 0; q < n; q += 3) {
    size_t len = 0;
    uint8_t *img = read_all(paths[q], &len);
    hamdb_prediction p;
    if (!img || hamdb_encoder_classify(enc, img, len, code, sizeof code, &p) != HAMDB_OK) return 1;
    uint32_t pbits;
    memcpy(&pbits, &p.probability, 4);
    printf("classify %d ", q);
    for (size_t b = 0; b < bits / 8; b++) printf("%02x", code[b]);
    printf(" %u %08x\n", p.class_id, pbits);
    uint32_t cls = q % 2 == 1 ? p.class_id : HAMDB_ANY_CLASS;
    hamdb_results *res = NULL;
    int rc = q % 4 == 0 ? hamdb_db_search_image_radius(db, enc, img, len, 3, cls, &res)
                        : hamdb_db_search_image(db, enc, img, len, 5, cls, &res);
    hamdb_prediction rp = {0, 0};
    if (rc == HAMDB_OK) hamdb_results_prediction(res, &rp);
    memcpy(&pbits, &rp.probability, 4);
    printf("query %d %u %08x", q, rp.class_id, pbits);
    dump_hits(rc, res);
    free(img);
  }
  for (int i = 0; i <= n; i++) free(paths[i]);
  free(paths);
  hamdb_db_free(db);
  hamdb_encoder_free(enc);
  return 0;
}

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int bench(const char *path) {
  unlink(path);
  hamdb_db *db = NULL;
  if (hamdb_db_create(path, 64, NULL, 0, 0, &db) != HAMDB_OK) return 1;
  hamdb_batch *b = NULL;
  hamdb_batch_new(&b);
  state = 1;
  char payload[32];
  for (uint64_t id = 0; id < 1000; id++) {
    uint64_t v = next_rand();
    uint8_t c[8];
    for (int i = 0; i < 8; i++) c[i] = (uint8_t)(v >> (56 - 8 * i));
    int n = snprintf(payload, sizeof payload, "p%" PRIu64, id);
    hamdb_batch_insert(b, id, c, 8, (uint32_t)(id % 10), (const uint8_t *)payload, (size_t)n);
  }
  if (hamdb_db_commit(db, b, NULL) != HAMDB_OK) return 1;
  static uint8_t queries[1024][8];
  for (int q = 0; q < 1024; q++) {
    uint64_t v = next_rand();
    for (int i = 0; i < 8; i++) queries[q][i] = (uint8_t)(v >> (56 - 8 * i));
  }
  const int iters = 200000;
  hamdb_neighbor nb[10];
  size_t n = 0;
  hamdb_stats st;
  for (int mode = 0; mode < 3; mode++) {
    for (int pass = 0; pass < 2; pass++) {
      int count = pass == 0 ? iters / 10 : iters;
      double t = now_ns();
      for (int i = 0; i < count; i++) {
        if (mode == 0) {
          hamdb_results *res = NULL;
          if (hamdb_db_search(db, queries[i % 1024], 8, 10, HAMDB_ANY_CLASS, &res)) return 1;
          hamdb_results_free(res);
        } else if (mode == 1) {
          if (hamdb_db_search_into(db, queries[i % 1024], 8, 10, HAMDB_ANY_CLASS, nb, 10, &n))
            return 1;
        } else {
          if (hamdb_db_stats(db, &st)) return 1;
        }
      }
      if (pass == 1)
        printf("c %s: %.0f ns/op\n",
               mode == 0 ? "search_k10" : mode == 1 ? "search_k10_into" : "stats",
               (now_ns() - t) / count);
    }
  }
  hamdb_batch_free(b);
  hamdb_db_free(db);
  unlink(path);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 5 && strcmp(argv[1], "ops") == 0)
    return ops(strtoull(argv[2], NULL, 10), strtoull(argv[3], NULL, 10), argv[4]);
  if (argc == 6 && strcmp(argv[1], "images") == 0)
    return images(argv[2], argv[3], atoi(argv[4]), argv[5]);
  if (argc == 3 && strcmp(argv[1], "dump") == 0) return dump(argv[2]);
  if (argc == 3 && strcmp(argv[1], "bench") == 0) return bench(argv[2]);
  fprintf(stderr,
          "usage: ops ops SEED STEPS PATH | ops images MODEL SAMPLES N PATH | ops dump PATH | "
          "ops bench PATH\n");
  return 2;
}
