/* test_outcome: the decision table of sched/outcome.h, one row per case: a delivery event
 * (2xx, 4xx, 5xx, connect failure, dead destination) on a recipient in some state (attempts,
 * NOTIFY, pending report, age, DELIVERBY) gives a verdict, counters, a due time and the
 * report owed (a report or null-sender message always owes its failure: double bounce).
 * Also report_wanted() and report_owed_final() (dsn/report.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "conf/conf.h"
#include "dsn/dsn.h"
#include "dsn/report.h"
#include "queue/record.h"
#include "sched/outcome.h"

#define MIN 60000LL
#define HOUR (60 * MIN)
#define T0 1000000000000LL /* arrival of every message */

enum { TMP = OUTCOME_TEMPFAIL, PRM = OUTCOME_PERMFAIL, OK = OUTCOME_OK };
enum { NONE = 0, R_FAILED = DSN_FAILED + 1, R_DELAYED = DSN_DELAYED + 1,
       R_RELAYED = DSN_RELAYED + 1 };
enum { BY_R = MSG_F_BY_RETURN, BY_N = MSG_F_BY_NOTIFY };

static const unsigned retries[] = {1, 2, 3};

struct row {
    const char *name;
    /* recipient and message */
    uint32_t attempts, postponed;
    uint8_t notify, flags, report;
    int64_t age;        /* now - arrival */
    int64_t by;         /* DELIVERBY relative to arrival, 0 = none */
    uint32_t msg_flags;
    bool delay_done;
    bool is_report;     /* the message is a report or has the null sender */
    /* event */
    int o;
    bool passed_on;
    int64_t dead;       /* dead_until relative to now, 0 = none */
    /* want */
    enum outcome_verdict verdict;
    int64_t next;       /* relative to now, 0 = none */
    uint32_t want_attempts, want_postponed;
    uint8_t want_flags, want_report;
    bool by_relayed; /* event: BY=...;N relayed to a hop without DELIVERBY */
};

/* Retries 1, 2, 3 minutes, expiry 10 h, delay notices after 4 h, no alignment (skew 100). */
static const struct row rows[] = {
    /* name                             att pp notify                         flags                  report     age            by       msgf          dd rep o    po dead      verdict            next      att pp flags                  report */
    {"2xx",                           0, 0, 0,                             0,                     NONE,      MIN,           0,       0,            0, 0, OK,  0, 0,        OUTCOME_DELIVERED, 0,        1, 0, 0,                     NONE, false},
    {"2xx NOTIFY=SUCCESS no DSN hop", 2, 0, NOTIFY_SUCCESS,                0,                     NONE,      MIN,           0,       0,            0, 0, OK,  0, 0,        OUTCOME_DELIVERED, 0,        3, 0, 0,                     R_RELAYED, false},
    {"2xx NOTIFY=SUCCESS passed on",  0, 0, NOTIFY_SUCCESS,                0,                     NONE,      MIN,           0,       0,            0, 0, OK,  1, 0,        OUTCOME_DELIVERED, 0,        1, 0, RCPT_F_REPORTED,       NONE, false},
    {"2xx drops a pending delay",     3, 0, 0,                             0,                     R_DELAYED, 5 * HOUR,      0,       0,            0, 0, OK,  0, 0,        OUTCOME_DELIVERED, 0,        4, 0, 0,                     NONE, false},
    {"2xx delay pending, SUCCESS",    3, 0, NOTIFY_SUCCESS | NOTIFY_DELAY, 0,                     R_DELAYED, 5 * HOUR,      0,       0,            0, 0, OK,  0, 0,        OUTCOME_DELIVERED, 0,        4, 0, 0,                     R_RELAYED, false},
    {"2xx after postponements",       2, 3, 0,                             0,                     NONE,      MIN,           0,       0,            0, 0, OK,  0, 0,        OUTCOME_DELIVERED, 0,        3, 0, 0,                     NONE, false},
    {"5xx",                           0, 0, 0,                             0,                     NONE,      MIN,           0,       0,            0, 0, PRM, 0, 0,        OUTCOME_FAILED,    0,        1, 0, 0,                     R_FAILED, false},
    {"5xx NOTIFY=FAILURE",            1, 0, NOTIFY_FAILURE,                0,                     NONE,      MIN,           0,       0,            0, 0, PRM, 0, 0,        OUTCOME_FAILED,    0,        2, 0, 0,                     R_FAILED, false},
    {"5xx NOTIFY=NEVER",              0, 0, NOTIFY_NEVER,                  0,                     NONE,      MIN,           0,       0,            0, 0, PRM, 0, 0,        OUTCOME_FAILED,    0,        1, 0, RCPT_F_REPORTED,       NONE, false},
    {"5xx NOTIFY=SUCCESS",            0, 0, NOTIFY_SUCCESS,                0,                     NONE,      MIN,           0,       0,            0, 0, PRM, 0, 0,        OUTCOME_FAILED,    0,        1, 0, RCPT_F_REPORTED,       NONE, false},
    {"5xx replaces a pending delay",  2, 0, 0,                             0,                     R_DELAYED, 5 * HOUR,      0,       0,            0, 0, PRM, 0, 0,        OUTCOME_FAILED,    0,        3, 0, 0,                     R_FAILED, false},
    {"5xx refusal (no connection)",   0, 0, 0,                             0,                     NONE,      MIN,           0,       0,            0, 0, PRM, 0, 0,        OUTCOME_FAILED,    0,        1, 0, 0,                     R_FAILED, false},
    {"report fails, NOTIFY=NEVER",    0, 0, NOTIFY_NEVER,                  0,                     NONE,      MIN,           0,       MSG_F_BOUNCE, 0, 1, PRM, 0, 0,        OUTCOME_FAILED,    0,        1, 0, 0,                     R_FAILED, false},
    {"null sender fails, no NOTIFY",  0, 0, 0,                             0,                     NONE,      MIN,           0,       0,            0, 1, PRM, 0, 0,        OUTCOME_FAILED,    0,        1, 0, 0,                     R_FAILED, false},
    {"report expires, NOTIFY=NEVER",  4, 0, NOTIFY_NEVER,                  0,                     NONE,      10 * HOUR,     0,       MSG_F_BOUNCE, 0, 1, TMP, 0, 0,        OUTCOME_EXPIRED,   0,        5, 0, 0,                     R_FAILED, false},
    {"report late, no delay notice",  3, 0, NOTIFY_NEVER,                  0,                     NONE,      5 * HOUR,      0,       MSG_F_BOUNCE, 0, 1, TMP, 0, 0,        OUTCOME_DEFERRED,  2 * MIN,  4, 0, 0,                     NONE, false},
    {"report delivered",              0, 0, NOTIFY_NEVER,                  0,                     NONE,      MIN,           0,       MSG_F_BOUNCE, 0, 1, OK,  0, 0,        OUTCOME_DELIVERED, 0,        1, 0, 0,                     NONE, false},
    {"4xx first attempt",             0, 0, 0,                             0,                     NONE,      MIN,           0,       0,            0, 0, TMP, 0, 0,        OUTCOME_DEFERRED,  1 * MIN,  1, 0, 0,                     NONE, false},
    {"4xx third attempt",             2, 0, 0,                             0,                     NONE,      MIN,           0,       0,            0, 0, TMP, 0, 0,        OUTCOME_DEFERRED,  3 * MIN,  3, 0, 0,                     NONE, false},
    {"4xx resets postponements",      1, 1, 0,                             0,                     NONE,      MIN,           0,       0,            0, 0, TMP, 0, 0,        OUTCOME_DEFERRED,  2 * MIN,  2, 0, 0,                     NONE, false},
    {"connect failure",               0, 0, 0,                             0,                     NONE,      MIN,           0,       0,            0, 0, TMP, 0, 0,        OUTCOME_DEFERRED,  1 * MIN,  1, 0, 0,                     NONE, false},
    {"dead destination",              1, 0, 0,                             0,                     NONE,      MIN,           0,       0,            0, 0, TMP, 0, MIN / 2,  OUTCOME_POSTPONED, 2 * MIN,  1, 1, 0,                     NONE, false},
    {"dead destination, 2nd time",    1, 1, 0,                             0,                     NONE,      MIN,           0,       0,            0, 0, TMP, 0, MIN / 2,  OUTCOME_POSTPONED, 3 * MIN,  1, 2, 0,                     NONE, false},
    {"dead until after the retry",    1, 0, 0,                             0,                     NONE,      MIN,           0,       0,            0, 0, TMP, 0, 10 * MIN, OUTCOME_POSTPONED, 10 * MIN, 1, 1, 0,                     NONE, false},
    {"dead destination, never tried", 0, 0, 0,                             0,                     NONE,      MIN,           0,       0,            0, 0, TMP, 0, MIN / 2,  OUTCOME_DEFERRED,  1 * MIN,  1, 0, 0,                     NONE, false},
    {"dead destination, expired",     4, 2, 0,                             0,                     NONE,      10 * HOUR,     0,       0,            0, 0, TMP, 0, MIN / 2,  OUTCOME_EXPIRED,   0,        5, 0, 0,                     R_FAILED, false},
    {"expiry reached",                4, 0, 0,                             0,                     NONE,      10 * HOUR,     0,       0,            0, 0, TMP, 0, 0,        OUTCOME_EXPIRED,   0,        5, 0, 0,                     R_FAILED, false},
    {"expiry not quite reached",      4, 0, 0,                             RCPT_F_DELAY_REPORTED, NONE,      10 * HOUR - 1, 0,       0,            0, 0, TMP, 0, 0,        OUTCOME_DEFERRED,  2 * MIN,  5, 0, RCPT_F_DELAY_REPORTED, NONE, false},
    {"expiry reached NOTIFY=NEVER",   4, 0, NOTIFY_NEVER,                  0,                     NONE,      11 * HOUR,     0,       0,            0, 0, TMP, 0, 0,        OUTCOME_EXPIRED,   0,        5, 0, RCPT_F_REPORTED,       NONE, false},
    {"expiry replaces pending delay", 4, 0, 0,                             0,                     R_DELAYED, 10 * HOUR,     0,       0,            0, 0, TMP, 0, 0,        OUTCOME_EXPIRED,   0,        5, 0, 0,                     R_FAILED, false},
    {"4xx past delay_warning",        3, 0, 0,                             0,                     NONE,      4 * HOUR,      0,       0,            0, 0, TMP, 0, 0,        OUTCOME_DEFERRED,  2 * MIN,  4, 0, 0,                     R_DELAYED, false},
    {"4xx before delay_warning",      3, 0, 0,                             0,                     NONE,      4 * HOUR - 1,  0,       0,            0, 0, TMP, 0, 0,        OUTCOME_DEFERRED,  2 * MIN,  4, 0, 0,                     NONE, false},
    {"delay notice of msg sent",      3, 0, 0,                             0,                     NONE,      5 * HOUR,      0,       0,            1, 0, TMP, 0, 0,        OUTCOME_DEFERRED,  2 * MIN,  4, 0, 0,                     NONE, false},
    {"delay reported for rcpt",       3, 0, 0,                             RCPT_F_DELAY_REPORTED, NONE,      5 * HOUR,      0,       0,            0, 0, TMP, 0, 0,        OUTCOME_DEFERRED,  2 * MIN,  4, 0, RCPT_F_DELAY_REPORTED, NONE, false},
    {"delay pending stays",           3, 0, 0,                             0,                     R_DELAYED, 5 * HOUR,      0,       0,            0, 0, TMP, 0, 0,        OUTCOME_DEFERRED,  2 * MIN,  4, 0, 0,                     R_DELAYED, false},
    {"delay, NOTIFY=FAILURE",         3, 0, NOTIFY_FAILURE,                0,                     NONE,      5 * HOUR,      0,       0,            0, 0, TMP, 0, 0,        OUTCOME_DEFERRED,  2 * MIN,  4, 0, 0,                     NONE, false},
    {"delay, NOTIFY=DELAY",           3, 0, NOTIFY_DELAY,                  0,                     NONE,      5 * HOUR,      0,       0,            0, 0, TMP, 0, 0,        OUTCOME_DEFERRED,  2 * MIN,  4, 0, 0,                     R_DELAYED, false},
    {"delay, NOTIFY=NEVER",           3, 0, NOTIFY_NEVER,                  0,                     NONE,      5 * HOUR,      0,       0,            0, 0, TMP, 0, 0,        OUTCOME_DEFERRED,  2 * MIN,  4, 0, 0,                     NONE, false},
    {"postponed past delay_warning",  3, 0, 0,                             0,                     NONE,      5 * HOUR,      0,       0,            0, 0, TMP, 0, MIN,      OUTCOME_POSTPONED, 2 * MIN,  3, 1, 0,                     R_DELAYED, false},
    {"DELIVERBY R reached",           1, 0, 0,                             0,                     NONE,      2 * MIN,       2 * MIN, BY_R,         0, 0, TMP, 0, 0,        OUTCOME_LATE,      0,        2, 0, 0,                     R_FAILED, false},
    {"DELIVERBY R not reached",       1, 0, 0,                             0,                     NONE,      2 * MIN,       3 * MIN, BY_R,         0, 0, TMP, 0, 0,        OUTCOME_DEFERRED,  MIN,      2, 0, 0,                     NONE, false},
    {"DELIVERBY R far ahead",         1, 0, 0,                             0,                     NONE,      2 * MIN,       HOUR,    BY_R,         0, 0, TMP, 0, 0,        OUTCOME_DEFERRED,  2 * MIN,  2, 0, 0,                     NONE, false},
    {"DELIVERBY R, dead destination", 1, 0, 0,                             0,                     NONE,      5 * MIN,       2 * MIN, BY_R,         0, 0, TMP, 0, MIN,      OUTCOME_LATE,      0,        2, 0, 0,                     R_FAILED, false},
    {"DELIVERBY R, NOTIFY=NEVER",     1, 0, NOTIFY_NEVER,                  0,                     NONE,      5 * MIN,       2 * MIN, BY_R,         0, 0, TMP, 0, 0,        OUTCOME_LATE,      0,        2, 0, RCPT_F_REPORTED,       NONE, false},
    {"DELIVERBY R passed, 5xx",       1, 0, 0,                             0,                     NONE,      5 * MIN,       2 * MIN, BY_R,         0, 0, PRM, 0, 0,        OUTCOME_FAILED,    0,        2, 0, 0,                     R_FAILED, false},
    {"DELIVERBY R passed, 2xx",       1, 0, 0,                             0,                     NONE,      5 * MIN,       2 * MIN, BY_R,         0, 0, OK,  0, 0,        OUTCOME_DELIVERED, 0,        2, 0, 0,                     NONE, false},
    {"DELIVERBY N reached",           1, 0, 0,                             0,                     NONE,      5 * MIN,       2 * MIN, BY_N,         0, 0, TMP, 0, 0,        OUTCOME_DEFERRED,  2 * MIN,  2, 0, 0,                     R_DELAYED, false},
    {"DELIVERBY N not reached",       1, 0, 0,                             0,                     NONE,      MIN,           2 * MIN, BY_N,         0, 0, TMP, 0, 0,        OUTCOME_DEFERRED,  MIN,      2, 0, 0,                     NONE, false},
    {"DELIVERBY N relayed w/o ext",   1, 0, 0,                             0,                     NONE,      MIN,           2 * MIN, BY_N,         0, 0, OK,  0, 0,        OUTCOME_DELIVERED, 0,        2, 0, 0,                     R_RELAYED, true},
    {"DELIVERBY N relayed, NEVER",    1, 0, NOTIFY_NEVER,                  0,                     NONE,      MIN,           2 * MIN, BY_N,         0, 0, OK,  0, 0,        OUTCOME_DELIVERED, 0,        2, 0, 0,                     NONE,      true},
    {"DELIVERBY N, notice sent",      1, 0, 0,                             0,                     NONE,      5 * MIN,       2 * MIN, BY_N,         1, 0, TMP, 0, 0,        OUTCOME_DEFERRED,  2 * MIN,  2, 0, 0,                     NONE, false},
    {"DELIVERBY N, NOTIFY=NEVER",     1, 0, NOTIFY_NEVER,                  0,                     NONE,      5 * MIN,       2 * MIN, BY_N,         0, 0, TMP, 0, 0,        OUTCOME_DEFERRED,  2 * MIN,  2, 0, 0,                     NONE, false},
    {"DELIVERBY time, no mode",       1, 0, 0,                             0,                     NONE,      5 * MIN,       2 * MIN, 0,            0, 0, TMP, 0, 0,        OUTCOME_DEFERRED,  2 * MIN,  2, 0, 0,                     NONE, false},
};

/* The configuration every row runs with. */
static void row_conf(struct conf *c)
{
    memset(c, 0, sizeof *c);
    c->deliver.retries = (unsigned *)retries;
    c->deliver.nretries = 3;
    c->deliver.interval = MIN;
    c->deliver.skew = 100;
    c->deliver.expiry = 10 * HOUR;
    c->deliver.delay_warning = 4 * HOUR;
}

/* Runs one row; fails with "case NAME: got X, want Y". */
static void row_check(const struct row *w, const struct conf *c)
{
    int64_t now = T0 + w->age;
    struct outcome_rcpt r = {.attempts = w->attempts, .postponed = w->postponed,
                             .notify = w->notify, .flags = w->flags, .report = w->report,
                             .arrival = T0, .deliver_by = w->by ? T0 + w->by : 0,
                             .msg_flags = w->msg_flags, .msg_delay_done = w->delay_done,
                             .msg_is_report = w->is_report};
    struct outcome_event e = {.o = (enum outcome)w->o, .passed_on = w->passed_on,
                              .by_relayed = w->by_relayed,
                              .dead_until = w->dead ? now + w->dead : 0};
    struct outcome_decision d = outcome_decide(&r, &e, now, 0, c);
    if (d.verdict != w->verdict)
        fail_msg("case %s: got verdict %s, want %s", w->name, outcome_verdict_name(d.verdict),
                 outcome_verdict_name(w->verdict));
    int64_t want_next = w->next ? now + w->next : 0;
    if (d.next != want_next)
        fail_msg("case %s: got next now%+lld ms, want now%+lld ms", w->name,
                 (long long)(d.next ? d.next - now : 0), (long long)w->next);
    if (d.attempts != w->want_attempts || d.postponed != w->want_postponed)
        fail_msg("case %s: got attempts %u postponed %u, want %u %u", w->name, d.attempts,
                 d.postponed, w->want_attempts, w->want_postponed);
    if (d.flags != w->want_flags)
        fail_msg("case %s: got flags %u, want %u", w->name, d.flags, w->want_flags);
    if (d.report != w->want_report)
        fail_msg("case %s: got report %u, want %u", w->name, d.report, w->want_report);
    if (outcome_final(d.verdict) != (w->next == 0))
        fail_msg("case %s: final %d with next %lld", w->name, outcome_final(d.verdict),
                 (long long)w->next);
}

/* Every row of the table. */
static void test_decision_table(void **state)
{
    (void)state;
    struct conf c;
    row_conf(&c);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        row_check(&rows[i], &c);
}

/* A success report says what the transport said the success was: relayed (default),
 * delivered (local, LMTP) or expanded (a local alias to remote addresses). */
static void test_success_action(void **state)
{
    (void)state;
    struct conf c;
    row_conf(&c);
    static const struct {
        uint8_t ok_action, notify;
        bool passed_on;
        uint8_t want;
    } t[] = {
        {0, NOTIFY_SUCCESS, false, R_RELAYED},
        {DSN_DELIVERED + 1, NOTIFY_SUCCESS, false, DSN_DELIVERED + 1},
        {DSN_EXPANDED + 1, NOTIFY_SUCCESS, false, DSN_EXPANDED + 1},
        {DSN_DELIVERED + 1, NOTIFY_FAILURE, false, NONE},
        {DSN_DELIVERED + 1, NOTIFY_SUCCESS, true, NONE},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        struct outcome_rcpt r = {.notify = t[i].notify, .arrival = T0};
        struct outcome_event e = {.o = OUTCOME_OK, .passed_on = t[i].passed_on,
                                  .ok_action = t[i].ok_action};
        struct outcome_decision d = outcome_decide(&r, &e, T0 + MIN, 0, &c);
        if (d.report != t[i].want)
            fail_msg("case %zu: got report %u, want %u", i, d.report, t[i].want);
    }
}

/* A destination's own retry schedule (deliver.policies: retries, interval, skew, expiry,
 * carried in event.plan) decides instead of deliver's; without one deliver's does. */
static void test_destination_plan(void **state)
{
    (void)state;
    static const unsigned fast[] = {1, 1, 4};
    const struct retry_plan plan = {
        .retries = fast, .nretries = 3, .interval = 10000, .skew = 100, .expiry = HOUR};
    struct {
        const char *name;
        const struct retry_plan *plan;
        uint32_t attempts;
        int64_t age, dead;
        enum outcome_verdict verdict;
        int64_t next;
    } prow[] = {
        {"own: first retry", &plan, 0, MIN, 0, OUTCOME_DEFERRED, 10000},
        {"own: second retry", &plan, 1, MIN, 0, OUTCOME_DEFERRED, 10000},
        {"own: third retry", &plan, 2, MIN, 0, OUTCOME_DEFERRED, 40000},
        {"own: expired after its hour", &plan, 3, HOUR, 0, OUTCOME_EXPIRED, 0},
        {"own: dead, postponed on its list", &plan, 2, MIN, 5000, OUTCOME_POSTPONED, 40000},
        {"deliver's: first retry", NULL, 0, MIN, 0, OUTCOME_DEFERRED, MIN},
        {"deliver's: not expired at 1 h", NULL, 2, HOUR, 0, OUTCOME_DEFERRED, 3 * MIN},
    };
    struct conf c;
    row_conf(&c);
    for (size_t i = 0; i < sizeof prow / sizeof prow[0]; i++) {
        int64_t now = T0 + prow[i].age;
        struct outcome_rcpt r = {.attempts = prow[i].attempts, .arrival = T0,
                                 .flags = RCPT_F_DELAY_REPORTED};
        struct outcome_event e = {.o = OUTCOME_TEMPFAIL, .plan = prow[i].plan,
                                  .dead_until = prow[i].dead ? now + prow[i].dead : 0};
        struct outcome_decision d = outcome_decide(&r, &e, now, 0, &c);
        int64_t got = d.next ? d.next - now : 0;
        if (d.verdict != prow[i].verdict || got != prow[i].next)
            fail_msg("case %s: got %s next now%+lld, want %s now%+lld", prow[i].name,
                     outcome_verdict_name(d.verdict), (long long)got,
                     outcome_verdict_name(prow[i].verdict), (long long)prow[i].next);
    }
}

/* delay_warning 0: no delay notice however old the message (a BY=;N notice still goes). */
static void test_no_delay_warning(void **state)
{
    (void)state;
    struct conf c;
    row_conf(&c);
    c.deliver.delay_warning = 0;
    struct outcome_event e = {.o = OUTCOME_TEMPFAIL};
    struct outcome_rcpt r = {.attempts = 1, .arrival = T0};
    struct outcome_decision d = outcome_decide(&r, &e, T0 + 9 * HOUR, 0, &c);
    assert_int_equal(d.verdict, OUTCOME_DEFERRED);
    assert_int_equal(d.report, NONE);
    r.deliver_by = T0 + HOUR;
    r.msg_flags = MSG_F_BY_NOTIFY;
    d = outcome_decide(&r, &e, T0 + 9 * HOUR, 0, &c);
    assert_int_equal(d.report, R_DELAYED);
}

/* skew 0 aligns a retry to the next interval boundary of the wall clock; rnd picks the
 * restart point once the list is exhausted (retry.h). */
static void test_due_time_alignment(void **state)
{
    (void)state;
    struct conf c;
    row_conf(&c);
    c.deliver.skew = 0;
    struct outcome_event e = {.o = OUTCOME_TEMPFAIL};
    struct outcome_rcpt r = {.attempts = 0, .arrival = T0};
    struct outcome_decision d = outcome_decide(&r, &e, T0 + 1, 0, &c);
    int64_t want = (T0 + 1 + MIN + MIN - 1) / MIN * MIN;
    if (d.next != want)
        fail_msg("got next %lld, want %lld", (long long)d.next, (long long)want);
    c.deliver.skew = 100;
    r.attempts = 7; /* past the list: restarts in its second half, [1, 3) */
    for (uint32_t rnd = 0; rnd < 4; rnd++) {
        d = outcome_decide(&r, &e, T0, rnd, &c);
        int64_t wait = d.next - T0;
        if (wait != 2 * MIN && wait != 3 * MIN)
            fail_msg("rnd %u: got wait %lld, want 2 or 3 minutes", rnd, (long long)wait);
    }
}

/* NOTIFY parsing of reports: which kinds a recipient wants. */
static void test_report_wanted(void **state)
{
    (void)state;
    struct { uint8_t notify, bit; bool want; } cases[] = {
        {0, NOTIFY_FAILURE, true},
        {0, NOTIFY_DELAY, true},
        {0, NOTIFY_SUCCESS, false},
        {NOTIFY_NEVER, NOTIFY_FAILURE, false},
        {NOTIFY_NEVER | NOTIFY_FAILURE, NOTIFY_FAILURE, false},
        {NOTIFY_SUCCESS, NOTIFY_SUCCESS, true},
        {NOTIFY_SUCCESS, NOTIFY_FAILURE, false},
        {NOTIFY_SUCCESS | NOTIFY_DELAY, NOTIFY_DELAY, true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (report_wanted(cases[i].notify, cases[i].bit) != cases[i].want)
            fail_msg("case %zu: got %d, want %d", i, !cases[i].want, cases[i].want);
}

/* Recovery: which report a final recipient read from the queue still owes. */
static void test_report_owed_final(void **state)
{
    (void)state;
    struct { uint8_t st, notify, flags; bool is_report; uint8_t want; } cases[] = {
        {RCPT_FAILED, 0, 0, false, R_FAILED},
        {RCPT_FAILED, 0, RCPT_F_REPORTED, false, NONE},
        {RCPT_FAILED, NOTIFY_NEVER, 0, false, NONE},
        {RCPT_FAILED, NOTIFY_NEVER, 0, true, R_FAILED}, /* a report: double bounce owed */
        {RCPT_FAILED, NOTIFY_NEVER, RCPT_F_REPORTED, true, NONE},
        {RCPT_FAILED, NOTIFY_FAILURE, RCPT_F_DELAY_REPORTED, false, R_FAILED},
        {RCPT_DELIVERED, 0, 0, false, NONE},
        {RCPT_DELIVERED, NOTIFY_SUCCESS, 0, false, R_RELAYED},
        {RCPT_DELIVERED, NOTIFY_SUCCESS, RCPT_F_REPORTED, false, NONE},
        {RCPT_DELIVERED, NOTIFY_NEVER, 0, true, NONE},
        {RCPT_DEFERRED, 0, 0, true, NONE},
        {RCPT_PENDING, NOTIFY_SUCCESS, 0, false, NONE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t got = report_owed_final(cases[i].st, cases[i].notify, cases[i].flags,
                                        cases[i].is_report);
        if (got != cases[i].want)
            fail_msg("case %zu: got %u, want %u", i, got, cases[i].want);
    }
}

/* The reply recorded: the attempt's own, or a failure for lack of time with 5.4.7. */
static void test_reason(void **state)
{
    (void)state;
    struct { enum outcome_verdict v; const char *reply, *want; } cases[] = {
        {OUTCOME_DELIVERED, "250 2.0.0 ok", "250 2.0.0 ok"},
        {OUTCOME_DEFERRED, "451 4.2.0 later", "451 4.2.0 later"},
        {OUTCOME_FAILED, "550 5.1.1 no", "550 5.1.1 no"},
        {OUTCOME_POSTPONED, "4.4.1 refused", "4.4.1 refused"},
        {OUTCOME_EXPIRED, "451 4.2.0 later", "5.4.7 message expired, last reply: 451 4.2.0 later"},
        {OUTCOME_LATE, "4.4.1 refused", "5.4.7 delivery time expired, last reply: 4.4.1 refused"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[OUTCOME_REASON_MAX];
        const char *got = outcome_reason(cases[i].v, cases[i].reply, buf, sizeof buf);
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("case %zu: got \"%s\", want \"%s\"", i, got, cases[i].want);
    }
    char small[16];
    assert_string_equal(outcome_reason(OUTCOME_EXPIRED, "x", small, sizeof small), "5.4.7 message e");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decision_table),
        cmocka_unit_test(test_success_action),
        cmocka_unit_test(test_destination_plan),
        cmocka_unit_test(test_no_delay_warning),
        cmocka_unit_test(test_due_time_alignment),
        cmocka_unit_test(test_report_wanted),
        cmocka_unit_test(test_report_owed_final),
        cmocka_unit_test(test_reason),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
