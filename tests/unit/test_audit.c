/* Unit tests: log path templates (proto/logpath.c), the grouped-fsync writer with rotation
 * under concurrent load (audit/audit.c), delivery records, JSON events (audit/event.c) and
 * transcript peer selection (audit/transcript.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/audit.h"
#include "audit/event.h"
#include "proto/logpath.h"
#include "audit/transcript.h"
#include "conf/conf.h"

#define T0 INT64_C(1714607999000) /* 2024-05-01T23:59:59Z */
#define DAY INT64_C(86400000)

/* Template expansion table. */
static void test_logpath_expand(void **state)
{
    (void)state;
    struct logpath_vars v = {"/var/log/sluice", "mx1"};
    struct { const char *tpl; unsigned rot; int64_t t; const char *want; } cases[] = {
        {"%DIRLOG%/audit/Y%Y%/delivered-%DT%.log", LOGROT_MONTHLY, T0,
         "/var/log/sluice//audit/Y2024/delivered-202405.log"},
        {"%DIRLOG%transcripts/smtpclient-%DT%.log", LOGROT_DAILY, T0,
         "/var/log/sluice/transcripts/smtpclient-20240501.log"},
        {"a-%DT%", LOGROT_HOURLY, T0 + 1000, "a-20240502-00"},
        {"%Y%%M%%D%-%H%", LOGROT_NEVER, T0, "20240501-23"},
        {"100%%-%SYSNAME%", LOGROT_DAILY, 0, "100%-mx1"},
    };
    char out[LOGPATH_MAX + 1];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ssize_t n = logpath_expand(cases[i].tpl, cases[i].t, cases[i].rot, &v, out, sizeof out);
        if (n < 0 || strcmp(out, cases[i].want) != 0)
            fail_msg("case %zu: got %s, want %s", i, n < 0 ? "-1" : out, cases[i].want);
    }
    const char *bad[] = {"", "%Q%", "a%", "%Y", "x\ny", "%DTX%"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (logpath_check(bad[i], strlen(bad[i]), NULL) == 0)
            fail_msg("check %zu: got ok, want -1", i);
    char *e = logpath_effective("/x/audit.log", LOGROT_DAILY);
    assert_string_equal(e, "/x/audit.log.%DT%");
    free(e);
    e = logpath_effective("/x/audit.log", LOGROT_NEVER);
    assert_string_equal(e, "/x/audit.log");
    free(e);
    assert_int_equal(logpath_rot_parse("Monthly"), LOGROT_MONTHLY);
    assert_int_equal(logpath_rot_parse("weekly"), -1);
}

struct writer_arg {
    struct audit_log *l;
    int id, n;
};

/* One writer thread: n records spread over three days (crossing two rotations). */
static void *writer(void *p)
{
    struct writer_arg *a = p;
    char line[128];
    for (int i = 0; i < a->n; i++) {
        int len = snprintf(line, sizeof line, "w%d r%d", a->id, i);
        audit_log_write(a->l, T0 + (int64_t)i * 3 * DAY / a->n, line, (size_t)len);
    }
    return NULL;
}

/* Counts lines of every file in dir and checks each line is whole ("wN rM"). */
static long count_lines(const char *dir, int *files)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    long lines = 0;
    *files = 0;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[600], buf[256];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "r");
        (*files)++;
        while (f && fgets(buf, sizeof buf, f)) {
            int w, r;
            if (sscanf(buf, "w%d r%d\n", &w, &r) != 2 || buf[strlen(buf) - 1] != '\n')
                fail_msg("%s: torn record %s", path, buf);
            lines++;
        }
        if (f)
            fclose(f);
    }
    if (d)
        closedir(d);
    return lines;
}

/* Four threads, 20000 records each, daily rotation: every record in exactly one file. */
static void test_writer_rotation_under_load(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_audit.XXXXXX", tpl[128];
    assert_non_null(mkdtemp(dir));
    snprintf(tpl, sizeof tpl, "%s/sub/audit-%%DT%%.log", dir);
    struct logspec spec = {.path = tpl, .rot = LOGROT_DAILY, .flush = 5};
    char err[128];
    struct audit_log *l = audit_log_open(&spec, NULL, err, sizeof err);
    assert_non_null(l);
    pthread_t th[4];
    struct writer_arg a[4];
    for (int i = 0; i < 4; i++) {
        a[i] = (struct writer_arg){l, i, 20000};
        pthread_create(&th[i], NULL, writer, &a[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    audit_log_flush(l);
    struct audit_log_stats st;
    audit_log_get_stats(l, &st);
    audit_log_close(l);
    char sub[200];
    int files;
    snprintf(sub, sizeof sub, "%s/sub", dir);
    long lines = count_lines(sub, &files);
    if (lines != 80000 || st.records != 80000 || st.dropped != 0)
        fail_msg("got %ld lines, %llu records, %llu dropped; want 80000, 80000, 0", lines,
                 (unsigned long long)st.records, (unsigned long long)st.dropped);
    if (files != 4) /* 05-01 (one second), 05-02, 05-03, 05-04 */
        fail_msg("got %d files, want 4", files);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* The delivery record format. */
static void test_audit_format(void **state)
{
    (void)state;
    struct audit_delivery d = {.when = T0 + 123, .qid = "0123456789ABCDEF", .sender = "s@x.example",
                               .rcpt = "r@y.example", .client_ip = "192.0.2.1",
                               .relay = "mx.y.example[192.0.2.9]:25", .message_id = "<id@x>",
                               .reply = "250 2.0.0 Ok\tqueued"};
    char buf[1024];
    audit_format(&d, buf, sizeof buf);
    assert_string_equal(buf, "2024-05-01T23:59:59.123Z qid=0123456789ABCDEF from=<s@x.example> "
                             "to=<r@y.example> received_from=192.0.2.1 delivered_to=192.0.2.9 "
                             "message_id=<id@x> reply=250 2.0.0 Ok\\x09queued");
    d.sender = "";
    d.client_ip = "";
    d.message_id = NULL;
    d.relay = "none";
    audit_format(&d, buf, sizeof buf);
    assert_non_null(strstr(buf, "from=<> to=<r@y.example> received_from=- delivered_to=- message_id=-"));
}

/* JSON string escaping. */
static void test_event_json(void **state)
{
    (void)state;
    struct { const char *in, *want; } cases[] = {
        {"plain", "\"plain\""}, {"q\"b\\", "\"q\\\"b\\\\\""}, {"a\r\nb", "\"a\\u000d\\u000ab\""},
        {"j\xc3\xb6rg", "\"j\xc3\xb6rg\""}, {"bad\xff", "\"bad\\ufffd\""}, {"\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[128];
        size_t off = 0;
        event_json_str(buf, sizeof buf, &off, cases[i].in);
        if (strcmp(buf, cases[i].want) != 0)
            fail_msg("case %zu: got %s, want %s", i, buf, cases[i].want);
    }
    char small[24];
    size_t off = 0;
    event_json_str(small, sizeof small, &off, "a long string that does not fit at all");
    assert_true(off < sizeof small);
}

/* Transcript peer selection by CIDR and by domain. */
static void test_transcript_wanted(void **state)
{
    (void)state;
    struct cidr net;
    assert_int_equal(cidr_parse("10.0.0.0/8", 10, &net), 0);
    char *doms[] = {"example.net"};
    struct logspec all = {.path = "x"}, some = {.path = "x", .nets = &net, .nnets = 1,
                                                 .domains = doms, .ndomains = 1};
    struct sockaddr_storage in, out;
    socklen_t len;
    cidr_sockaddr_parse("10.1.2.3", 25, &in, &len);
    cidr_sockaddr_parse("192.0.2.1", 25, &out, &len);
    assert_true(transcript_wanted(&all, (struct sockaddr *)&out, NULL));
    assert_true(transcript_wanted(&some, (struct sockaddr *)&in, NULL));
    assert_false(transcript_wanted(&some, (struct sockaddr *)&out, "mx.example.org"));
    assert_true(transcript_wanted(&some, (struct sockaddr *)&out, "MX.Example.NET."));
    assert_false(transcript_wanted(&some, (struct sockaddr *)&out, "badexample.net"));
    struct logspec off = {0};
    assert_false(transcript_wanted(&off, (struct sockaddr *)&in, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_logpath_expand), cmocka_unit_test(test_writer_rotation_under_load),
        cmocka_unit_test(test_audit_format),   cmocka_unit_test(test_event_json),
        cmocka_unit_test(test_transcript_wanted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
