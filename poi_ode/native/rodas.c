/* Rosenbrock integrator RODAS4 (Hairer & Wanner, Solving ODEs II, 2nd ed., section VI.7;
 * coefficients of their code RODAS), stiffly accurate, order 4 with an embedded order-3
 * error estimate, with exact stops at output and dose times.
 *
 * This file is the model-independent half of a generated translation unit: the generated
 * half defines N_STATES, N_Q, N_OUT, LU_NNZ and the functions model_rhs, model_jac (writes
 * only the structurally non-zero entries of a row-major N x N matrix), model_minus_jac_lu (-J on
 * the compact pattern of the sparse LU factors), model_lu/model_lu_solve, model_dfdt and
 * model_outputs. Nothing here
 * knows the equations; they come from the symbolic model.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define N N_STATES

/* RODAS4 coefficients (Hairer & Wanner, RODAS, METH=1) */
static const double GAMMA = 0.25;
static const double C2 = 0.386, C3 = 0.21, C4 = 0.63;
static const double D1 = 0.25, D2 = -0.1043, D3 = 0.1035, D4 = -0.3620000000000023e-01;
static const double A21 = 0.1544000000000000e+01;
static const double A31 = 0.9466785280815826, A32 = 0.2557011698983284;
static const double A41 = 0.3314825187068521e+01, A42 = 0.2896124015972201e+01, A43 = 0.9986419139977817;
static const double A51 = 0.1221224509226641e+01, A52 = 0.6019134481288629e+01, A53 = 0.1253708332932087e+02,
                    A54 = -0.6878860361058950;
static const double K21 = -0.5668800000000000e+01;
static const double K31 = -0.2430093356833875e+01, K32 = -0.2063599157091915;
static const double K41 = -0.1073529058151375, K42 = -0.9594562251023355e+01, K43 = -0.2047028614809616e+02;
static const double K51 = 0.7496443313967647e+01, K52 = -0.1024680431464352e+02, K53 = -0.3399990352819905e+02,
                    K54 = 0.1170890893206160e+02;
static const double K61 = 0.8083246795921522e+01, K62 = -0.7981132988064893e+01, K63 = -0.3152159432874371e+02,
                    K64 = 0.1631930543123136e+02, K65 = -0.6058818238834054e+01;

#if TIME_DEPENDENT
#define FT(d) (h * (d) * w->ft[i])
#else
#define FT(d) 0.0
#endif

enum { ST_NFE, ST_NJE, ST_STEPS, ST_REJECTED, ST_STATUS, ST_SIZE };
enum { OK = 0, FAIL_STEPS = 1, FAIL_STEPSIZE = 2, FAIL_SINGULAR = 3, FAIL_NONFINITE = 4 };

/* LU with partial pivoting, in place (row-major); returns 0 or the 1-based singular column. */
static int lu_factor(double *a, int *piv) {
    for (int k = 0; k < N; k++) {
        int p = k;
        double big = fabs(a[k * N + k]);
        for (int i = k + 1; i < N; i++) {
            double v = fabs(a[i * N + k]);
            if (v > big) { big = v; p = i; }
        }
        piv[k] = p;
        if (big == 0.0) return k + 1;
        if (p != k)
            for (int j = 0; j < N; j++) { double t = a[k * N + j]; a[k * N + j] = a[p * N + j]; a[p * N + j] = t; }
        double inv = 1.0 / a[k * N + k];
        for (int i = k + 1; i < N; i++) {
            double f = a[i * N + k];
            if (f == 0.0) continue;
            f *= inv;
            a[i * N + k] = f;
            for (int j = k + 1; j < N; j++) a[i * N + j] -= f * a[k * N + j];
        }
    }
    return 0;
}

static void lu_solve(const double *a, const int *piv, double *b) {
    for (int k = 0; k < N; k++) {  /* rows were swapped whole: permute first, then substitute */
        int p = piv[k];
        if (p != k) { double t = b[k]; b[k] = b[p]; b[p] = t; }
    }
    for (int k = 0; k < N; k++)
        for (int i = k + 1; i < N; i++) b[i] -= a[i * N + k] * b[k];
    for (int i = N - 1; i >= 0; i--) {
        double s = b[i];
        for (int j = i + 1; j < N; j++) s -= a[i * N + j] * b[j];
        b[i] = s / a[i * N + i];
    }
}

typedef struct work work_t;
static void solve(const work_t *w, double *b);

struct work {
    double J[N * N], E[N * N], e[LU_NNZ], dinv[N];
    int dense;
    double f0[N], ft[N], ynew[N], tmp[N], u[6][N];
    int piv[N];
};

static void solve(const work_t *w, double *b) {
    if (w->dense) lu_solve(w->E, w->piv, b);
    else model_lu_solve(w->e, w->dinv, b);
}

static double wrms(const double *e, const double *y, const double *yn, double rtol, const double *atol) {
    double s = 0.0;
    for (int i = 0; i < N; i++) {
        double sc = atol[i] + rtol * fmax(fabs(y[i]), fabs(yn[i]));
        double r = e[i] / sc;
        s += r * r;
    }
    return sqrt(s / N);
}

/* One RODAS4 step of size h from (t, y); ynew and the error norm on return. */
static int rodas_step(work_t *w, const double *q, double t, const double *y, double h, double rtol,
                      const double *atol, double *err, long *stats) {
    double fac = 1.0 / (h * GAMMA), ih = 1.0 / h;
    model_rhs(t, y, q, w->f0);
    model_minus_jac_lu(t, y, q, w->e);
    stats[ST_NFE] += 1;
    stats[ST_NJE] += 1;
#if TIME_DEPENDENT
    model_dfdt(t, y, q, w->ft);
#endif
    for (int i = 0; i < N; i++) w->e[LU_DIAG[i]] += fac;
#ifdef POI_FORCE_DENSE
    w->dense = 1;  /* tests: the dense fallback on every step */
#else
    w->dense = model_lu(w->e, w->dinv) != 0;
#endif
    if (w->dense) {  /* a zero pivot in the sparse order: dense LU with partial pivoting */
        memset(w->J, 0, sizeof(w->J));
        model_jac(t, y, q, w->J);
        for (int i = 0; i < N * N; i++) w->E[i] = -w->J[i];
        for (int i = 0; i < N; i++) w->E[i * N + i] += fac;
        if (lu_factor(w->E, w->piv)) return FAIL_SINGULAR;
    }
    double (*u)[N] = w->u;
    /* stage 1 */
    for (int i = 0; i < N; i++) u[0][i] = w->f0[i] + FT(D1);
    solve(w, u[0]);
    /* stage 2 */
    for (int i = 0; i < N; i++) w->tmp[i] = y[i] + A21 * u[0][i];
    model_rhs(t + C2 * h, w->tmp, q, u[1]);
    for (int i = 0; i < N; i++) u[1][i] += K21 * ih * u[0][i] + FT(D2);
    solve(w, u[1]);
    /* stage 3 */
    for (int i = 0; i < N; i++) w->tmp[i] = y[i] + A31 * u[0][i] + A32 * u[1][i];
    model_rhs(t + C3 * h, w->tmp, q, u[2]);
    for (int i = 0; i < N; i++) u[2][i] += (K31 * u[0][i] + K32 * u[1][i]) * ih + FT(D3);
    solve(w, u[2]);
    /* stage 4 */
    for (int i = 0; i < N; i++) w->tmp[i] = y[i] + A41 * u[0][i] + A42 * u[1][i] + A43 * u[2][i];
    model_rhs(t + C4 * h, w->tmp, q, u[3]);
    for (int i = 0; i < N; i++) u[3][i] += (K41 * u[0][i] + K42 * u[1][i] + K43 * u[2][i]) * ih + FT(D4);
    solve(w, u[3]);
    /* stage 5 (c5 = 1) */
    for (int i = 0; i < N; i++) w->tmp[i] = y[i] + A51 * u[0][i] + A52 * u[1][i] + A53 * u[2][i] + A54 * u[3][i];
    model_rhs(t + h, w->tmp, q, u[4]);
    for (int i = 0; i < N; i++) u[4][i] += (K51 * u[0][i] + K52 * u[1][i] + K53 * u[2][i] + K54 * u[3][i]) * ih;
    solve(w, u[4]);
    /* embedded solution, then the error stage */
    for (int i = 0; i < N; i++) w->tmp[i] += u[4][i];
    model_rhs(t + h, w->tmp, q, u[5]);
    for (int i = 0; i < N; i++)
        u[5][i] += (K61 * u[0][i] + K62 * u[1][i] + K63 * u[2][i] + K64 * u[3][i] + K65 * u[4][i]) * ih;
    solve(w, u[5]);
    stats[ST_NFE] += 5;
    int finite = 1;
    for (int i = 0; i < N; i++) {
        w->ynew[i] = w->tmp[i] + u[5][i];
        if (!isfinite(w->ynew[i])) finite = 0;
    }
    *err = finite ? wrms(u[5], y, w->ynew, rtol, atol) : INFINITY;
    return OK;
}

/* Initial step from the scaled size of y and f (Hairer & Wanner I, section II.4, simplified). */
static double first_step(const double *y, const double *f, double span, double rtol, const double *atol) {
    double d0 = 0.0, d1 = 0.0;
    for (int i = 0; i < N; i++) {
        double sc = atol[i] + rtol * fabs(y[i]);
        d0 += (y[i] / sc) * (y[i] / sc);
        d1 += (f[i] / sc) * (f[i] / sc);
    }
    d0 = sqrt(d0 / N);
    d1 = sqrt(d1 / N);
    double h = (d0 < 1e-5 || d1 < 1e-5) ? 1e-6 * span : 0.01 * d0 / d1;
    return fmin(fmax(h, 1e-10 * span), span);
}

/* Integrate from t0 to t1 writing y at every output time in (t0, t1]; y holds the end value. */
static int segment(work_t *w, const double *q, double *y, double t0, double t1, const double *t_out,
                   int n_out, int *next, double *y_out, double rtol, const double *atol, long max_steps,
                   long *stats, double *t_fail) {
    double t = t0, span = t1 - t0;
    model_rhs(t, y, q, w->f0);
    stats[ST_NFE] += 1;
    double h = first_step(y, w->f0, span, rtol, atol);
    long steps = 0;
    int rejected_last = 0;
    while (t < t1) {
        double stop = t1;
        if (*next < n_out && t_out[*next] < stop) stop = t_out[*next];
        double hstep = h, room = stop - t;
        int lands = 0;
        if (hstep >= room * (1.0 - 1e-12)) { hstep = room; lands = 1; }
        if (++steps > max_steps) { *t_fail = t; return FAIL_STEPS; }
        double err;
        int rc = rodas_step(w, q, t, y, hstep, rtol, atol, &err, stats);
        if (rc) { *t_fail = t; return rc; }
        double grow = err > 0.0 ? 0.9 * pow(err, -0.25) : 6.0;
        if (err <= 1.0) {
            t = lands ? stop : t + hstep;
            memcpy(y, w->ynew, sizeof(double) * N);
            stats[ST_STEPS] += 1;
            grow = fmin(6.0, fmax(0.2, grow));
            if (rejected_last) grow = fmin(grow, 1.0);
            /* a step shortened to land on a stop says nothing about the step size: keep h */
            h = lands && hstep < h ? fmax(h, hstep * grow) : hstep * grow;
            rejected_last = 0;
            while (*next < n_out && t_out[*next] <= t) {
                if (t_out[*next] == t) memcpy(y_out + (size_t)(*next) * N, y, sizeof(double) * N);
                (*next)++;
            }
        } else {
            stats[ST_REJECTED] += 1;
            h = hstep * fmax(0.2, isfinite(err) ? grow : 0.25);
            rejected_last = 1;
            if (h < 1e-14 * fmax(fabs(t), 1.0)) { *t_fail = t; return isfinite(err) ? FAIL_STEPSIZE : FAIL_NONFINITE; }
        }
    }
    return OK;
}

/* One simulation: y0 (in/out), dose jumps at dose_t (sorted; jumps n_dose x N), outputs at t_out
 * (sorted, from >= 0); the value reported at a dose time is the one after the dose.
 * stats: ST_SIZE longs; t_fail: day of a failure. Returns 0 or a failure code. */
static int simulate_one(work_t *w, const double *q, double *y, int n_dose, const double *dose_t, const double *jumps,
                        int n_out, const double *t_out, double *y_out, double rtol, const double *atol, long max_steps,
                        long *stats, double *t_fail) {
    memset(stats, 0, sizeof(long) * ST_SIZE);
    double t = 0.0, t_end = t_out[n_out - 1];
    int d = 0, next = 0, rc = OK;
    while (d < n_dose && dose_t[d] <= 0.0) {
        for (int i = 0; i < N; i++) y[i] += jumps[(size_t)d * N + i];
        d++;
    }
    while (next < n_out && t_out[next] <= 0.0) memcpy(y_out + (size_t)(next++) * N, y, sizeof(double) * N);
    while (t < t_end && rc == OK) {
        double stop = (d < n_dose && dose_t[d] < t_end) ? dose_t[d] : t_end;
        rc = segment(w, q, y, t, stop, t_out, n_out, &next, y_out, rtol, atol, max_steps, stats, t_fail);
        t = stop;
        int dosed = 0;
        while (rc == OK && d < n_dose && dose_t[d] <= t) {
            for (int i = 0; i < N; i++) y[i] += jumps[(size_t)d * N + i];
            d++;
            dosed = 1;
        }
        if (dosed && next > 0 && t_out[next - 1] == t) memcpy(y_out + (size_t)(next - 1) * N, y, sizeof(double) * N);
    }
    stats[ST_STATUS] = rc;
    return rc;
}

/* Simulation b of a batch, with its outputs at its own output times t_out + out_start[b] (out_start[b + 1] -
 * out_start[b] of them; Y_out and O_out rows from out_start[b]); 1 if it failed. */
static int run_one(work_t *w, int b, const double *Q, const double *Y0, const int *dose_start, const double *dose_t,
                   const double *jumps, const int *out_start, const double *t_out, double *Y_out, double *O_out,
                   double rtol, const double *atol, long max_steps, long *stats, double *t_fail) {
    double y[N];
    memcpy(y, Y0 + (size_t)b * N, sizeof(double) * N);
    int k0 = dose_start[b], k1 = dose_start[b + 1];
    int o0 = out_start[b], n_out = out_start[b + 1] - o0;
    int rc = simulate_one(w, Q + (size_t)b * N_Q, y, k1 - k0, dose_t + k0, jumps + (size_t)k0 * N, n_out, t_out + o0,
                          Y_out + (size_t)o0 * N, rtol, atol, max_steps, stats + (size_t)b * ST_SIZE, t_fail + b);
    if (rc == OK && N_OUT > 0)
        for (int k = o0; k < o0 + n_out; k++)
            model_outputs(t_out[k], Y_out + (size_t)k * N, Q + (size_t)b * N_Q, O_out + (size_t)k * (N_OUT > 0 ? N_OUT : 1));
    return rc != OK;
}

/* A batch of simulations, each with its own output times: those of simulation b are
 * t_out[out_start[b]] .. t_out[out_start[b+1]-1] (increasing, the first >= 0; at least one), and its
 * states and outputs go to the same rows of Y_out and O_out; doses of simulation b are rows
 * dose_start[b] .. dose_start[b+1]-1. Each simulation is integrated exactly as alone (the solver
 * lands on its own output times only). Runs on n_threads OpenMP threads where compiled with OpenMP
 * and n_threads > 1 (one thread never enters OpenMP, so forked worker processes stay clear of its
 * thread pool). */
int poi_simulate_ragged(int n_sim, const double *Q, const double *Y0, const int *dose_start, const double *dose_t,
                        const double *jumps, const int *out_start, const double *t_out, double *Y_out, double *O_out,
                        double rtol, const double *atol, long max_steps, long *stats, double *t_fail, int n_threads) {
    int failures = 0, no_memory = 0;
    if (n_threads > 1) {
#ifdef _OPENMP
#pragma omp parallel num_threads(n_threads) reduction(+ : failures, no_memory)
#endif
        {
            work_t *w = (work_t *)calloc(1, sizeof(work_t));  /* one workspace per thread */
            no_memory += w == NULL;
#ifdef _OPENMP
#pragma omp for schedule(dynamic, 4)
#endif
            for (int b = 0; b < n_sim; b++)
                if (w) failures += run_one(w, b, Q, Y0, dose_start, dose_t, jumps, out_start, t_out, Y_out, O_out,
                                           rtol, atol, max_steps, stats, t_fail);
            free(w);
        }
    } else {
        work_t *w = (work_t *)calloc(1, sizeof(work_t));
        if (!w) return -1;
        for (int b = 0; b < n_sim; b++)
            failures += run_one(w, b, Q, Y0, dose_start, dose_t, jumps, out_start, t_out, Y_out, O_out, rtol, atol,
                                max_steps, stats, t_fail);
        free(w);
    }
    return no_memory ? -1 : failures;
}

int poi_n_states(void) { return N_STATES; }
int poi_n_q(void) { return N_Q; }
int poi_n_outputs(void) { return N_OUT; }
int poi_time_dependent(void) { return TIME_DEPENDENT; }
#ifdef _OPENMP
int poi_openmp(void) { return 1; }
#else
int poi_openmp(void) { return 0; }
#endif

#ifdef POI_SENSITIVITIES
/* Forward sensitivities S = dy/dp of chosen parameters, integrated with the states as one
 * augmented system z = (y, S_1 .. S_k), dS_j/dt = J(y) S_j + F_j(y) (F = df/dp), by the same
 * RODAS4 step. The augmented Jacobian is block lower-triangular, [[J, 0], [H_j, J]] with
 * H_j = d(J S_j + F_j)/dy, so every stage solves with the one factorisation of I/(h gamma) - J:
 * first the state increment u, then each S_j increment with H_j u added to its right-hand side
 * (the exact Jacobian keeps the method's order for S; H_j, on the Jacobian's sparsity pattern, comes
 * from the generated second derivatives model_d2jac and model_d2fdp_<p>, once per step). The error estimate covers
 * y and every S_j, the latter on the scale of p_j S_j (pscale_j = |p_j|, as CVODES's pbar), so the
 * state tolerances apply to both. Autonomous models only (the caller checks TIME_DEPENDENT). */

#define MAXI(a, b) ((a) > (b) ? (a) : (b))

typedef struct {
    int k;
    int k_norm;             /* columns the error norm averages over (>= k: the others are known to stay 0) */
    const int *col;         /* parameter index of each sensitivity column */
    const double *pscale;   /* per column */
    double jst[MAXI(JAC_NNZ, 1)], d2j[MAXI(D2J_NNZ, 1)];
    double *fp, *d2f, *H;   /* per column: its df/dp entries (k x fp_len); d(df/dp)/dy of one column; H_j */
    int fp_len;
    double *S, *Snew, *Stmp, *us;  /* k N each; us: 6 k N */
} sens_t;

static const double SA[6][5] = {{0}, {A21}, {A31, A32}, {A41, A42, A43}, {A51, A52, A53, A54},
                                {A51, A52, A53, A54, 1.0}};
static const double SK[6][5] = {{0}, {K21}, {K31, K32}, {K41, K42, K43}, {K51, K52, K53, K54},
                                {K61, K62, K63, K64, K65}};
static const double SC[6] = {0.0, C2, C3, C4, 1.0, 1.0};

/* f(y) into f, and out_j = J(y) s_j + F_j(y) for every column j */
static void sens_rhs(sens_t *s, double t, const double *y, const double *q, const double *S, double *f, double *out) {
    model_rhs_jac_nz(t, y, q, f, s->jst);
    memset(out, 0, sizeof(double) * (size_t)s->k * N);
    for (int j = 0; j < s->k; j++) {
        const double *sj = S + (size_t)j * N;
        double *oj = out + (size_t)j * N;
        jac_pattern_mv(s->jst, sj, oj);
        int c = s->col[j], len = DFDP_LEN[c];
        if (len) {
            double *fp = s->fp + (size_t)j * s->fp_len;
            DFDP_FN[c](t, y, q, fp);
            for (int e = 0; e < len; e++) oj[DFDP_ROWS[c][e]] += fp[e];
        }
    }
}

/* H_j = d(J S_j + F_j)/dy at the step's start (on the Jacobian's pattern), shared by its six stages */
static void sens_second(sens_t *s, double t, const double *y, const double *q) {
    model_d2jac(t, y, q, s->d2j);
    for (int j = 0; j < s->k; j++) {
        double *hj = s->H + (size_t)j * MAXI(JAC_NNZ, 1);
        d2j_contract(s->d2j, s->S + (size_t)j * N, hj);
        int c = s->col[j];
        if (D2F_LEN[c]) {
            D2F_FN[c](t, y, q, s->d2f);
            for (int e = 0; e < D2F_LEN[c]; e++) hj[D2F_HS[c][e]] += s->d2f[e];
        }
    }
}

/* out_j += H_j v */
static void sens_coupling(sens_t *s, const double *v, double *out) {
    for (int j = 0; j < s->k; j++) {
        jac_pattern_mv(s->H + (size_t)j * MAXI(JAC_NNZ, 1), v, out + (size_t)j * N);
    }
}

/* One RODAS4 step of the augmented system from (t, y, s->S): w->ynew, s->Snew and the error norm. */
static int rodas_step_sens(work_t *w, sens_t *s, const double *q, double t, const double *y, double h, double rtol,
                           const double *atol, double *err, long *stats) {
    double fac = 1.0 / (h * GAMMA), ih = 1.0 / h;
    size_t kn = (size_t)s->k * N;
    model_minus_jac_lu(t, y, q, w->e);
    stats[ST_NJE] += 1;
    for (int i = 0; i < N; i++) w->e[LU_DIAG[i]] += fac;
#ifdef POI_FORCE_DENSE
    w->dense = 1;
#else
    w->dense = model_lu(w->e, w->dinv) != 0;
#endif
    if (w->dense) {
        memset(w->J, 0, sizeof(w->J));
        model_jac(t, y, q, w->J);
        for (int i = 0; i < N * N; i++) w->E[i] = -w->J[i];
        for (int i = 0; i < N; i++) w->E[i * N + i] += fac;
        if (lu_factor(w->E, w->piv)) return FAIL_SINGULAR;
    }
    sens_second(s, t, y, q);
    double (*u)[N] = w->u;
    for (int st = 0; st < 6; st++) {
        /* stage point */
        for (int i = 0; i < N; i++) {
            double v = y[i];
            for (int l = 0; l < st; l++) v += SA[st][l] * u[l][i];
            w->tmp[i] = v;
        }
        for (size_t m = 0; m < kn; m++) {
            double v = s->S[m];
            for (int l = 0; l < st; l++) v += SA[st][l] * s->us[(size_t)l * kn + m];
            s->Stmp[m] = v;
        }
        if (st == 5) memcpy(w->ynew, w->tmp, sizeof(double) * N);  /* the embedded solution */
        if (st == 5) memcpy(s->Snew, s->Stmp, sizeof(double) * kn);
        /* states (their right-hand side evaluated with the sensitivities' below) */
        double *ust = s->us + (size_t)st * kn;
        sens_rhs(s, t + SC[st] * h, w->tmp, q, s->Stmp, u[st], ust);
        for (int i = 0; i < N; i++) {
            double v = 0.0;
            for (int l = 0; l < st; l++) v += SK[st][l] * u[l][i];
            u[st][i] += v * ih;
        }
        solve(w, u[st]);
        /* sensitivities */
        for (size_t m = 0; m < kn; m++) {
            double v = 0.0;
            for (int l = 0; l < st; l++) v += SK[st][l] * s->us[(size_t)l * kn + m];
            ust[m] += v * ih;
        }
        sens_coupling(s, u[st], ust);
        for (int j = 0; j < s->k; j++) solve(w, ust + (size_t)j * N);
    }
    stats[ST_NFE] += 6;
    int finite = 1;
    double sum = 0.0;
    for (int i = 0; i < N; i++) {
        w->ynew[i] += u[5][i];
        if (!isfinite(w->ynew[i])) finite = 0;
        double sc = atol[i] + rtol * fmax(fabs(y[i]), fabs(w->ynew[i]));
        double r = u[5][i] / sc;
        sum += r * r;
    }
    const double *e5 = s->us + 5 * kn;
    for (int j = 0; j < s->k; j++)
        for (int i = 0; i < N; i++) {
            size_t m = (size_t)j * N + i;
            s->Snew[m] += e5[m];
            if (!isfinite(s->Snew[m])) finite = 0;
            double sc = atol[i] / s->pscale[j] + rtol * fmax(fabs(s->S[m]), fabs(s->Snew[m]));
            double r = e5[m] / sc;
            sum += r * r;
        }
    *err = finite ? sqrt(sum / ((double)N * (s->k_norm + 1))) : INFINITY;
    return OK;
}

/* Integrate (y, S) from day 0 (autonomous) writing both at every t_out (increasing, >= 0; a time 0
 * gets the initial values). k_norm >= k: the error norm is the RMS over the states and k_norm columns,
 * the k integrated and k_norm - k the caller knows to stay exactly 0 (they would add 0 to the sum), so
 * leaving those out changes no step. Returns 0 or a failure code (t_fail its day). */
int poi_sensitivities(const double *q, double *y, double *S, int k, int k_norm, const int *col, const double *pscale,
                      int n_out, const double *t_out, double *Y_out, double *S_out, double rtol, const double *atol,
                      long max_steps, long *stats, double *t_fail) {
    memset(stats, 0, sizeof(long) * ST_SIZE);
    work_t *w = (work_t *)calloc(1, sizeof(work_t));
    sens_t *s = (sens_t *)calloc(1, sizeof(sens_t));
    size_t kn = (size_t)k * N;
    int fp_len = 1, d2f_len = 1;
    for (int j = 0; j < k; j++) {
        fp_len = MAXI(fp_len, DFDP_LEN[col[j]]);
        d2f_len = MAXI(d2f_len, D2F_LEN[col[j]]);
    }
    size_t hn = (size_t)k * MAXI(JAC_NNZ, 1);
    double *buf = (double *)calloc(8 * kn + (size_t)k * fp_len + d2f_len + hn + 1, sizeof(double));
    if (!w || !s || !buf) { free(w); free(s); free(buf); return -1; }
    s->k = k; s->k_norm = MAXI(k, k_norm); s->col = col; s->pscale = pscale;
    s->S = S; s->Snew = buf; s->Stmp = buf + kn; s->us = buf + 2 * kn;
    s->fp = buf + 8 * kn; s->d2f = s->fp + (size_t)k * fp_len; s->H = s->d2f + d2f_len;
    s->fp_len = fp_len;
    int next = 0, rc = OK;
    double t = 0.0, t_end = t_out[n_out - 1];
    while (next < n_out && t_out[next] <= 0.0) {
        memcpy(Y_out + (size_t)next * N, y, sizeof(double) * N);
        memcpy(S_out + (size_t)next * kn, S, sizeof(double) * kn);
        next++;
    }
    if (t_end > 0.0) {
        model_rhs(t, y, q, w->f0);
        stats[ST_NFE] += 1;
        double h = first_step(y, w->f0, t_end, rtol, atol);
        long steps = 0;
        int rejected_last = 0;
        while (t < t_end) {
            double stop = next < n_out ? t_out[next] : t_end;
            double hstep = h, room = stop - t;
            int lands = 0;
            if (hstep >= room * (1.0 - 1e-12)) { hstep = room; lands = 1; }
            if (++steps > max_steps) { *t_fail = t; rc = FAIL_STEPS; break; }
            double err;
            rc = rodas_step_sens(w, s, q, t, y, hstep, rtol, atol, &err, stats);
            if (rc) { *t_fail = t; break; }
            double grow = err > 0.0 ? 0.9 * pow(err, -0.25) : 6.0;
            if (err <= 1.0) {
                t = lands ? stop : t + hstep;
                memcpy(y, w->ynew, sizeof(double) * N);
                memcpy(S, s->Snew, sizeof(double) * kn);
                stats[ST_STEPS] += 1;
                grow = fmin(6.0, fmax(0.2, grow));
                if (rejected_last) grow = fmin(grow, 1.0);
                h = lands && hstep < h ? fmax(h, hstep * grow) : hstep * grow;
                rejected_last = 0;
                while (next < n_out && t_out[next] <= t) {
                    memcpy(Y_out + (size_t)next * N, y, sizeof(double) * N);
                    memcpy(S_out + (size_t)next * kn, S, sizeof(double) * kn);
                    next++;
                }
            } else {
                stats[ST_REJECTED] += 1;
                h = hstep * fmax(0.2, isfinite(err) ? grow : 0.25);
                rejected_last = 1;
                if (h < 1e-14 * fmax(fabs(t), 1.0)) {
                    *t_fail = t;
                    rc = isfinite(err) ? FAIL_STEPSIZE : FAIL_NONFINITE;
                    break;
                }
            }
        }
    }
    stats[ST_STATUS] = rc;
    free(w); free(s); free(buf);
    return rc;
}
int poi_n_p(void) { return N_P; }
#endif
