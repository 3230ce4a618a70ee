/* Unit tests: core/notify against a real unix datagram socket standing in for systemd's
 * $NOTIFY_SOCKET: what each call sends, STATUS= only when the text changed, WATCHDOG=1
 * every half $WATCHDOG_USEC, and nothing at all without $NOTIFY_SOCKET. */
#include <errno.h>
#include <event2/event.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h> /* after setjmp.h, stdarg.h, stddef.h */

#include "core/notify.h"

struct sock {
    int fd;
    char dir[64], path[128];
};

/* A datagram socket in a fresh directory; $NOTIFY_SOCKET names it. */
static void sock_open(struct sock *s)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(s->dir, sizeof s->dir, "/tmp/test_notify.XXXXXX");
    assert_non_null(mkdtemp(s->dir));
    snprintf(s->path, sizeof s->path, "%s/notify", s->dir);
    assert_true(strlen(s->path) < sizeof a.sun_path);
    memcpy(a.sun_path, s->path, strlen(s->path) + 1);
    s->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(s->fd >= 0);
    assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof a), 0);
    setenv("NOTIFY_SOCKET", s->path, 1);
}

static void sock_close(struct sock *s)
{
    close(s->fd);
    unlink(s->path);
    rmdir(s->dir);
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
}

/* The next datagram, or "" when none is waiting. */
static const char *sock_next(struct sock *s, char *buf, size_t len)
{
    ssize_t n = recv(s->fd, buf, len - 1, MSG_DONTWAIT);
    if (n < 0) {
        assert_int_equal(errno, EAGAIN);
        n = 0;
    }
    buf[n] = '\0';
    return buf;
}

/* The status callback: the text it points at. */
static void status_of(void *arg, char *buf, size_t len)
{
    snprintf(buf, len, "%s", *(const char **)arg);
}

/* Runs the loop until a datagram is waiting (at most about 3 s); returns it. */
static const char *loop_until_datagram(struct event_base *b, struct sock *s, char *buf, size_t len)
{
    struct timeval step = {0, 10000};
    for (int i = 0; i < 300; i++) {
        if (*sock_next(s, buf, len))
            return buf;
        event_base_loopexit(b, &step);
        event_base_dispatch(b);
    }
    return sock_next(s, buf, len);
}

/* Each call's datagram, in order: got X, want Y. */
static void test_notify_messages(void **state)
{
    (void)state;
    struct sock s;
    char buf[512];
    const char *text = "queue: 3 messages";
    sock_open(&s);
    struct event_base *b = event_base_new();
    struct notify *n = notify_create(b, status_of, &text);
    notify_ready(n);
    assert_string_equal(sock_next(&s, buf, sizeof buf), "READY=1\nSTATUS=queue: 3 messages");
    notify_reloading(n);
    sock_next(&s, buf, sizeof buf);
    assert_true(strncmp(buf, "RELOADING=1\nMONOTONIC_USEC=", 27) == 0);
    assert_true(strlen(buf) > 27 && strspn(buf + 27, "0123456789") == strlen(buf + 27));
    notify_ready(n); /* after a reload: READY=1 again, with the status even if unchanged */
    assert_string_equal(sock_next(&s, buf, sizeof buf), "READY=1\nSTATUS=queue: 3 messages");
    notify_stopping(n);
    assert_string_equal(sock_next(&s, buf, sizeof buf), "STOPPING=1");
    assert_string_equal(sock_next(&s, buf, sizeof buf), "");
    notify_free(n);
    event_base_free(b);
    sock_close(&s);
}

/* The timer sends STATUS= when the text changed, and only then. */
static void test_notify_status_on_change(void **state)
{
    (void)state;
    struct sock s;
    char buf[512];
    const char *text = "a";
    sock_open(&s);
    struct event_base *b = event_base_new();
    struct notify *n = notify_create(b, status_of, &text);
    notify_ready(n);
    assert_string_equal(sock_next(&s, buf, sizeof buf), "READY=1\nSTATUS=a");
    text = "b";
    assert_string_equal(loop_until_datagram(b, &s, buf, sizeof buf), "STATUS=b");
    /* One more period with "b": nothing. Then "c" arrives alone (no "b" in between). */
    struct timeval period = {1, 200000};
    event_base_loopexit(b, &period);
    event_base_dispatch(b);
    assert_string_equal(sock_next(&s, buf, sizeof buf), "");
    text = "c";
    assert_string_equal(loop_until_datagram(b, &s, buf, sizeof buf), "STATUS=c");
    notify_free(n);
    event_base_free(b);
    sock_close(&s);
}

/* $WATCHDOG_USEC=40000: WATCHDOG=1 keeps coming (every 20 ms), and nothing else. */
static void test_notify_watchdog(void **state)
{
    (void)state;
    struct sock s;
    char buf[512];
    const char *text = "x";
    sock_open(&s);
    setenv("WATCHDOG_USEC", "40000", 1);
    struct event_base *b = event_base_new();
    struct notify *n = notify_create(b, status_of, &text);
    for (int i = 0; i < 5; i++)
        assert_string_equal(loop_until_datagram(b, &s, buf, sizeof buf), "WATCHDOG=1");
    notify_free(n);
    event_base_free(b);
    sock_close(&s);
}

/* Without $NOTIFY_SOCKET nothing is sent, and no timer keeps the loop busy. */
static void test_notify_off(void **state)
{
    (void)state;
    struct sock s;
    char buf[512];
    const char *text = "x";
    sock_open(&s);
    unsetenv("NOTIFY_SOCKET");
    setenv("WATCHDOG_USEC", "40000", 1);
    struct event_base *b = event_base_new();
    struct notify *n = notify_create(b, status_of, &text);
    notify_ready(n);
    notify_reloading(n);
    notify_stopping(n);
    assert_int_equal(event_base_get_num_events(b, EVENT_BASE_COUNT_ADDED), 0);
    assert_string_equal(sock_next(&s, buf, sizeof buf), "");
    notify_free(n);
    event_base_free(b);
    sock_close(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_notify_messages),
        cmocka_unit_test(test_notify_status_on_change),
        cmocka_unit_test(test_notify_watchdog),
        cmocka_unit_test(test_notify_off),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
