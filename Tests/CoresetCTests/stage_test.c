/* A C program that embeds the coreset stage through coreset.h only, as another language would.
 * Built and run by CoresetCTests; exits 0 and prints "ok" only when every check holds. */
#include "coreset.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;
#define CHECK(cond, ...)                                                          \
    do {                                                                          \
        if (!(cond)) {                                                            \
            failures++;                                                           \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                         \
            fprintf(stderr, "\n");                                                \
        }                                                                         \
    } while (0)
#define OK(call) CHECK((call) == CORESET_OK, "%s", coreset_last_error())

/* A fixed pseudo-random sequence (xorshift), so the data are the same on every machine. */
static unsigned long long state = 88172645463325252ULL;
static double uniform(void) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return (double)(state >> 11) / 9007199254740992.0;
}
static double gaussian(void) {
    double u = uniform() + 1e-12, v = uniform();
    return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}

/* Checks a snapshot of `rows` pushed records: ids valid and distinct, per-class weights equal the
 * per-class input weights, each element is the row it names. */
static void check_coreset(coreset_snapshot *r, int64_t k, int64_t rows, int64_t cols, const double *x,
                          const double *labels, const double *weights, int classes) {
    int64_t n = coreset_snapshot_count(r);
    CHECK(n == k, "count %lld, k %lld", (long long)n, (long long)k);
    CHECK(coreset_snapshot_records(r) == rows, "records %lld", (long long)coreset_snapshot_records(r));
    int64_t *ids = malloc(sizeof(int64_t) * n);
    double *w = malloc(sizeof(double) * n);
    int32_t *cls = malloc(sizeof(int32_t) * n);
    char *seen = calloc(rows, 1);
    OK(coreset_snapshot_elements(r, ids, w, cls));
    double got[16] = {0}, want[16] = {0};
    for (int64_t i = 0; i < rows; i++) want[(int)labels[i]] += weights ? weights[i] : 1;
    for (int64_t i = 0; i < n; i++) {
        CHECK(ids[i] >= 0 && ids[i] < rows, "id %lld out of range", (long long)ids[i]);
        if (ids[i] < 0 || ids[i] >= rows) continue;
        CHECK(!seen[ids[i]], "id %lld twice", (long long)ids[i]);
        seen[ids[i]] = 1;
        CHECK(w[i] > 0, "weight %g", w[i]);
        CHECK(cls[i] == (int32_t)labels[ids[i]], "class %d of row %lld labelled %g", cls[i], (long long)ids[i], labels[ids[i]]);
        got[cls[i]] += w[i];
        double label;
        int64_t nnz;
        OK(coreset_snapshot_element(r, i, &label, &nnz));
        CHECK(label == labels[ids[i]], "element label %g", label);
        if (x) {
            CHECK(nnz == cols, "nnz %lld", (long long)nnz);
            uint32_t *fi = malloc(sizeof(uint32_t) * (nnz + 1));
            float *fv = malloc(sizeof(float) * (nnz + 1));
            OK(coreset_snapshot_element_features(r, i, fi, fv));
            for (int64_t j = 0; j < nnz && j < cols; j++)
                CHECK(fi[j] == j && fv[j] == (float)x[ids[i] * cols + j], "element %lld feature %lld", (long long)i, (long long)j);
            free(fi);
            free(fv);
        }
    }
    for (int c = 0; c < classes; c++)
        CHECK(fabs(got[c] - want[c]) <= 1e-9 * want[c], "class %d: weights %.12g, input weight %.12g", c, got[c], want[c]);
    free(ids);
    free(w);
    free(cls);
    free(seen);
}

/* Binary, dense, weighted: two Gaussian blobs; the stage learns. */
static void test_dense_binary(void) {
    enum { ROWS = 3000, COLS = 6, K = 60 };
    double *x = malloc(sizeof(double) * ROWS * COLS), y[ROWS], w[ROWS];
    for (int i = 0; i < ROWS; i++) {
        y[i] = uniform() < 0.3 ? 1 : 0;
        w[i] = 0.5 + uniform();
        for (int j = 0; j < COLS; j++) x[i * COLS + j] = gaussian() + (y[i] == 1 ? 1.5 : -0.5) * (j < 3);
    }
    coreset_stage *s = NULL;
    OK(coreset_stage_create("task=binary k=60 reference-size=200 warm-up=100 seed=3", &s));
    /* Pushed in three uneven parts: ids continue across pushes. */
    OK(coreset_stage_push_dense(s, x, 1000, COLS, y, w));
    OK(coreset_stage_push_dense(s, x + 1000 * COLS, 1, COLS, y + 1000, w + 1000));
    OK(coreset_stage_push_dense(s, x + 1001 * COLS, ROWS - 1001, COLS, y + 1001, w + 1001));
    OK(coreset_stage_finish(s));
    coreset_snapshot *r = NULL;
    OK(coreset_stage_snapshot(s, &r));
    check_coreset(r, K, ROWS, COLS, x, y, w, 2);

    CHECK(coreset_snapshot_has_model(r) == 1, "no model");
    int32_t outputs = 0, loss = -1;
    int64_t dim = 0;
    OK(coreset_snapshot_model_shape(r, &outputs, &dim, &loss));
    CHECK(outputs == 1 && loss == CORESET_LOSS_LOGISTIC && dim >= COLS, "shape %d %lld %d", outputs, (long long)dim, loss);
    double *wt = calloc(outputs * dim, sizeof(double)), bias = 0;
    OK(coreset_snapshot_model_parameters(r, wt, &bias));
    double *proba = malloc(sizeof(double) * ROWS * 2);
    OK(coreset_snapshot_predict_dense(r, CORESET_PREDICT_PROBA, x, ROWS, COLS, 2, proba));
    int correct = 0;
    double maxdiff = 0;
    for (int i = 0; i < ROWS; i++) {
        double z = bias;
        for (int j = 0; j < COLS; j++) z += wt[j] * x[i * COLS + j];
        double p = 1 / (1 + exp(-z));
        maxdiff = fmax(maxdiff, fabs(p - proba[i * 2 + 1]) + fabs(proba[i * 2] + proba[i * 2 + 1] - 1));
        correct += (proba[i * 2 + 1] > 0.5) == (y[i] == 1);
    }
    CHECK(maxdiff < 1e-12, "the parameters do not reproduce the probabilities: %g", maxdiff);
    CHECK(correct > 0.85 * ROWS, "accuracy %d / %d: the model learned nothing", correct, ROWS);
    double loss_now = coreset_snapshot_progressive_loss(r);
    CHECK(loss_now > 0 && loss_now < 0.6, "progressive loss %g", loss_now);

    /* Bad calls fail with a message and change nothing. */
    CHECK(coreset_stage_push_dense(s, x, 1, COLS, y, w) == CORESET_ERROR_STATE, "push after finish");
    CHECK(strstr(coreset_last_error(), "finished") != NULL, "message: %s", coreset_last_error());
    CHECK(coreset_snapshot_predict_dense(r, CORESET_PREDICT_PROBA, x, 1, COLS, 3, proba) == CORESET_ERROR_ARGUMENT, "3 columns");
    CHECK(coreset_snapshot_predict_dense(r, 7, x, 1, COLS, 2, proba) == CORESET_ERROR_ARGUMENT, "what");
    CHECK(coreset_snapshot_elements(NULL, NULL, NULL, NULL) == CORESET_ERROR_ARGUMENT, "NULL snapshot");
    CHECK(coreset_snapshot_count(NULL) == -1, "NULL count");
    CHECK(coreset_snapshot_element(r, K, NULL, NULL) == CORESET_ERROR_ARGUMENT, "element past the end");
    coreset_snapshot_free(r);
    coreset_stage_free(s);
    free(x);
    free(wt);
    free(proba);
}

/* Bad input to a fresh stage is refused whole, with a message naming the row. */
static void test_bad_input(void) {
    coreset_stage *s = NULL;
    CHECK(coreset_stage_create("task=binary", &s) == CORESET_ERROR_ARGUMENT && s == NULL, "no k");
    CHECK(strstr(coreset_last_error(), "k=") != NULL, "message: %s", coreset_last_error());
    CHECK(coreset_stage_create("task=binary k=10 colour=red", &s) == CORESET_ERROR_ARGUMENT, "unknown setting");
    CHECK(strstr(coreset_last_error(), "colour") != NULL, "message: %s", coreset_last_error());
    CHECK(coreset_stage_create("task=binary k=0", &s) == CORESET_ERROR_ARGUMENT, "k = 0");
    CHECK(coreset_stage_create("task=binary k=ten", &s) == CORESET_ERROR_ARGUMENT, "k = ten");
    CHECK(coreset_stage_create(NULL, &s) == CORESET_ERROR_ARGUMENT, "NULL configuration");
    CHECK(coreset_stage_create("task=binary k=5", NULL) == CORESET_ERROR_ARGUMENT, "NULL out");
    OK(coreset_stage_create("task=binary k=5 learn=0", &s));
    double x[6] = {1, 2, 3, 4, 5, 6}, y[3] = {0, 1, 0}, w[3] = {1, 1, 1};
    y[2] = 2;
    CHECK(coreset_stage_push_dense(s, x, 3, 2, y, NULL) == CORESET_ERROR_ARGUMENT, "label 2 in a binary stage");
    CHECK(strstr(coreset_last_error(), "row 2") != NULL, "message: %s", coreset_last_error());
    y[2] = 0;
    x[3] = NAN;
    CHECK(coreset_stage_push_dense(s, x, 3, 2, y, NULL) == CORESET_ERROR_ARGUMENT, "NaN feature");
    CHECK(strstr(coreset_last_error(), "x[1][1]") != NULL, "message: %s", coreset_last_error());
    x[3] = 4;
    w[1] = -1;
    CHECK(coreset_stage_push_dense(s, x, 3, 2, y, w) == CORESET_ERROR_ARGUMENT, "negative weight");
    CHECK(coreset_stage_push_dense(s, NULL, 3, 2, y, NULL) == CORESET_ERROR_ARGUMENT, "NULL x");
    CHECK(coreset_stage_push_dense(s, x, 3, 2, NULL, NULL) == CORESET_ERROR_ARGUMENT, "NULL labels");
    CHECK(coreset_stage_push_dense(s, x, -3, 2, y, NULL) == CORESET_ERROR_ARGUMENT, "negative rows");
    CHECK(coreset_stage_push_dense(NULL, x, 3, 2, y, NULL) == CORESET_ERROR_ARGUMENT, "NULL stage");
    CHECK(coreset_stage_push_dense(s, x, (int64_t)1 << 40, (int64_t)1 << 24, y, NULL) == CORESET_ERROR_ARGUMENT, "rows x cols overflow");
    CHECK(strstr(coreset_last_error(), "entries") != NULL, "message: %s", coreset_last_error());
    int64_t indptr[3] = {0, 2, 3}, idx[3] = {1, 0, 0};
    double vals[3] = {1, 1, 1};
    CHECK(coreset_stage_push_csr(s, indptr, idx, vals, 2, 4, y, NULL) == CORESET_ERROR_ARGUMENT, "unsorted CSR row");
    CHECK(strstr(coreset_last_error(), "row 0") != NULL, "message: %s", coreset_last_error());
    idx[1] = 9;
    CHECK(coreset_stage_push_csr(s, indptr, idx, vals, 2, 4, y, NULL) == CORESET_ERROR_ARGUMENT, "index past cols");
    coreset_snapshot *r = NULL;
    OK(coreset_stage_snapshot(s, &r));
    CHECK(coreset_snapshot_records(r) == 0, "a refused push took %lld records", (long long)coreset_snapshot_records(r));
    CHECK(coreset_snapshot_has_model(r) == 0, "learn=0 has a model");
    CHECK(coreset_snapshot_model_shape(r, NULL, NULL, NULL) == CORESET_ERROR_STATE, "model of learn=0");
    CHECK(isnan(coreset_snapshot_progressive_loss(r)), "loss without a learner");
    coreset_snapshot_free(r);
    coreset_stage_free(s);
    coreset_stage_free(NULL);
    coreset_snapshot_free(NULL);
}

/* Multiclass, CSR, no learner: 3 classes in sparse rows. */
static void test_csr_multiclass(void) {
    enum { ROWS = 1500, COLS = 40, K = 45 };
    int64_t *indptr = malloc(sizeof(int64_t) * (ROWS + 1)), *idx = malloc(sizeof(int64_t) * ROWS * COLS);
    double *vals = malloc(sizeof(double) * ROWS * COLS), y[ROWS];
    int64_t nnz = 0;
    indptr[0] = 0;
    for (int i = 0; i < ROWS; i++) {
        y[i] = (double)(i % 3 == 0 ? 0 : (uniform() < 0.7 ? 1 : 2));
        for (int j = 0; j < COLS; j++) {
            if (uniform() < 0.2 || j == (int)y[i]) {
                idx[nnz] = j;
                vals[nnz] = j == (int)y[i] ? 2 + gaussian() : gaussian();
                nnz++;
            }
        }
        indptr[i + 1] = nnz;
    }
    coreset_stage *s = NULL;
    OK(coreset_stage_create("task=multiclass,k=45,learn=0,space=feature,reference-size=100,warm-up=50", &s));
    OK(coreset_stage_push_csr(s, indptr, idx, vals, ROWS, COLS, y, NULL));
    OK(coreset_stage_finish(s));
    coreset_snapshot *r = NULL;
    OK(coreset_stage_snapshot(s, &r));
    check_coreset(r, K, ROWS, COLS, NULL, y, NULL, 3);
    /* An element's features are its row's. */
    int64_t ids[K];
    OK(coreset_snapshot_elements(r, ids, NULL, NULL));
    for (int i = 0; i < K; i++) {
        int64_t n_el = -1;
        OK(coreset_snapshot_element(r, i, NULL, &n_el));
        CHECK(n_el == indptr[ids[i] + 1] - indptr[ids[i]], "nnz %lld of row %lld", (long long)n_el, (long long)ids[i]);
    }
    coreset_snapshot_free(r);
    coreset_stage_free(s);
    free(indptr);
    free(idx);
    free(vals);
}

/* LIBSVM text cut mid-line, with one bad line (skipped, then fatal with strict=1). */
static void test_text(void) {
    const char *text = "1 1:0.5 3:1\n-1 2:1\n1 1:0.25 2:0.5\nnot a record\n-1 3:0.75\n1 1:1";
    size_t len = strlen(text);
    coreset_stage *s = NULL;
    OK(coreset_stage_create("task=binary k=2 warm-up=2", &s));
    for (size_t at = 0; at < len; at += 7) OK(coreset_stage_push_text(s, text + at, len - at < 7 ? len - at : 7));
    OK(coreset_stage_finish(s));
    coreset_snapshot *r = NULL;
    OK(coreset_stage_snapshot(s, &r));
    CHECK(coreset_snapshot_records(r) == 5 && coreset_snapshot_skipped(r) == 1, "records %lld skipped %lld",
          (long long)coreset_snapshot_records(r), (long long)coreset_snapshot_skipped(r));
    double labels[5] = {1, 0, 1, 0, 1};
    check_coreset(r, 2, 5, 0, NULL, labels, NULL, 2);
    coreset_snapshot_free(r);
    coreset_stage_free(s);

    OK(coreset_stage_create("task=binary k=2 warm-up=2 strict=1", &s));
    CHECK(coreset_stage_push_text(s, text, len) == CORESET_ERROR_DATA, "strict bad line");
    CHECK(strstr(coreset_last_error(), ":4:") != NULL, "message names line 4: %s", coreset_last_error());
    coreset_stage_free(s);
}

int main(void) {
    CHECK(strcmp(coreset_version(), "1") == 0, "version %s", coreset_version());
    test_dense_binary();
    test_bad_input();
    test_csr_multiclass();
    test_text();
    if (failures) {
        fprintf(stderr, "%d checks failed\n", failures);
        return 1;
    }
    printf("ok\n");
    return 0;
}
