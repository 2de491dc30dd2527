/*
 * coreset.h: the C interface of the coreset engine (libCoresetC.so, `swift build --product CoresetC`).
 *
 * A stage is the library's streaming stage (CoresetKit's CoresetStage): push records or chunks of
 * text in, read the weighted coreset and the online learner's model out. It is what
 * `coreset run --sync` does, inside the caller's process: no process is spawned per call.
 *
 *   coreset_stage *s;
 *   if (coreset_stage_create("task=binary k=100", &s) != CORESET_OK) fail(coreset_last_error());
 *   coreset_stage_push_dense(s, x, rows, cols, labels, NULL);    // any number of pushes
 *   coreset_stage_finish(s);                                     // optional: the end of the stream
 *   coreset_snapshot *r;
 *   coreset_stage_snapshot(s, &r);
 *   int64_t n = coreset_snapshot_count(r);                       // then read ids, weights, model
 *   coreset_snapshot_free(r);
 *   coreset_stage_free(s);
 *
 * Rules:
 * - Every function that can fail returns CORESET_OK (0) or an error code, and then
 *   coreset_last_error() describes the failure (per thread). Bad input never aborts the process:
 *   null pointers, sizes, non-finite numbers and labels outside the task are checked.
 * - Element ids are the 0-based positions of the records among all records the stage accepted, in
 *   push order (a skipped bad text line takes no position), so after pushing a matrix row by row
 *   an id is a row index.
 * - Features are read as 32-bit floats (as the engine stores them); the model's parameters and
 *   predictions are doubles.
 * - A handle may be used by one thread at a time. Snapshots are immutable: read them from anywhere.
 */
#ifndef CORESET_H
#define CORESET_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CORESET_OK 0
/* A bad argument: null pointer, size, non-finite number, label outside the task, unknown setting. */
#define CORESET_ERROR_ARGUMENT 1
/* A bad line of pushed text while `strict=1` (the records before it were taken). */
#define CORESET_ERROR_DATA 2
/* Push after coreset_stage_finish, or a model asked of a stage that does not learn. */
#define CORESET_ERROR_STATE 3

/* Loss of the model (coreset_snapshot_model_shape). */
#define CORESET_LOSS_LOGISTIC 0 /* binary: P(class 1) = sigmoid(w.x + b) */
#define CORESET_LOSS_SOFTMAX 1  /* multiclass: P = softmax(W x + b) */
#define CORESET_LOSS_SQUARED 2  /* regression: w.x + b */
#define CORESET_LOSS_HINGE 3
/* Further losses (e.g. huber, squared-hinge) take the next codes in the order of Loss.registered
   (Sources/CoresetKit/Learning/Loss.swift); the stage itself learns with its task's default loss. */

/* What coreset_snapshot_predict_* writes per row. */
#define CORESET_PREDICT_DECISION 0 /* the linear outputs W x + b (`outputs` columns, see model_shape) */
#define CORESET_PREDICT_PROBA 1    /* class probabilities (`classes` columns; logistic or softmax only) */

typedef struct coreset_stage coreset_stage;
typedef struct coreset_snapshot coreset_snapshot;

/* Why the last failing call on this thread failed ("" if none). Valid until the next failing call. */
const char *coreset_last_error(void);
/* The library's interface version, "1". */
const char *coreset_version(void);

/*
 * Creates a stage from a configuration: `key=value` settings separated by spaces, commas or newlines.
 *   task=binary|multiclass|regression (required)   k=N (required)
 *   learn=0|1 (default 1: online + replay learner, gradient-space distances once it has a model)
 *   algorithm=sample-greedy|sieve|sieve++|three-sieves|greedy  epsilon=  patience=  similarity=euclidean|cosine|rbf
 *   gamma=  saturation=  space=feature|gradient  per-class=proportional|equal  reference-size=
 *   reference-factor=  warm-up=  window=  half-life=  reselect-threshold=  reselect-spacing=  seed=
 *   shards=  weighting=nearest|gradient-match  candidate-factor=  cell-size=  representatives=medoids|sampled
 *   replay-steps=  snapshot-every=  model-update-every=  replay-weight=  l2=  learner-seed=
 *   eta0= (the learner's first step; the schedule is eta0 / sqrt(1 + t/1000))
 *   format=libsvm|csv|jsonl|vw|text  strict=0|1  zero-based=0|1  hash-bits=  max-dimension=
 * The selector's names and defaults are those of `coreset select` (see `coreset select --help`); the
 * stage's (replay steps 1 per record, snapshot every 1000 records, model to the selector every 2000,
 * replay weight 0.1) are CoresetStageConfiguration's, as `coreset run --sync`. With learn=0 the
 * stage takes no periodic snapshots (each costs a coreset read-out; read one with coreset_stage_snapshot).
 */
int coreset_stage_create(const char *configuration, coreset_stage **out);
/* Frees a stage (NULL is ignored). Snapshots taken from it stay valid. */
void coreset_stage_free(coreset_stage *stage);

/*
 * Pushes `rows` records given as a row-major dense matrix x[rows * cols] (every entry is kept, zeros
 * included), with labels[rows] (class ids 0..K-1, binary 0 or 1; the target for regression) and
 * optional weights[rows] (importance weights >= 0; NULL means 1). Nothing is pushed when any row is bad.
 */
int coreset_stage_push_dense(coreset_stage *stage, const double *x, int64_t rows, int64_t cols,
                             const double *labels, const double *weights);
/*
 * The same for a CSR matrix: row i has the entries indptr[i] ..< indptr[i+1] of indices/values;
 * indices are 0-based, strictly increasing within a row and below cols.
 */
int coreset_stage_push_csr(coreset_stage *stage, const int64_t *indptr, const int64_t *indices,
                           const double *values, int64_t rows, int64_t cols, const double *labels,
                           const double *weights);
/*
 * Pushes a chunk of text in the configured format (LIBSVM by default). Chunks may cut lines
 * anywhere; a partial last line waits for the next chunk or coreset_stage_finish. Bad lines are
 * counted and skipped (coreset_snapshot_skipped), or with strict=1 fail with CORESET_ERROR_DATA.
 */
int coreset_stage_push_text(coreset_stage *stage, const char *bytes, size_t length);
/* Ends the stream: parses a last unterminated line and finishes the selector. Pushes fail after it. */
int coreset_stage_finish(coreset_stage *stage);
/* The weighted coreset and model now (or at the end, after finish). Free with coreset_snapshot_free. */
int coreset_stage_snapshot(coreset_stage *stage, coreset_snapshot **out);

void coreset_snapshot_free(coreset_snapshot *snapshot);
/* Records accepted, and text lines skipped as bad (-1 for a NULL snapshot). */
int64_t coreset_snapshot_records(const coreset_snapshot *snapshot);
int64_t coreset_snapshot_skipped(const coreset_snapshot *snapshot);
/* Number of coreset elements (-1 for a NULL snapshot). */
int64_t coreset_snapshot_count(const coreset_snapshot *snapshot);
/*
 * Copies the elements' ids (record positions), weights and class ids (0 for regression), each into
 * an array of coreset_snapshot_count entries; any of them may be NULL. Elements are ordered by
 * class, then id. Per class the weights total the input weight the stage accepted for that class.
 */
int coreset_snapshot_elements(const coreset_snapshot *snapshot, int64_t *ids, double *weights,
                              int32_t *classes);
/* Element i's record: its label and number of stored features, then the features themselves. */
int coreset_snapshot_element(const coreset_snapshot *snapshot, int64_t i, double *label, int64_t *nnz);
int coreset_snapshot_element_features(const coreset_snapshot *snapshot, int64_t i, uint32_t *indices,
                                      float *values);
/* Mean progressive-validation loss of the records so far (NaN when the stage does not learn). */
double coreset_snapshot_progressive_loss(const coreset_snapshot *snapshot);

/* 1 when the snapshot has a model (the stage learns), else 0. */
int coreset_snapshot_has_model(const coreset_snapshot *snapshot);
/* The model's number of linear outputs (1, or K for softmax), feature dimension and loss. */
int coreset_snapshot_model_shape(const coreset_snapshot *snapshot, int32_t *outputs, int64_t *dimension,
                                 int32_t *loss);
/* Copies weights[outputs * dimension] (output-major: weights[o * dimension + j]) and bias[outputs]. */
int coreset_snapshot_model_parameters(const coreset_snapshot *snapshot, double *weights, double *bias);
/*
 * Predicts `rows` rows (dense row-major x[rows * cols], or CSR) with the snapshot's model, in
 * doubles, writing `columns` values per row into out[rows * columns]. DECISION: columns must be the
 * model's outputs. PROBA: columns is the number of classes; outputs the model has not grown yet
 * (classes it has not seen) count as logit 0. Features past the model's dimension count as 0.
 */
int coreset_snapshot_predict_dense(const coreset_snapshot *snapshot, int what, const double *x,
                                   int64_t rows, int64_t cols, int32_t columns, double *out);
int coreset_snapshot_predict_csr(const coreset_snapshot *snapshot, int what, const int64_t *indptr,
                                 const int64_t *indices, const double *values, int64_t rows,
                                 int64_t cols, int32_t columns, double *out);

#ifdef __cplusplus
}
#endif

#endif /* CORESET_H */
