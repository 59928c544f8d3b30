/*
 * C tests of the image calls of the hamdb C ABI, with the real ONNX Runtime, a shipped model
 * and the shipped sample images: load an encoder, classify (codes and classes equal the
 * reference pipeline's), create a database for the model, insert image files and bytes with
 * per-item statuses, search by image (k-NN, radius, class filter, predicted class), misuse
 * (NULLs, wrong model, code-only database, undecodable images, too-small buffers), and an
 * ingestion stopped by a write error (the file-size limit), whose message says what committed.
 *
 *   test_images MODEL_48 MODEL_16 SAMPLES_DIR     (ORT_DYLIB_PATH names libonnxruntime.so)
 */
#define _GNU_SOURCE
#include "hamdb.h"

#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static int failures = 0, checks = 0;

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
#define NIMG 60

static uint8_t *read_file(const char *path, size_t *len) {
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

typedef struct {
  char path[512];
  char hex[64];
  uint32_t label;
} expected;
static expected exp_[NIMG];

static int load_expected(const char *samples) {
  char p[600];
  snprintf(p, sizeof p, "%s/expected_codes_48.csv", samples);
  FILE *f = fopen(p, "r");
  if (!f) return -1;
  char line[512];
  if (!fgets(line, sizeof line, f)) return -1; /* header */
  for (int i = 0; i < NIMG; i++) {
    char file[256];
    if (!fgets(line, sizeof line, f) ||
        sscanf(line, "%255[^,],%63[^,],%u", file, exp_[i].hex, &exp_[i].label) != 3) {
      fclose(f);
      return -1;
    }
    snprintf(exp_[i].path, sizeof exp_[i].path, "%s/%s", samples, file);
  }
  fclose(f);
  return 0;
}

static void to_hex(const uint8_t *b, size_t n, char *out) {
  for (size_t i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", b[i]);
  out[2 * n] = 0;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: test_images MODEL_48 MODEL_16 SAMPLES_DIR\n");
    return 2;
  }
  const char *model = argv[1], *model16 = argv[2], *samples = argv[3];
  if (load_expected(samples) != 0) {
    fprintf(stderr, "cannot read %s/expected_codes_48.csv\n", samples);
    return 2;
  }
  char dir[256];
  const char *tmp = getenv("TMPDIR");
  snprintf(dir, sizeof dir, "%s/hamdb-img-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(dir)) return 2;
  char dbpath[400], codepath[400], junkpath[400];
  snprintf(dbpath, sizeof dbpath, "%s/images.hamdb", dir);
  snprintf(codepath, sizeof codepath, "%s/codes.hamdb", dir);
  snprintf(junkpath, sizeof junkpath, "%s/junk.png", dir);

  /* ---- encoder ---- */
  hamdb_encoder *enc = (hamdb_encoder *)0x5a5a;
  EXPECT(hamdb_encoder_load(NULL, NULL, &enc), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_encoder_load(model, NULL, NULL), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_encoder_load("/no/such/model.onnx", NULL, &enc), HAMDB_IO);
  char csv[600];
  snprintf(csv, sizeof csv, "%s/labels.csv", samples);
  EXPECT(hamdb_encoder_load(csv, NULL, &enc), HAMDB_MODEL_CONTRACT); /* not an ONNX model */
  CHECK(enc == (hamdb_encoder *)0x5a5a);
  hamdb_encoder_options eo = {0};
  eo.intra_threads = 1;
  OK(hamdb_encoder_load(model, &eo, &enc));
  size_t bits = 0, nclasses = 0;
  OK(hamdb_encoder_code_bits(enc, &bits));
  CHECK(bits == 48);
  OK(hamdb_encoder_num_classes(enc, &nclasses));
  CHECK(nclasses == 10);
  const char *name = NULL;
  OK(hamdb_encoder_class_name(enc, 0, &name));
  CHECK(name != NULL && strlen(name) > 0);
  EXPECT(hamdb_encoder_class_name(enc, 10, &name), HAMDB_NOT_FOUND);
  EXPECT(hamdb_encoder_code_bits(NULL, &bits), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_encoder_num_classes(enc, NULL), HAMDB_NULL_ARGUMENT);
  hamdb_encoder *enc16 = NULL;
  OK(hamdb_encoder_load(model16, NULL, &enc16));

  /* ---- classify: the same codes and classes as the reference pipeline ---- */
  uint8_t *img[NIMG];
  size_t img_len[NIMG];
  for (int i = 0; i < NIMG; i++) {
    img[i] = read_file(exp_[i].path, &img_len[i]);
    CHECK(img[i] != NULL);
    if (!img[i]) return 1;
  }
  for (int i = 0; i < NIMG; i++) {
    uint8_t code[6];
    char hex[16];
    hamdb_prediction pr = {0};
    OK(hamdb_encoder_classify(enc, img[i], img_len[i], code, sizeof code, &pr));
    to_hex(code, 6, hex);
    CHECK(strcmp(hex, exp_[i].hex) == 0);
    CHECK(pr.class_id == exp_[i].label);
    CHECK(pr.probability > 0.0f && pr.probability <= 1.0f);
  }
  hamdb_prediction pr = {99, 0};
  uint8_t small[5];
  EXPECT(hamdb_encoder_classify(enc, img[0], img_len[0], small, sizeof small, &pr),
         HAMDB_BUFFER_TOO_SMALL);
  OK(hamdb_encoder_classify(enc, img[0], img_len[0], NULL, 0, &pr)); /* class only */
  CHECK(pr.class_id == exp_[0].label);
  pr.class_id = 99;
  EXPECT(hamdb_encoder_classify(enc, (const uint8_t *)"not an image", 12, NULL, 0, &pr),
         HAMDB_IMAGE);
  EXPECT(hamdb_encoder_classify(enc, NULL, 0, NULL, 0, &pr), HAMDB_IMAGE);
  EXPECT(hamdb_encoder_classify(enc, img[0], img_len[0] / 2, NULL, 0, &pr), HAMDB_IMAGE);
  EXPECT(hamdb_encoder_classify(enc, NULL, 5, NULL, 0, &pr), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_encoder_classify(NULL, img[0], img_len[0], NULL, 0, &pr), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_encoder_classify(enc, img[0], img_len[0], NULL, 0, NULL), HAMDB_NULL_ARGUMENT);
  CHECK(pr.class_id == 99);

  /* ---- a database for the model; image inserts with per-item status ---- */
  hamdb_db *db = NULL;
  EXPECT(hamdb_db_create_for_model(dbpath, NULL, 0, &db), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_db_create_for_model(dbpath, enc, HAMDB_OPEN_READ_ONLY, &db),
         HAMDB_INVALID_PARAMETER);
  OK(hamdb_db_create_for_model(dbpath, enc, 0, &db));
  OK(hamdb_db_code_bits(db, &bits));
  CHECK(bits == 48);
  FILE *jf = fopen(junkpath, "wb");
  fputs("garbage, not a png", jf);
  fclose(jf);
  const char *paths[NIMG / 2 + 2];
  for (int i = 0; i < NIMG / 2; i++) paths[i] = exp_[i].path;
  paths[NIMG / 2] = "/no/such/image.png";
  paths[NIMG / 2 + 1] = junkpath;
  size_t npaths = NIMG / 2 + 2;
  hamdb_ingest_report *rep = NULL;
  hamdb_ingest_options io = {8, 2, 16}; /* small batches and commits: more code paths */
  EXPECT(hamdb_db_insert_image_files(db, enc16, paths, npaths, &io, &rep),
         HAMDB_ENCODER_MISMATCH);
  EXPECT(hamdb_db_insert_image_files(db, enc, NULL, 3, &io, &rep), HAMDB_NULL_ARGUMENT);
  CHECK(rep == NULL);
  OK(hamdb_db_insert_image_files(db, enc, paths, npaths, &io, &rep));
  CHECK(hamdb_ingest_report_len(rep) == npaths);
  hamdb_ingest_summary sum;
  OK(hamdb_ingest_report_summary(rep, &sum));
  CHECK(sum.count == npaths && sum.inserted == NIMG / 2 && sum.failed == 2 && sum.txn > 0);
  uint64_t ids[NIMG];
  for (size_t i = 0; i < npaths; i++) {
    hamdb_ingest_item it;
    OK(hamdb_ingest_report_item(rep, i, &it));
    if (i < NIMG / 2) {
      CHECK(it.status == HAMDB_OK && it.message == NULL);
      CHECK(i == 0 || it.id == ids[i - 1] + 1); /* ids follow input order */
      ids[i] = it.id;
    } else if (i == NIMG / 2) {
      CHECK(it.status == HAMDB_IO && it.message != NULL);
      CHECK(it.id == HAMDB_NO_ID); /* not 0, a real id */
    } else {
      CHECK(it.status == HAMDB_IMAGE && it.message != NULL && strlen(it.message) > 0);
      CHECK(it.id == HAMDB_NO_ID);
    }
  }
  hamdb_ingest_item it;
  EXPECT(hamdb_ingest_report_item(rep, npaths, &it), HAMDB_NOT_FOUND);
  EXPECT(hamdb_ingest_report_item(rep, 0, NULL), HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_ingest_report_summary(NULL, &sum), HAMDB_NULL_ARGUMENT);
  CHECK(hamdb_ingest_report_len(NULL) == 0);
  hamdb_ingest_report_free(rep);
  hamdb_ingest_report_free(NULL);

  /* bytes with payloads */
  const uint8_t *imgs[NIMG / 2];
  const uint8_t *pls[NIMG / 2];
  size_t pl_lens[NIMG / 2];
  char plbuf[NIMG / 2][24];
  for (int i = 0; i < NIMG / 2; i++) {
    imgs[i] = img[NIMG / 2 + i];
    snprintf(plbuf[i], sizeof plbuf[i], "bytes-%d", i);
    pls[i] = (const uint8_t *)plbuf[i];
    pl_lens[i] = strlen(plbuf[i]);
  }
  OK(hamdb_db_insert_images(db, enc, imgs, img_len + NIMG / 2, pls, pl_lens, NIMG / 2, NULL,
                            &rep));
  OK(hamdb_ingest_report_summary(rep, &sum));
  CHECK(sum.inserted == NIMG / 2 && sum.failed == 0);
  for (int i = 0; i < NIMG / 2; i++) {
    OK(hamdb_ingest_report_item(rep, (size_t)i, &it));
    ids[NIMG / 2 + i] = it.id;
  }
  hamdb_ingest_report_free(rep);
  EXPECT(hamdb_db_insert_images(db, enc, NULL, NULL, NULL, NULL, 2, NULL, &rep),
         HAMDB_NULL_ARGUMENT);
  OK(hamdb_db_insert_images(db, enc, NULL, NULL, NULL, NULL, 0, NULL, &rep)); /* nothing */
  OK(hamdb_ingest_report_summary(rep, &sum));
  CHECK(sum.count == 0 && sum.inserted == 0);
  hamdb_ingest_report_free(rep);

  /* stored items: label = predicted class, payload = path or the caller's bytes */
  hamdb_item *item = NULL;
  hamdb_item_fields f;
  OK(hamdb_db_get(db, ids[3], &item));
  OK(hamdb_item_view(item, &f));
  CHECK(f.label == exp_[3].label && f.payload_len == strlen(exp_[3].path) &&
        memcmp(f.payload, exp_[3].path, f.payload_len) == 0);
  hamdb_item_free(item);
  OK(hamdb_db_get(db, ids[NIMG / 2 + 1], &item));
  OK(hamdb_item_view(item, &f));
  CHECK(f.payload_len == 7 && memcmp(f.payload, "bytes-1", 7) == 0);
  hamdb_item_free(item);

  /* ---- search by image ---- */
  for (int q = 0; q < NIMG; q += 7) {
    hamdb_results *res = NULL;
    OK(hamdb_db_search_image(db, enc, img[q], img_len[q], 5, HAMDB_ANY_CLASS, &res));
    CHECK(hamdb_results_len(res) == 5);
    hamdb_hit h;
    OK(hamdb_results_get(res, 0, &h));
    CHECK(h.distance == 0);
    hamdb_prediction p;
    OK(hamdb_results_prediction(res, &p));
    CHECK(p.class_id == exp_[q].label);
    hamdb_results_free(res);

    OK(hamdb_db_search_image(db, enc, img[q], img_len[q], 10, exp_[q].label, &res));
    for (size_t i = 0; i < hamdb_results_len(res); i++) {
      OK(hamdb_results_get(res, i, &h));
      CHECK(h.label == exp_[q].label);
    }
    hamdb_results_free(res);

    OK(hamdb_db_search_image_radius(db, enc, img[q], img_len[q], 0, HAMDB_ANY_CLASS, &res));
    int self = 0;
    for (size_t i = 0; i < hamdb_results_len(res); i++) {
      OK(hamdb_results_get(res, i, &h));
      CHECK(h.distance == 0);
      self |= h.id == ids[q];
    }
    CHECK(self);
    hamdb_results_free(res);
  }
  /* ---- ranked search by image: against the plain searches ---- */
  for (int q = 0; q < NIMG; q += 5) {
    hamdb_results *ranked = NULL, *plain = NULL, *own = NULL, *all = NULL;
    hamdb_prediction p;
    hamdb_hit h, w;
    OK(hamdb_db_search_image_ranked(db, enc, img[q], img_len[q], 7, HAMDB_ANY_CLASS,
                                    HAMDB_RANK_DISTANCE, &ranked));
    OK(hamdb_db_search_image(db, enc, img[q], img_len[q], 7, HAMDB_ANY_CLASS, &plain));
    CHECK(hamdb_results_len(ranked) == hamdb_results_len(plain));
    for (size_t i = 0; i < hamdb_results_len(ranked); i++) {
      OK(hamdb_results_get(ranked, i, &h));
      OK(hamdb_results_get(plain, i, &w));
      CHECK(h.id == w.id && h.distance == w.distance);
    }
    hamdb_results_free(ranked);
    hamdb_results_free(plain);

    /* class first: the predicted class's nearest, then the nearest others */
    OK(hamdb_db_search_image_ranked(db, enc, img[q], img_len[q], 7, HAMDB_ANY_CLASS,
                                    HAMDB_RANK_CLASS_FIRST, &ranked));
    OK(hamdb_results_prediction(ranked, &p));
    CHECK(p.class_id == exp_[q].label);
    OK(hamdb_db_search_image(db, enc, img[q], img_len[q], 7, p.class_id, &own));
    OK(hamdb_db_search_image(db, enc, img[q], img_len[q], NIMG, HAMDB_ANY_CLASS, &all));
    size_t n = hamdb_results_len(ranked), i = 0;
    CHECK(n == (NIMG < 7 ? NIMG : 7));
    for (size_t j = 0; j < hamdb_results_len(own) && i < n; j++, i++) {
      OK(hamdb_results_get(ranked, i, &h));
      OK(hamdb_results_get(own, j, &w));
      CHECK(h.id == w.id && h.distance == w.distance && h.label == p.class_id);
    }
    for (size_t j = 0; j < hamdb_results_len(all) && i < n; j++) {
      OK(hamdb_results_get(all, j, &w));
      if (w.label == p.class_id) continue;
      OK(hamdb_results_get(ranked, i, &h));
      CHECK(h.id == w.id && h.distance == w.distance);
      i++;
    }
    CHECK(i == n);
    hamdb_results_free(ranked);
    hamdb_results_free(own);

    /* radius, class first: every item within it, the predicted class's first, each group by
       (distance, id) */
    OK(hamdb_db_search_image_radius_ranked(db, enc, img[q], img_len[q], 12, HAMDB_ANY_CLASS,
                                           HAMDB_RANK_CLASS_FIRST, &ranked));
    OK(hamdb_db_search_image_radius(db, enc, img[q], img_len[q], 12, HAMDB_ANY_CLASS, &plain));
    CHECK(hamdb_results_len(ranked) == hamdb_results_len(plain));
    i = 0;
    for (int pass = 0; pass < 2; pass++)
      for (size_t j = 0; j < hamdb_results_len(plain); j++) {
        OK(hamdb_results_get(plain, j, &w));
        if ((w.label == p.class_id) != (pass == 0)) continue;
        OK(hamdb_results_get(ranked, i, &h));
        CHECK(h.id == w.id && h.distance == w.distance);
        i++;
      }
    CHECK(i == hamdb_results_len(ranked));
    hamdb_results_free(ranked);
    hamdb_results_free(plain);

    /* with a class filter, the filter decides */
    uint32_t other = (p.class_id + 1) % 10;
    OK(hamdb_db_search_image_ranked(db, enc, img[q], img_len[q], 4, other,
                                    HAMDB_RANK_CLASS_FIRST, &ranked));
    OK(hamdb_db_search_image(db, enc, img[q], img_len[q], 4, other, &plain));
    CHECK(hamdb_results_len(ranked) == hamdb_results_len(plain));
    for (size_t j = 0; j < hamdb_results_len(ranked); j++) {
      OK(hamdb_results_get(ranked, j, &h));
      OK(hamdb_results_get(plain, j, &w));
      CHECK(h.id == w.id && h.label == other);
    }
    hamdb_results_free(ranked);
    hamdb_results_free(plain);
    hamdb_results_free(all);
  }
  hamdb_results *res = (hamdb_results *)0x5a5a;
  EXPECT(hamdb_db_search_image_ranked(db, enc, img[0], img_len[0], 5, HAMDB_ANY_CLASS, 2, &res),
         HAMDB_INVALID_PARAMETER);
  EXPECT(hamdb_db_search_image_radius_ranked(db, enc, img[0], img_len[0], 5, HAMDB_ANY_CLASS,
                                             UINT32_MAX, &res),
         HAMDB_INVALID_PARAMETER);
  EXPECT(hamdb_db_search_image_ranked(db, NULL, img[0], img_len[0], 5, HAMDB_ANY_CLASS,
                                      HAMDB_RANK_CLASS_FIRST, &res),
         HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_db_search_image_radius_ranked(NULL, enc, img[0], img_len[0], 5, HAMDB_ANY_CLASS,
                                             HAMDB_RANK_DISTANCE, &res),
         HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_db_search_image_ranked(db, enc, img[0], img_len[0], 5, HAMDB_ANY_CLASS,
                                      HAMDB_RANK_DISTANCE, NULL),
         HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_db_search_image_ranked(db, enc, (const uint8_t *)"xx", 2, 5, HAMDB_ANY_CLASS,
                                      HAMDB_RANK_CLASS_FIRST, &res),
         HAMDB_IMAGE);
  EXPECT(hamdb_db_search_image_ranked(db, enc16, img[0], img_len[0], 5, HAMDB_ANY_CLASS,
                                      HAMDB_RANK_CLASS_FIRST, &res),
         HAMDB_ENCODER_MISMATCH);
  CHECK(res == (hamdb_results *)0x5a5a);
  EXPECT(hamdb_db_search_image(db, enc, (const uint8_t *)"xx", 2, 5, HAMDB_ANY_CLASS, &res),
         HAMDB_IMAGE);
  EXPECT(hamdb_db_search_image(db, enc16, img[0], img_len[0], 5, HAMDB_ANY_CLASS, &res),
         HAMDB_ENCODER_MISMATCH);
  EXPECT(hamdb_db_search_image(db, NULL, img[0], img_len[0], 5, HAMDB_ANY_CLASS, &res),
         HAMDB_NULL_ARGUMENT);
  EXPECT(hamdb_db_search_image_radius(NULL, enc, img[0], img_len[0], 5, HAMDB_ANY_CLASS, &res),
         HAMDB_NULL_ARGUMENT);
  CHECK(res == (hamdb_results *)0x5a5a);
  /* a search by code has no prediction */
  uint8_t code[6] = {0};
  OK(hamdb_db_search(db, code, 6, 3, HAMDB_ANY_CLASS, &res));
  hamdb_prediction p = {7, 0};
  EXPECT(hamdb_results_prediction(res, &p), HAMDB_NOT_FOUND);
  CHECK(p.class_id == 7);
  EXPECT(hamdb_results_prediction(res, NULL), HAMDB_NULL_ARGUMENT);
  hamdb_results_free(res);

  /* A write error part-way: RLIMIT_FSIZE with SIGXFSZ ignored makes writes fail with EFBIG.
   * The call fails with HAMDB_IO, writes no report, and its message says how many images the
   * commits before the error made durable; the database holds exactly those. */
  {
    char fullpath[400];
    snprintf(fullpath, sizeof fullpath, "%s/full.hamdb", dir);
    hamdb_db *fdb = NULL;
    OK(hamdb_db_create_for_model(fullpath, enc, 0, &fdb));
    struct stat st;
    CHECK(stat(fullpath, &st) == 0);
    const char *fpaths[NIMG];
    for (int i = 0; i < NIMG; i++) fpaths[i] = exp_[i].path;
    hamdb_ingest_options fio = {8, 2, 10};
    struct rlimit saved, lim;
    CHECK(getrlimit(RLIMIT_FSIZE, &saved) == 0);
    lim = saved;
    lim.rlim_cur = (rlim_t)st.st_size + 1500; /* a few commits of 10, not all 60 images */
    signal(SIGXFSZ, SIG_IGN);
    CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    hamdb_ingest_report *frep = (hamdb_ingest_report *)0x5a5a;
    int rc = hamdb_db_insert_image_files(fdb, enc, fpaths, NIMG, &fio, &frep);
    CHECK(setrlimit(RLIMIT_FSIZE, &saved) == 0);
    signal(SIGXFSZ, SIG_DFL);
    CHECK(rc == HAMDB_IO);
    CHECK(frep == (hamdb_ingest_report *)0x5a5a);
    const char *msg = hamdb_last_error_message();
    const char *at = strstr(msg, " images were committed");
    unsigned long committed = 0;
    if (at) {
      const char *d = at;
      while (d > msg && isdigit((unsigned char)d[-1])) d--;
      committed = strtoul(d, NULL, 10);
    }
    if (!at || committed == 0 || committed >= NIMG || committed % 10 != 0)
      fprintf(stderr, "write-error message: %s\n", msg);
    CHECK(committed > 0 && committed < NIMG && committed % 10 == 0);
    hamdb_db_free(fdb);
    hamdb_db *rdb = NULL;
    OK(hamdb_db_open(fullpath, HAMDB_OPEN_READ_ONLY, &rdb));
    hamdb_stats stt;
    OK(hamdb_db_stats(rdb, &stt));
    CHECK(stt.items == committed);
    hamdb_db_free(rdb);
    hamdb_verify_report vr;
    OK(hamdb_verify(fullpath, &vr));
    unlink(fullpath);
  }

  /* a code-only database has no model */
  hamdb_db *cdb = NULL;
  OK(hamdb_db_create(codepath, 48, NULL, 0, 0, &cdb));
  EXPECT(hamdb_db_search_image(cdb, enc, img[0], img_len[0], 5, HAMDB_ANY_CLASS, &res),
         HAMDB_NO_ENCODER);
  EXPECT(hamdb_db_insert_image_files(cdb, enc, paths, 2, NULL, &rep), HAMDB_NO_ENCODER);
  hamdb_db_free(cdb);

  /* read-only and closed handles */
  hamdb_db *ro = NULL;
  OK(hamdb_db_open(dbpath, HAMDB_OPEN_READ_ONLY, &ro));
  OK(hamdb_db_search_image(ro, enc, img[1], img_len[1], 3, HAMDB_ANY_CLASS, &res));
  hamdb_results_free(res);
  EXPECT(hamdb_db_insert_image_files(ro, enc, paths, 2, NULL, &rep), HAMDB_READ_ONLY);
  OK(hamdb_db_close(ro));
  EXPECT(hamdb_db_search_image(ro, enc, img[1], img_len[1], 3, HAMDB_ANY_CLASS, &res),
         HAMDB_CLOSED);
  hamdb_db_free(ro);

  hamdb_db_free(db);
  hamdb_encoder_free(enc);
  hamdb_encoder_free(enc16);
  hamdb_encoder_free(NULL);
  for (int i = 0; i < NIMG; i++) free(img[i]);
  unlink(dbpath);
  unlink(codepath);
  unlink(junkpath);
  rmdir(dir);
  if (failures) {
    fprintf(stderr, "test_images: %d of %d checks FAILED\n", failures, checks);
    return 1;
  }
  printf("test_images: all %d checks passed\n", checks);
  return 0;
}
